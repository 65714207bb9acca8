// The control plane's own life cycle: a restart keeps the data (later reliability tests use
// it), and no component outlives the process that started it, however that process ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { LocalControlPlane } from '../../src/localcluster/control-plane.js';
import { eventually } from '../support/cluster.js';

/** Running and not a zombie (a killed child's reaper may be slow in a container). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function withLogsOnFailure(plane: LocalControlPlane, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (error instanceof Error) error.message += `\n\n${plane.logTails()}`;
    throw error;
  }
}

test('a restarted control plane serves the objects written before it stopped', async () => {
  const plane = await LocalControlPlane.start({ workloads: false });
  try {
    await withLogsOnFailure(plane, async () => {
      const before = plane.pids();
      const core = plane.kubeConfig().makeApiClient(k8s.CoreV1Api);
      const created = await core.createNamespacedConfigMap({
        namespace: 'default',
        body: { metadata: { name: 'survivor' }, data: { key: 'value' } },
      });

      await plane.restart();

      expect(plane.pids()['kube-apiserver']).not.toBe(before['kube-apiserver']);
      expect(isRunning(before['kube-apiserver']!)).toBe(false);
      const afterRestart = plane.kubeConfig().makeApiClient(k8s.CoreV1Api);
      const read = await afterRestart.readNamespacedConfigMap({ name: 'survivor', namespace: 'default' });
      expect(read.data).toEqual({ key: 'value' });
      expect(read.metadata?.uid).toBe(created.metadata?.uid);
    });
  } finally {
    await plane.stop();
  }
});

test('kube-apiserver alone can be stopped and started, and etcd restarted, keeping the data', async () => {
  const plane = await LocalControlPlane.start({ workloads: false });
  try {
    await withLogsOnFailure(plane, async () => {
      const etcdBefore = plane.pids().etcd;
      const core = plane.kubeConfig().makeApiClient(k8s.CoreV1Api);
      await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'kept' } } });

      await plane.stopApiServer();
      expect(plane.pids()['kube-apiserver']).toBeUndefined();
      const refused = await core.readNamespacedConfigMap({ name: 'kept', namespace: 'default' }).then(
        () => 'answered',
        (error: Error) => String((error.cause as { code?: string } | undefined)?.code),
      );
      expect(refused).toBe('ECONNREFUSED');
      await plane.restartEtcd();
      expect(plane.pids().etcd).not.toBe(etcdBefore);
      await plane.startApiServer();

      const read = await core.readNamespacedConfigMap({ name: 'kept', namespace: 'default' });
      expect(read.metadata?.name).toBe('kept');
    });
  } finally {
    await plane.stop();
  }
});

test('stop ends every component and removes a temporary directory', async () => {
  const plane = await LocalControlPlane.start({ workloads: false });
  const pids = Object.values(plane.pids()) as number[];
  expect(pids).toHaveLength(2);
  expect(pids.every(isRunning)).toBe(true);

  await plane.stop();

  expect(pids.filter(isRunning)).toEqual([]);
  expect(existsSync(plane.dir)).toBe(false);
});

const cli = join(process.cwd(), 'dist', 'cli', 'main.js');

/** Starts `wso2-frontend local-cluster` and resolves with its data directory once it is up. */
function startCli(args: string[]): Promise<{ child: ChildProcess; dir: string }> {
  const child = spawn(process.execPath, [cli, 'local-cluster', '--api-only', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /export KUBECONFIG=(\S+)\/kubeconfig/.exec(output);
      if (match) resolve({ child, dir: match[1]! });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`local-cluster exited with ${code} before it was up:\n${output}`)));
  });
}

function componentPids(dir: string): number[] {
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { pids: Record<string, number> };
  return Object.values(state.pids);
}

test('Ctrl-C on local-cluster stops every component and removes its temporary directory', async () => {
  const { child, dir } = await startCli([]);
  const pids = componentPids(dir);
  expect(pids.filter(isRunning)).toHaveLength(2);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

  child.kill('SIGINT');

  expect(await exited).toBe(0);
  expect(pids.filter(isRunning)).toEqual([]);
  expect(existsSync(dir)).toBe(false);
});

test('killing local-cluster with SIGKILL leaves no component running', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wso2-frontend-killed-'));
  try {
    const { child } = await startCli(['--dir', dir]);
    const pids = componentPids(dir);
    expect(pids.filter(isRunning)).toHaveLength(2);

    child.kill('SIGKILL');

    const allGone = await eventually(
      'the components to die with their parent',
      () => (pids.some(isRunning) ? undefined : true),
      15_000,
    );
    expect(allGone).toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
