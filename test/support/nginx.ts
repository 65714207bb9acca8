// Debian's nginx as a real process on loopback, for data-plane tests, and `nginx -t`.
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ComponentProcess } from '../../src/localcluster/process.js';

export const NGINX = process.env.NGINX_BIN ?? '/usr/sbin/nginx';

/** `nginx -t` on a rendered tree; the output names the offending line when it fails. */
export function nginxTest(dir: string): { ok: boolean; output: string } {
  // stdout must not be a socket (as Node's pipes are): `access_log /dev/stdout` cannot open one.
  const result = spawnSync(NGINX, ['-t', '-q', '-p', `${dir}/`, '-c', 'nginx.conf'], {
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return { ok: result.status === 0, output: result.stderr };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export class NginxProcess {
  private constructor(
    private readonly process: ComponentProcess,
    readonly dir: string,
  ) {}

  /** Starts NGINX in the foreground on a tree (DIR/nginx.conf) and waits until every port accepts connections. */
  static async start(dir: string, ports: number | number[]): Promise<NginxProcess> {
    const process = new ComponentProcess(
      'nginx',
      NGINX,
      // Errors before the configuration is read go to the log too, not to a system path.
      ['-e', 'stderr', '-p', `${dir}/`, '-c', 'nginx.conf', '-g', 'daemon off;'],
      join(dir, 'nginx.log'),
    );
    process.start();
    const deadline = Date.now() + 10_000;
    for (const port of [ports].flat()) {
      while (!(await accepts(port))) {
        process.assertRunning();
        if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port}:\n${process.logTail()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    return new NginxProcess(process, dir);
  }

  log(): string {
    return this.process.logTail(200);
  }

  async stop(): Promise<void> {
    await this.process.stop(5000);
  }
}
