// npm start on a machine without a cluster: a local control plane, the CRD, an example that
// becomes Ready under the operator, instructions, and a clean stop on Ctrl-C or on a signal to
// the PID a user or a process manager holds.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { eventually } from '../support/cluster.js';
import { installedAndFileCrd } from '../support/resources.js';

/** Collects a child's output and resolves once it prints the instructions that end `start`'s setup. */
function instructions(child: ChildProcessByStdio<null, Readable, Readable>): {
  output: () => string;
  printed: Promise<void>;
} {
  let output = '';
  const printed = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no instructions within 90 s:\n${output}`)), 90_000);
    const collect = (d: Buffer) => {
      output += d.toString();
      if (output.includes('Press Ctrl-C to stop.')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    // A child that exits first never prints them: no timer outlives it (a test that does not
    // wait for the instructions would otherwise meet this rejection after the run).
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`exited before printing the instructions:\n${output}`));
    });
  });
  // Tests that wait for the instructions await this promise; the others must not see it rejected.
  printed.catch(() => undefined);
  return { output: () => output, printed };
}

/** Every process below `root`, read from /proc. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name is in parentheses and may hold spaces; the parent PID is the second field after it.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited while we looked
    }
  }
  const found: number[] = [];
  const visit = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      visit(child);
    }
  };
  visit(root);
  return found;
}

const running = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const commandOf = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
};

/** `start` as a user runs it, with KUBECONFIG pointing at a cluster that answers (the test run's). */
function startCommand(args: string[] = [], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [join(process.cwd(), 'dist', 'cli', 'main.js'), 'start', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))),
  );
  return { child, exited, ...instructions(child) };
}

/** The local control plane's directory, from the kubeconfig path in the instructions. */
const planeDir = (output: string) => dirname(/export KUBECONFIG=(\S+)/.exec(output)![1]!);

test('start uses its own local control plane even when KUBECONFIG points at a cluster that answers, logs at info, and SIGINT removes everything', async () => {
  const answering = process.env.KUBECONFIG!;
  const { child, exited, output, printed } = startCommand();
  await printed;
  expect(output()).toContain('apim-active-active is Ready (https://api.am.wso2.com/,https://gw.am.wso2.com/)');
  const dir = planeDir(output());
  expect(join(dir, 'kubeconfig')).not.toBe(answering);
  expect(existsSync(dir)).toBe(true);
  const json = output()
    .split('\n')
    .filter((line) => line.startsWith('{'));
  expect(json.filter((line) => (JSON.parse(line) as { level: string }).level === 'debug')).toEqual([]);
  expect(output()).not.toContain('watch failed');
  child.kill('SIGINT');
  expect(await exited).toBe(0);
  expect(existsSync(dir)).toBe(false);
});

test('a second Ctrl-C while start stops neither kills it half-way nor leaves its temporary directory', async () => {
  const { child, exited, output, printed } = startCommand(['--log-level', 'error']);
  await printed;
  const dir = planeDir(output());
  expect(
    output()
      .split('\n')
      .filter((line) => line.startsWith('{')),
  ).toEqual([]);
  // The second Ctrl-C goes the moment the stop begins, from the output listener: a poll could
  // come after a quick stop had already ended and find no process to signal.
  const secondSent = new Promise<boolean>((resolve) => {
    const watch = () => {
      if (!output().includes('Stopping the operator')) return;
      child.stdout.off('data', watch);
      child.stderr.off('data', watch);
      resolve(child.kill('SIGINT'));
    };
    child.stdout.on('data', watch);
    child.stderr.on('data', watch);
  });
  child.kill('SIGINT');
  expect(await secondSent).toBe(true);
  expect(await exited).toBe(0);
  expect(output()).toContain('Still stopping');
  expect(existsSync(dir)).toBe(false);
});

test('start --cluster current names the context it uses; an unknown --cluster or --log-level is refused', async () => {
  const scratch = mkdtempSync(join(tmpdir(), 'start-current-'));
  try {
    const kubeconfig = join(scratch, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      `apiVersion: v1
kind: Config
clusters: [{name: far, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: someone, user: {token: x}}]
contexts: [{name: production-eu, context: {cluster: far, user: someone}}]
current-context: production-eu
`,
    );
    const current = startCommand(['--cluster', 'current', '--log-level', 'error'], { KUBECONFIG: kubeconfig });
    await eventually('the context to be named', () =>
      current.output().includes('Using the cluster of kubeconfig context "production-eu" (https://127.0.0.1:1)')
        ? true
        : undefined,
    );
    current.child.kill('SIGTERM');
    expect(await current.exited).toBe(0);

    for (const [args, message] of [
      [['--cluster', 'prod'], '--cluster must be local (the default) or current'],
      [['--log-level', 'verbose'], '--log-level must be debug'],
    ] as const) {
      const refused = startCommand([...args]);
      expect(await refused.exited).toBe(2);
      expect(refused.output()).toContain(message);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

test('npm start installs the CRD exactly as crds/ holds it, and SIGTERM to the npm PID stops the operator and the whole control plane', async () => {
  // --ignore-scripts skips only the prestart build, which the test run has done already.
  const npm = spawn('npm', ['start', '--ignore-scripts'], {
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => npm.once('exit', resolve));
  const { output, printed } = instructions(npm);
  await printed;

  const kubeconfig = /export KUBECONFIG=(\S+)/.exec(output())![1]!;
  const { installed, file } = await installedAndFileCrd(kubeconfig);
  expect(installed).toEqual(file);

  const family = descendants(npm.pid!);
  const commands = family.map(commandOf).join('\n');
  for (const component of [
    'cli/main.js start',
    'etcd',
    'kube-apiserver',
    'kube-controller-manager',
    'kube-scheduler',
    'kwok',
  ]) {
    expect(commands).toContain(component);
  }
  process.kill(npm.pid!, 'SIGTERM');
  await exited;
  await eventually(
    'every process under npm start to exit',
    () => (family.some(running) ? undefined : true),
    30_000,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; still running:\n${family.filter(running).map(commandOf).join('\n')}`);
  });
  expect(output()).toContain('Stopping the operator and the local control plane...');
  expect(existsSync(dirname(kubeconfig))).toBe(false);
});
