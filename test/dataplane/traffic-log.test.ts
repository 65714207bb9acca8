// The traffic log as the agent reads it, with real NGINX: every request is one line, read once,
// also across rotations (the file renamed, NGINX told to reopen its logs, the old file drained).
import { chmodSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TRAFFIC_LOG_FILE } from '../../src/api/traffic.js';
import { childPids } from '../../src/agent/nginx.js';
import { TrafficLogTail } from '../../src/agent/traffic-log.js';
import { parseTrafficLine, type TrafficRecord } from '../../src/agent/traffic.js';
import { send } from '../support/client.js';
import { eventually } from '../support/cluster.js';
import { LoopbackFrontend, onLoopback } from '../support/frontend.js';
import { example } from '../support/resources.js';

let frontend: LoopbackFrontend | undefined;

afterEach(async () => {
  await frontend?.stop();
  frontend = undefined;
});

/** Sends 60 requests in batches of 10 and waits for each batch's lines (NGINX flushes within a second). */
async function readAll(workersReach: boolean) {
  frontend = await LoopbackFrontend.start(onLoopback(example('apim-single.yaml'), 86), 1, { trafficLog: true });
  const instance = frontend.instances[0]!;
  const file = join(instance.dir, TRAFFIC_LOG_FILE);
  // NGINX's workers reopen the log themselves: when the test runs as root they run as nobody,
  // who must reach the file (in the pod, NGINX and the agent are one unprivileged user).
  if (workersReach) chmodSync(dirname(instance.dir), 0o755);
  const records: TrafficRecord[] = [];
  let rotations = 0;
  const tail = new TrafficLogTail({
    file,
    onLine: (line) => records.push(parseTrafficLine(line)!),
    reopenLogs: () => {
      rotations++;
      instance.nginx.reopenLogs();
      return true;
    },
    writers: () => {
      const master = instance.nginx.pid!;
      return [master, ...childPids(master)];
    },
    pollMs: 50,
    // About ten lines per file.
    rotateBytes: 800,
    drainMs: 200,
  });
  tail.start();
  try {
    const batches = 6;
    for (let batch = 1; batch <= batches; batch++) {
      for (let i = 0; i < 10; i++) {
        const response = await send({
          scheme: 'https',
          port: instance.ports.https,
          host: 'api.am.wso2.com',
          path: `/publisher/${batch}/${i}`,
          ca: instance.ca,
        });
        expect(response.status).toBe(200);
      }
      // NGINX flushes its buffer within a second (flush=1s).
      await eventually(`${batch * 10} lines`, () => (records.length >= batch * 10 ? true : undefined), 10_000);
    }
    return { records, rotations, rotatedLeft: existsSync(`${file}.1`) };
  } finally {
    tail.stop();
  }
}

test('every request is read exactly once while the log is rotated under NGINX', async () => {
  const { records, rotations } = await readAll(true);
  expect(rotations).toBeGreaterThanOrEqual(3);
  expect(records).toHaveLength(60);
  expect(records.every((r) => r.site === 'portal' && r.role === 'all-in-one' && r.status === 200)).toBe(true);
});

test('workers that cannot reopen the log keep writing the renamed file, which is followed: nothing is lost', async () => {
  const { records, rotations, rotatedLeft } = await readAll(false);
  expect(records).toHaveLength(60);
  if (process.getuid?.() === 0) {
    // Workers run as nobody and cannot reach the file: one rotation, never finished.
    expect(rotations).toBe(1);
    expect(rotatedLeft).toBe(true);
  }
});
