// The NGINX generation the operator's image ships (Debian unstable's nginx, unpacked into the
// cache by scripts/nginx-binaries.sh and started through its own dynamic loader) as a real
// process on loopback, for data-plane tests, and `nginx -t`.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { packageRoot } from '../../src/localcluster/control-plane.js';
import { ComponentProcess } from '../../src/localcluster/process.js';
import { buildTopology, type Topology } from '../../src/model/topology.js';
import { validateSpec } from '../../src/model/validate.js';
import { certificatePaths, containerLayout, renderNginx, type NginxLayout } from '../../src/render/nginx/config.js';
import { previewTree } from '../../src/render/nginx/preview.js';
import { issuePreviewCertificates } from '../../src/tls/preview.js';

/** The `nginx` command: $NGINX_BIN, else the cached Debian unstable build (fetched once when missing). */
function nginxBinary(): string {
  if (process.env.NGINX_BIN) return process.env.NGINX_BIN;
  const script = join(packageRoot(), 'scripts', 'nginx-binaries.sh');
  const result = spawnSync('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  const binary = result.stdout?.trim().split('\n').pop();
  if (result.status !== 0 || !binary) throw new Error(`${script} failed with exit code ${result.status}`);
  // Later imports (other test files in this worker, child processes) reuse the answer.
  process.env.NGINX_BIN = binary;
  return binary;
}

export const NGINX = nginxBinary();

/** The version of NGINX, as `nginx -v` prints it (for example 1.30.6). */
export function nginxVersion(): string {
  return /nginx\/([\d.]+)/.exec(spawnSync(NGINX, ['-v'], { encoding: 'utf8' }).stderr)?.[1] ?? '?';
}

/** Writes the tree `render --nginx-dir` writes: the configuration and fresh certificates for the frontend's hosts. */
export function writeNginxTree(dir: string, topology: Topology, layout: NginxLayout): void {
  const certificates = issuePreviewCertificates(topology.certificates, topology.tls, new Date());
  for (const { path, text, secret } of previewTree(topology, layout, certificates)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text, { mode: secret ? 0o600 : 0o644 });
  }
}

/** `nginx -t` on a rendered tree; the output names the offending line when it fails. */
export function nginxTest(dir: string): { ok: boolean; output: string } {
  // stdout must not be a socket (as Node's pipes are): `access_log /dev/stdout` cannot open one.
  const result = spawnSync(NGINX, ['-t', '-q', '-p', `${dir}/`, '-c', 'nginx.conf'], {
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return { ok: result.status === 0, output: result.stderr };
}

/** `nginx -t` in a child process, without blocking the event loop, so that several run at once. */
export function nginxTestAsync(dir: string): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(NGINX, ['-t', '-q', '-p', `${dir}/`, '-c', 'nginx.conf'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let output = '';
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => resolve({ ok: code === 0, output }));
  });
}

/**
 * Checks many rendered configurations with `nginx -t`: each goes into its own directory with one
 * set of certificate files (issued once) copied under every name it refers to, and the
 * directory is removed after the check.
 */
export class RenderedConfigurationChecker {
  private readonly scratch = mkdtempSync(join(tmpdir(), 'wso2-frontend-nginx-t-'));
  private readonly certificates = join(this.scratch, 'certificates');
  private next = 0;

  constructor() {
    const result = validateSpec({ product: 'api-manager', pattern: 'apim-single', backends: { managed: {} } });
    if (!result.ok) throw new Error('the sample spec is invalid');
    const sample = buildTopology(result.spec);
    writeNginxTree(this.certificates, sample, containerLayout(sample));
  }

  /**
   * Renders the configuration the operator deploys for `topology` and runs `nginx -t` on it, with
   * one change: the resolver is 127.0.0.1, as the cluster's DNS name resolves only in a cluster.
   */
  async check(topology: Topology): Promise<{ ok: boolean; output: string }> {
    const dir = join(this.scratch, `configuration-${this.next++}`);
    mkdirSync(dir, { recursive: true });
    const layout = { ...containerLayout(topology), resolver: ['127.0.0.1'] };
    for (const [name, text] of Object.entries(renderNginx(topology, layout))) writeFileSync(join(dir, name), text);
    const shared = join(this.certificates, certificatePaths('frontend').certificate, '..');
    for (const plan of topology.certificates) cpSync(shared, join(dir, 'tls', plan.name), { recursive: true });
    if (topology.backendTls.verify)
      cpSync(join(this.certificates, 'tls', 'ca'), join(dir, 'tls', 'backend-ca'), { recursive: true });
    try {
      return await nginxTestAsync(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  remove(): void {
    rmSync(this.scratch, { recursive: true, force: true });
  }
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

  /** The master process, which a reload keeps. */
  get pid(): number | undefined {
    return this.process.pid;
  }

  /** Asks the master to reload its configuration (SIGHUP), as `nginx -s reload` does. */
  reload(): void {
    this.process.assertRunning();
    process.kill(this.pid!, 'SIGHUP');
  }

  /** SIGUSR1: NGINX reopens its log files, as `nginx -s reopen` does. */
  reopenLogs(): void {
    this.process.assertRunning();
    process.kill(this.pid!, 'SIGUSR1');
  }

  async stop(): Promise<void> {
    await this.process.stop(5000);
  }
}
