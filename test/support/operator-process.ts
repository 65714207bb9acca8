// `wso2-frontend operator` as a child process, run as a replica of its Deployment runs it: its
// identity and health port come from its "operator started" log line, its probes and metrics
// are read over HTTP, and it is stopped with the signals a kubelet sends. It runs under
// `setpriv --pdeathsig SIGKILL` (as the control plane's components do) so that it never
// outlives a test worker that dies.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { parseMetrics, type Sample } from './prometheus.js';

const setprivAvailable = spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;

export interface LogLine {
  level: string;
  message: string;
  [field: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface OperatorProcessOptions {
  /** Another identity (such as a service account's token) than this process's KUBECONFIG. */
  kubeconfig?: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** Node options before the script (such as --expose-gc). */
  nodeArgs?: string[];
}

export class OperatorProcess {
  readonly exited: Promise<Exit>;
  private exit: Exit | undefined;
  private output = '';
  private readonly onOutput = new Set<() => void>();
  identity = '';
  healthPort = 0;

  private constructor(private readonly child: ChildProcess) {
    const append = (chunk: Buffer) => {
      this.output += chunk.toString();
      for (const listener of this.onOutput) listener();
    };
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        for (const listener of this.onOutput) listener();
        resolve(this.exit);
      });
    });
  }

  /**
   * Starts `wso2-frontend operator ARGS` and waits until it says it started: with this process's
   * KUBECONFIG, or with `kubeconfig` (another identity, such as a service account's token).
   */
  static async start(args: string[], options: OperatorProcessOptions = {}): Promise<OperatorProcess> {
    const operator = OperatorProcess.spawn(args, options);
    const started = await operator.waitForLog('operator started');
    operator.identity = String(started.identity);
    operator.healthPort = Number(started.healthPort);
    return operator;
  }

  /** Starts `wso2-frontend operator ARGS` without waiting for anything (for a process that may die before it says it started). */
  static spawn(args: string[], options: OperatorProcessOptions = {}): OperatorProcess {
    const command = [
      process.execPath,
      ...(options.nodeArgs ?? []),
      join(process.cwd(), 'dist', 'cli', 'main.js'),
      'operator',
      ...args,
    ];
    const env = {
      ...process.env,
      ...(options.kubeconfig ? { KUBECONFIG: options.kubeconfig } : {}),
      ...options.env,
    };
    const spawnOptions = { stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'], env };
    const child = setprivAvailable
      ? spawn('setpriv', ['--pdeathsig', 'SIGKILL', '--', ...command], spawnOptions)
      : spawn(command[0]!, command.slice(1), spawnOptions);
    return new OperatorProcess(child);
  }

  /** Its process id (setpriv execs the command, so this is the operator's own). */
  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** Everything it wrote to stdout and stderr, as written. */
  text(): string {
    return this.output;
  }

  /** Its JSON log lines (other output is left out). */
  logLines(): LogLine[] {
    return this.output.split('\n').flatMap((line) => {
      try {
        const parsed = JSON.parse(line) as LogLine;
        return typeof parsed === 'object' && parsed !== null && 'message' in parsed ? [parsed] : [];
      } catch {
        return [];
      }
    });
  }

  logged(message: string): boolean {
    return this.logLines().some((line) => line.message === message);
  }

  /** The first log line with this message; fails as soon as the process exits without it. */
  waitForLog(message: string, timeoutMs = 30_000): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const settle = (outcome: () => void) => {
        clearTimeout(timer);
        this.onOutput.delete(check);
        outcome();
      };
      const check = () => {
        const line = this.logLines().find((l) => l.message === message);
        if (line) settle(() => resolve(line));
        else if (this.exit)
          settle(() =>
            reject(
              new Error(
                `the operator exited (${JSON.stringify(this.exit)}) before logging "${message}":\n${this.output}`,
              ),
            ),
          );
      };
      const timer = setTimeout(
        () =>
          settle(() =>
            reject(new Error(`the operator did not log "${message}" within ${timeoutMs / 1000} s:\n${this.output}`)),
          ),
        timeoutMs,
      );
      this.onOutput.add(check);
      check();
    });
  }

  /** GET on its health server. */
  async get(path: string): Promise<{ status: number; body: string }> {
    const response = await fetch(`http://127.0.0.1:${this.healthPort}${path}`);
    return { status: response.status, body: await response.text() };
  }

  async metrics(): Promise<Sample[]> {
    const { status, body } = await this.get('/metrics');
    if (status !== 200) throw new Error(`/metrics answered ${status}: ${body}`);
    return parseMetrics(body);
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL if it has not exited within the grace period. */
  async stop(graceMs = 10_000): Promise<Exit> {
    if (this.exit) return this.exit;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}
