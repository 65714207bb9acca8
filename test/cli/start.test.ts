// npm start on a machine without a cluster: a local control plane, the CRD, an example that
// becomes Ready under the operator, instructions, and a clean stop on Ctrl-C or on a signal to
// the PID a user or a process manager holds.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
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
  });
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

test('start without a reachable cluster runs the operator locally until the example is Ready, and Ctrl-C stops everything', async () => {
  const child = spawn(process.execPath, [join(process.cwd(), 'dist', 'cli', 'main.js'), 'start'], {
    env: { ...process.env, KUBECONFIG: '/nonexistent/kubeconfig' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const { output, printed } = instructions(child);
  await printed;
  expect(output()).toContain('apim-active-active is Ready (https://api.am.wso2.com/,https://gw.am.wso2.com/)');
  expect(output()).toMatch(/export KUBECONFIG=\S+\/kubeconfig/);
  child.kill('SIGINT');
  expect(await exited).toBe(0);
});

test('npm start installs the CRD exactly as crds/ holds it, and SIGTERM to the npm PID stops the operator and the whole control plane', async () => {
  // --ignore-scripts skips only the prestart build, which the test run has done already.
  const npm = spawn('npm', ['start', '--ignore-scripts'], {
    env: { ...process.env, KUBECONFIG: '/nonexistent/kubeconfig' },
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
});
