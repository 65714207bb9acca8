// Image build times and sizes (scripts/test-images.sh): every image from nothing in a cache of
// its own (the base stand-ins from Debian's packages and the npm registry, the operator and
// NGINX images from the Dockerfile, the WSO2 stand-ins), the same again with nothing changed
// (what a second `npm test` pays), and the size of each image. Needs root, as the build does.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestImages } from '../src/localcluster/images.js';

const run = promisify(execFile);

async function build(cache: string): Promise<{ seconds: number; images: TestImages; log: string }> {
  const started = performance.now();
  const { stdout, stderr } = await run('bash', ['scripts/test-images.sh', 'all'], {
    env: { ...process.env, WSO2_FRONTEND_CACHE: cache },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { seconds: (performance.now() - started) / 1000, images: JSON.parse(stdout) as TestImages, log: stderr };
}

export async function benchImages(): Promise<void> {
  console.log('\nImages (scripts/test-images.sh; buildah, chroot isolation, overlay storage):');
  const cache = mkdtempSync(join(tmpdir(), 'wso2-frontend-bench-images-'));
  try {
    const cold = await build(cache);
    console.log(`  cold, from an empty cache: ${cold.seconds.toFixed(0)} s in all, of which:`);
    for (const line of cold.log.split('\n')) {
      const step = /\[test-images\] (.+) ready in (\d+) s/.exec(line);
      if (step) console.log(`    ${step[1]!.padEnd(48)} ${step[2]} s`);
    }
    const cached = await build(cache);
    console.log(`  cached, nothing changed: ${cached.seconds.toFixed(1)} s`);
    const { images } = cached;
    console.log('  sizes (uncompressed, as buildah reports them):');
    const named: [string, string][] = [
      ['node:24-bookworm-slim stand-in', images.bases.node],
      ['nginx-unprivileged:1.30 stand-in', images.bases.nginx],
      ['operator', images.operator],
      ['nginx + agent', images.nginx],
      ...Object.entries(images.wso2).map(([key, image]): [string, string] => [`WSO2 stand-in ${key}`, image]),
    ];
    for (const [name, image] of named) {
      const { stdout } = await run('buildah', [
        ...images.storage,
        'images',
        '--format',
        '{{.Size}}',
        '--noheading',
        image,
      ]);
      console.log(`    ${name.padEnd(48)} ${stdout.trim().split('\n')[0]}`);
    }
  } finally {
    // The storage's layers are overlay mounts while an image is in use: remove them through buildah first.
    const storage = ['--root', join(cache, 'images', 'storage'), '--runroot', join(cache, 'images', 'run')];
    await run('buildah', [...storage, '--storage-driver', 'overlay', 'rmi', '--all', '--force']).catch(() => undefined);
    rmSync(cache, { recursive: true, force: true });
  }
}
