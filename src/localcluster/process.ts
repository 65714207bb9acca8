// A component of the local control plane running as a child process, with its output in a
// log file. Children are started under `setpriv --pdeathsig SIGKILL` so that they die with
// this process even when it is killed without a chance to clean up.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { childPids } from '../agent/nginx.js';

let setpriv: boolean | undefined;
const setprivAvailable = () => (setpriv ??= spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0);

export class ComponentProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> = Promise.resolve(null);

  constructor(
    readonly name: string,
    private readonly binary: string,
    private readonly args: string[],
    readonly logFile: string,
    /** Added to this process's environment. */
    private readonly env: Record<string, string> = {},
  ) {}

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  start(): void {
    if (this.pid !== undefined) throw new Error(`${this.name} is already running (pid ${this.pid})`);
    const log = openSync(this.logFile, 'a');
    const [command, args] = setprivAvailable()
      ? ['setpriv', ['--pdeathsig', 'SIGKILL', '--', this.binary, ...this.args]]
      : [this.binary, this.args];
    const child = spawn(command, args, { stdio: ['ignore', log, log], env: { ...process.env, ...this.env } });
    closeSync(log);
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.once('error', () => resolve(null));
    });
  }

  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  waitForExit(): Promise<number | null> {
    return this.exited;
  }

  /** Throws, with the last log lines, when the process has stopped. */
  assertRunning(): void {
    if (this.child && this.pid === undefined) {
      const how = this.child.signalCode ?? `exit code ${this.child.exitCode}`;
      throw new Error(`${this.name} stopped (${how}); last log lines:\n${this.logTail()}`);
    }
  }

  /** SIGTERM, then SIGKILL (with its children) if the process has not exited within the grace period. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child || this.pid === undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => this.kill(), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /**
   * Immediate SIGKILL, for the synchronous exit path where no waiting is possible. Its children
   * too (NGINX's workers): `--pdeathsig` covers the process started here, not what it forks, and
   * a killed master leaves its workers running, still holding its ports.
   */
  kill(): void {
    const pid = this.pid;
    if (pid === undefined) return;
    // Read before the kill: once the parent is gone, its children belong to init.
    const children = childPids(pid);
    this.child?.kill('SIGKILL');
    for (const child of children) {
      try {
        process.kill(child, 'SIGKILL');
      } catch {
        // Exited meanwhile.
      }
    }
  }

  logTail(lines = 40): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

/** Whether a process with this id exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
