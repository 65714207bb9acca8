// A component that does not stop on SIGTERM is killed with what it forked (NGINX's workers would
// otherwise outlive their master, holding its ports).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childPids } from '../../src/agent/nginx.js';
import { ComponentProcess } from '../../src/localcluster/process.js';
import { eventually } from '../support/cluster.js';

/** Running: a process that exists and is not a zombie waiting to be reaped. */
const running = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

test('past the grace period the process and its children are killed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wso2-frontend-process-'));
  try {
    // A parent that ignores SIGTERM, with a child of its own.
    const parent = new ComponentProcess(
      'stubborn',
      '/bin/sh',
      ['-c', 'trap "" TERM; sleep 600 & wait'],
      join(dir, 'log'),
    );
    parent.start();
    const pid = parent.pid!;
    const [child] = await eventually('the child', () => {
      const children = childPids(pid);
      return children.length === 1 ? children : undefined;
    });
    expect(running(child!)).toBe(true);
    await parent.stop(300);
    expect(parent.pid).toBeUndefined();
    await eventually('the child killed', () => (running(child!) ? undefined : true));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
