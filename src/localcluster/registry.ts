// A container registry on loopback for the real node: Debian's `docker-registry` (the CNCF
// Distribution registry), plain HTTP on 127.0.0.1, its storage in the cache outside the
// repository, so what was pushed survives a restart (on another port) and a second push of an
// unchanged image only checks its blobs. containerd pulls from it through a certs.d
// hosts.toml (registryHostsToml), as pods pull from a cluster's registry.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { ComponentProcess } from './process.js';
import { imagesCacheDir } from './images.js';

const run = promisify(execFile);

export interface LocalRegistryOptions {
  /** Where the registry keeps blobs and manifests; the cache's registry/ when omitted. */
  storageDir?: string;
  /** The registry binary; Debian's when omitted. */
  binary?: string;
}

/** containerd's `certs.d/<address>/hosts.toml` for a plain-HTTP registry on loopback. */
export function registryHostsToml(address: string): string {
  return [
    `server = "http://${address}"`,
    '',
    `[host."http://${address}"]`,
    '  capabilities = ["pull", "resolve"]',
    '',
  ].join('\n');
}

export class LocalRegistry {
  private constructor(
    /** host:port, as image references and containerd's certs.d name it. */
    readonly address: string,
    private readonly process: ComponentProcess,
    private readonly dir: string,
  ) {}

  /** The registry's process id while it runs. */
  get pid(): number | undefined {
    return this.process.pid;
  }

  /** Starts the registry on a free loopback port and waits until it answers. */
  static async start(options: LocalRegistryOptions = {}): Promise<LocalRegistry> {
    const storage = options.storageDir ?? join(imagesCacheDir(), 'registry');
    mkdirSync(storage, { recursive: true });
    const dir = mkdtempSync(join(tmpdir(), 'wso2-frontend-registry-'));
    // A port is free when asked; another process may take it before the registry binds it.
    for (let attempt = 1; ; attempt++) {
      const address = `127.0.0.1:${await freePort()}`;
      const config = join(dir, 'config.yml');
      writeFileSync(
        config,
        [
          'version: 0.1',
          'log:',
          '  level: warn',
          '  accesslog:',
          '    disabled: true',
          'storage:',
          '  filesystem:',
          `    rootdirectory: ${JSON.stringify(storage)}`,
          '  delete:',
          '    enabled: true',
          'http:',
          `  addr: ${address}`,
          '',
        ].join('\n'),
      );
      const child = new ComponentProcess(
        'docker-registry',
        options.binary ?? 'docker-registry',
        ['serve', config],
        join(dir, 'registry.log'),
      );
      child.start();
      const registry = new LocalRegistry(address, child, dir);
      try {
        await registry.waitUntilAnswering();
        return registry;
      } catch (error) {
        await child.stop();
        if (attempt >= 3) {
          rmSync(dir, { recursive: true, force: true });
          throw error;
        }
      }
    }
  }

  private async waitUntilAnswering(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.process.assertRunning();
      try {
        const response = await fetch(`http://${this.address}/v2/`, { signal: AbortSignal.timeout(2_000) });
        if (response.ok) return;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline)
        throw new Error(`the registry on ${this.address} did not answer within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /**
   * Pushes an image from buildah's storage (`storage`: buildah's --root/--runroot arguments) as
   * `<address>/<repository>`; returns that reference.
   */
  async push(localImage: string, repository: string, storage: string[] = []): Promise<string> {
    const reference = `${this.address}/${repository}`;
    // The test images' tags carry a hash of their inputs: a tag the registry has is this image.
    if (await this.has(repository)) return reference;
    await run('buildah', [...storage, 'push', '--quiet', '--tls-verify=false', localImage, `docker://${reference}`], {
      maxBuffer: 16 * 1024 * 1024,
    });
    return reference;
  }

  /** Whether the registry serves `name:tag` (a HEAD of its manifest). */
  async has(repositoryAndTag: string): Promise<boolean> {
    const at = repositoryAndTag.lastIndexOf(':');
    const response = await fetch(
      `http://${this.address}/v2/${repositoryAndTag.slice(0, at)}/manifests/${repositoryAndTag.slice(at + 1)}`,
      {
        method: 'HEAD',
        headers: {
          accept: [
            'application/vnd.oci.image.manifest.v1+json',
            'application/vnd.docker.distribution.manifest.v2+json',
            'application/vnd.oci.image.index.v1+json',
          ].join(', '),
        },
      },
    );
    return response.ok;
  }

  /** The tags the registry has for a repository (empty when it has none). */
  async tags(repository: string): Promise<string[]> {
    const response = await fetch(`http://${this.address}/v2/${repository}/tags/list`);
    if (response.status === 404) return [];
    const body = (await response.json()) as { tags?: string[] | null };
    return body.tags ?? [];
  }

  /** Stops the registry and removes its configuration (the storage stays, in the cache). */
  async stop(): Promise<void> {
    await this.process.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
