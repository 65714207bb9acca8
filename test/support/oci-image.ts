// Small test images for the real node, packed as OCI image archives that containerd imports:
// a root filesystem of a few files in one layer, no registry involved.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export type ImageFile =
  | { path: string; copyOf: string; mode?: number }
  | { path: string; content: string; mode?: number }
  | { path: string; linkTo: string };

export interface ImageConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  User?: string;
  WorkingDir?: string;
}

/** Writes an OCI image archive of `files` named `name` (as containerd's import reads it) and returns its path. */
export function ociArchive(name: string, files: ImageFile[], config: ImageConfig): string {
  const work = mkdtempSync(join(tmpdir(), 'wso2-frontend-oci-'));
  const rootfs = join(work, 'rootfs');
  const layout = join(work, 'layout');
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  for (const file of files) {
    const target = join(rootfs, file.path);
    mkdirSync(dirname(target), { recursive: true });
    if ('linkTo' in file) symlinkSync(file.linkTo, target);
    else {
      if ('copyOf' in file) copyFileSync(file.copyOf, target);
      else writeFileSync(target, file.content);
      chmodSync(target, file.mode ?? 0o644);
    }
  }
  const tar = (dir: string, out: string, entries: string[]) =>
    execFileSync('tar', [
      '--sort=name',
      '--mtime=@0',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '-C',
      dir,
      '-cf',
      out,
      ...entries,
    ]);
  const blob = (data: Buffer) => {
    const digest = createHash('sha256').update(data).digest('hex');
    writeFileSync(join(layout, 'blobs', 'sha256', digest), data);
    return { digest: `sha256:${digest}`, size: data.length };
  };
  tar(rootfs, join(work, 'layer.tar'), ['.']);
  const layer = blob(readFileSync(join(work, 'layer.tar')));
  const configBlob = blob(
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config,
        rootfs: { type: 'layers', diff_ids: [layer.digest] },
      }),
    ),
  );
  const manifest = blob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
      }),
    ),
  );
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          annotations: { 'io.containerd.image.name': name },
        },
      ],
    }),
  );
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const archive = join(tmpdir(), `wso2-frontend-image-${process.pid}-${name.replace(/[^a-z0-9]+/gi, '-')}.tar`);
  tar(layout, archive, ['.']);
  rmSync(work, { recursive: true, force: true });
  return archive;
}
