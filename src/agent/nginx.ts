// The NGINX side of the agent: versioned configuration directories behind one `current`
// symlink, `nginx -t` with the binary that serves, and the master process it supervises.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Configuration } from './configuration.js';

/**
 * Configurations on disk: `versions/<n>-<hash>/` each, and `current` pointing at the one NGINX
 * runs. NGINX is started with `-c <root>/current/nginx.conf`, so the relative includes and
 * certificate paths of the configuration resolve inside the version it was (re)loaded from,
 * and a restart of the pod's container starts on the last good one.
 */
export class ConfigurationStore {
  readonly currentLink: string;
  private readonly versionsDir: string;

  constructor(readonly root: string) {
    this.currentLink = join(root, 'current');
    this.versionsDir = join(root, 'versions');
    mkdirSync(this.versionsDir, { recursive: true });
  }

  /** The main file NGINX is started with: always through the `current` link. */
  get mainFile(): string {
    return join(this.currentLink, 'nginx.conf');
  }

  /** Writes a configuration into a fresh directory and returns it; `extraMainConf` is the agent's test hook. */
  write(configuration: Configuration, extraMainConf?: string): string {
    const sequence = Math.max(0, ...readdirSync(this.versionsDir).map((name) => Number.parseInt(name, 10) || 0)) + 1;
    const dir = join(this.versionsDir, `${sequence}-${configuration.hash}`);
    mkdirSync(dir, { mode: 0o700 });
    for (const [path, text] of Object.entries(configuration.files)) {
      const file = join(dir, path);
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      const content = path === 'nginx.conf' && extraMainConf ? `${text}${extraMainConf}\n` : text;
      // Private keys are among these files: readable by this user only.
      writeFileSync(file, content, { mode: 0o600 });
    }
    writeFileSync(
      join(dir, 'version.json'),
      JSON.stringify({ hash: configuration.hash, digest: configuration.digest }),
    );
    return dir;
  }

  /** Points `current` at `dir` in one atomic rename, so NGINX never reads a half-switched tree. */
  activate(dir: string): void {
    const next = join(this.root, 'current.next');
    rmSync(next, { force: true });
    symlinkSync(join('versions', dir.slice(this.versionsDir.length + 1)), next);
    renameSync(next, this.currentLink);
  }

  /** The version `current` points at, when there is one. */
  current(): { dir: string; hash: string; digest: string } | undefined {
    if (!existsSync(join(this.currentLink, 'version.json'))) return undefined;
    const dir = join(this.root, readlinkSync(this.currentLink));
    const { hash, digest } = JSON.parse(readFileSync(join(dir, 'version.json'), 'utf8')) as {
      hash: string;
      digest: string;
    };
    return { dir, hash, digest };
  }

  /** Removes every version directory except those listed. */
  prune(keep: readonly string[]): void {
    for (const name of readdirSync(this.versionsDir)) {
      const dir = join(this.versionsDir, name);
      if (!keep.includes(dir)) rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** The line of NGINX's output that says what is wrong (the first [emerg], else the first line). */
export function errorLine(output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.find((l) => /\[(emerg|alert|crit)\]/.test(l)) ?? lines[0] ?? 'no output';
}

/** `nginx -t` on one version directory, with the binary and prefix that serve it. */
export function testConfiguration(
  binary: string,
  prefix: string,
  mainFile: string,
): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    // stdout must not be a socket, as Node's pipes are: `access_log /dev/stdout` cannot open one.
    const child = spawn(binary, ['-t', '-q', '-p', prefix, '-c', mainFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let output = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.once('error', (error) => resolve({ ok: false, output: String(error) }));
    child.once('close', (code) => resolve({ ok: code === 0, output }));
  });
}

const setprivAvailable = spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;

export interface MasterExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * The NGINX master, in the foreground as the agent's child and in a process group of its own
 * (so its workers can be found and, should the master be killed, cleaned up). Its stderr
 * (NGINX's error log) is passed through line by line, so a failed reload can be recognised.
 */
export class NginxMaster {
  readonly exited: Promise<MasterExit>;
  private exitedWith: MasterExit | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
  ) {
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exitedWith = { code, signal };
        resolve(this.exitedWith);
      }),
    );
  }

  static start(binary: string, prefix: string, mainFile: string, onErrorLog: (line: string) => void): NginxMaster {
    const args = ['-p', prefix, '-c', mainFile, '-g', 'daemon off;'];
    // pdeathsig: the master does not outlive the agent, even when the agent is killed.
    const [command, commandArgs] = setprivAvailable
      ? ['setpriv', ['--pdeathsig', 'SIGKILL', '--', binary, ...args]]
      : [binary, args];
    // stdout is inherited: the access logs go to the container's stdout, which is not a socket.
    const child = spawn(command, commandArgs, { stdio: ['ignore', 'inherit', 'pipe'], detached: true });
    if (child.pid === undefined) throw new Error(`cannot start ${binary}`);
    createInterface({ input: child.stderr }).on('line', onErrorLog);
    return new NginxMaster(child, child.pid);
  }

  get running(): boolean {
    return this.exitedWith === undefined;
  }

  /** SIGHUP: NGINX re-reads the configuration, starts new workers and lets the old ones finish. */
  reload(): void {
    process.kill(this.pid, 'SIGHUP');
  }

  /** SIGUSR1: NGINX reopens its log files (after the traffic log was renamed). */
  reopenLogs(): void {
    process.kill(this.pid, 'SIGUSR1');
  }

  /** SIGQUIT (graceful shutdown), then waits for the master to exit; SIGKILL to the group after `timeoutMs`. */
  async quit(timeoutMs: number): Promise<MasterExit> {
    if (this.running) process.kill(this.pid, 'SIGQUIT');
    const timer = setTimeout(() => this.killGroup(), timeoutMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** SIGKILL to the master and every worker left behind (workers of a killed master linger otherwise). */
  killGroup(): void {
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // The group is already gone.
    }
  }

  /** Worker processes of this master (children in its process group), from /proc. */
  workerPids(): number[] {
    return childPids(this.pid);
  }
}

/** The children of a process, from /proc. */
export function childPids(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which may contain spaces): state, ppid, pgrp, ...
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === parent) pids.push(Number(entry));
    } catch {
      // The process exited while being read.
    }
  }
  return pids;
}

/** Whether any of the processes has the file (device and inode) open, from /proc (readable for one's own processes). */
export function holdsFile(pids: readonly number[], file: { dev: number; ino: number }): boolean {
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const stat = statSync(`/proc/${pid}/fd/${fd}`);
        if (stat.ino === file.ino && stat.dev === file.dev) return true;
      } catch {
        // Closed while being read.
      }
    }
  }
  return false;
}

/**
 * Whether an old worker no longer accepts connections: it has exited, or taken the title NGINX
 * gives a worker as it closes its listening sockets on a graceful shutdown.
 */
export function stoppedAccepting(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('shutting down');
  } catch {
    return true;
  }
}

/** The hash NGINX answers with on its local configuration-hash endpoint (a new connection each time, so a new worker answers after a reload). */
export function fetchServedHash(url: string, timeoutMs = 1000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const request = get(url, { agent: false, timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve(response.statusCode === 200 ? body.trim() : undefined));
      response.on('error', () => resolve(undefined));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(undefined));
  });
}
