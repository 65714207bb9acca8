// Runs a command of a built image in its root file system as a container runtime would for a
// restricted pod, without a node: a private mount namespace (unshare), the root file system
// read-only, only the given directories and files bound in writable, a /dev of its own with
// the usual character devices, the image's environment and working directory, and the given
// uid and gid (chroot --userspec, so no capability is left). The network is the host's, so a
// test reaches what it starts on loopback. Needs root, as the tests run in CI.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { TestImages } from '../../src/localcluster/images.js';

const run = promisify(execFile);
const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

export interface Bind {
  host: string;
  container: string;
  readOnly?: boolean;
  /** A file (its mount point is made a file), not a directory. */
  file?: boolean;
}

export interface RunOptions {
  /** uid:gid; the image's user when omitted. */
  user?: string;
  readOnlyRoot?: boolean;
  binds?: Bind[];
  env?: Record<string, string>;
}

interface ImageConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  User?: string;
  WorkingDir?: string;
  StopSignal?: string;
}

export class ImageRootfs {
  private constructor(
    private readonly storage: string[],
    private readonly container: string,
    /** The container's root file system on the host (buildah mount). */
    readonly root: string,
    readonly config: ImageConfig,
  ) {}

  /** A working container of the image (its own writable layer), mounted. */
  static async open(images: TestImages, image: string): Promise<ImageRootfs> {
    const buildah = (...args: string[]) => run('buildah', [...images.storage, ...args]).then((r) => r.stdout.trim());
    // Named so that scripts/test-images.sh, which removes what interrupted builds left, keeps it.
    const container = await buildah(
      'from',
      '--pull=never',
      '--name',
      `wso2-frontend-test-${randomBytes(6).toString('hex')}`,
      image,
    );
    const root = await buildah('mount', container);
    const inspected = JSON.parse(await buildah('inspect', '--type', 'container', container)) as {
      OCIv1: { config: ImageConfig };
    };
    return new ImageRootfs(images.storage, container, root, inspected.OCIv1.config);
  }

  /** The image's ENTRYPOINT followed by `args` (or its CMD when no args are given). */
  entrypoint(args?: string[]): string[] {
    return [...(this.config.Entrypoint ?? []), ...(args ?? this.config.Cmd ?? [])];
  }

  /** [binary, args] that run `argv` in the root file system (for spawn or ComponentProcess). */
  command(argv: string[], options: RunOptions = {}): [string, string[]] {
    const user = options.user ?? this.config.User ?? '0:0';
    const [uid, gid = uid] = user.split(':');
    const env = [...(this.config.Env ?? []), ...Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`)];
    const r = quote(this.root);
    const lines = [
      'set -e',
      // The container's mount points, made in its writable layer before the root turns read-only.
      `mount --bind ${r} ${r}`,
      `mount -t tmpfs -o nosuid,mode=755 tmpfs ${r}/dev`,
      ...['null', 'zero', 'random', 'urandom', 'full', 'tty'].flatMap((d) => [
        `touch ${r}/dev/${d}`,
        `mount --bind /dev/${d} ${r}/dev/${d}`,
      ]),
      // As runc: /dev/fd and the standard streams are links into /proc (NGINX's `access_log /dev/stdout`).
      `ln -s /proc/self/fd ${r}/dev/fd`,
      ...['stdin', 'stdout', 'stderr'].map((name, fd) => `ln -s /proc/self/fd/${fd} ${r}/dev/${name}`),
      `mount -t proc proc ${r}/proc`,
      // Mount points made and resolved inside the root (chroot), so a symbolic link in the image
      // (/var/run -> /run) never leads to the host's directories.
      ...(options.binds ?? []).flatMap((b) => {
        const target = quote(b.container);
        return [
          b.file
            ? `chroot ${r} sh -c 'mkdir -p "$(dirname "$1")" && touch "$1"' sh ${target}`
            : `chroot ${r} mkdir -p ${target}`,
          `t=${r}"$(chroot ${r} realpath -e ${target})"`,
          `mount --bind ${quote(b.host)} "$t"`,
          ...(b.readOnly ? [`mount -o remount,bind,ro "$t"`] : []),
        ];
      }),
      ...(options.readOnlyRoot ? [`mount -o remount,bind,ro ${r}`] : []),
      `exec chroot --userspec=${uid}:${gid} --groups=${gid} ${r} /usr/bin/env -i -C ${quote(this.config.WorkingDir || '/')} ` +
        `${env.map(quote).join(' ')} ${argv.map(quote).join(' ')}`,
    ];
    return ['unshare', ['--mount', '--propagation', 'private', 'sh', '-c', lines.join('\n')]];
  }

  /** Runs `argv` to its end; its output, or an error with its output. */
  async exec(argv: string[], options: RunOptions = {}): Promise<{ stdout: string; stderr: string }> {
    const [binary, args] = this.command(argv, options);
    return run(binary, args, { maxBuffer: 16 * 1024 * 1024 });
  }

  /** Unmounts and removes the working container. */
  async close(): Promise<void> {
    await run('buildah', [...this.storage, 'umount', this.container]);
    await run('buildah', [...this.storage, 'rm', this.container]);
  }
}
