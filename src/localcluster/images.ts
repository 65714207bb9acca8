// The images the real node runs: the project's operator and NGINX + agent images, built from
// the Dockerfile on stand-ins of its two bases, and the WSO2 stand-in, one per product and
// version (scripts/test-images.sh builds them, cached by their inputs, into a buildah storage
// in the cache), and their push to the local registry.
import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { APIM_ROLE_IMAGES, repositoryName } from '../model/catalog.js';
import { RELEASE_IMAGES } from '../model/images.js';
import { packageRoot } from './control-plane.js';
import type { LocalRegistry } from './registry.js';

const run = promisify(execFile);

/** ~/.cache/wso2-frontend-operator/images ($WSO2_FRONTEND_CACHE or $XDG_CACHE_HOME move it), as the scripts. */
export function imagesCacheDir(): string {
  const cache =
    process.env.WSO2_FRONTEND_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'wso2-frontend-operator');
  return join(cache, 'images');
}

/** Local names in buildah's storage. */
export interface TestImages {
  /** buildah's global arguments (--root, --runroot, --storage-driver) that select the storage. */
  storage: string[];
  /** The stand-ins of the Dockerfile's bases (tests only). */
  bases: { node: string; nginx: string };
  operator: string;
  nginx: string;
  /** Per `product:version` (`api-manager:4.5.0`), the WSO2 stand-in. */
  wso2: Record<string, string>;
}

/** References in the registry, with the same keys. */
export type PushedImages = Pick<TestImages, 'operator' | 'nginx' | 'wso2'> & {
  /** The operator image again, under the name the WSO2 pods' init container asks for (RELEASE_IMAGES.operator). */
  operatorDefault: string;
};

/** Builds what is missing (minutes the first time, about a second when nothing changed); progress goes to stderr. */
export async function testImages(): Promise<TestImages> {
  const script = join(packageRoot(), 'scripts', 'test-images.sh');
  const child = execFile('bash', [script, 'all'], { maxBuffer: 16 * 1024 * 1024 });
  child.stderr?.pipe(process.stderr);
  const stdout = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${script} failed (exit code ${code})`)),
    );
  });
  return JSON.parse(stdout) as TestImages;
}

/** The repository path of a local image (`localhost/a/b:t` is `a/b:t`). */
export const repositoryOf = (localImage: string) => localImage.replace(/^localhost\//, '');

/**
 * The API-M stand-in again under the names of WSO2's separate role images (wso2am-acp,
 * wso2am-universal-gw, wso2am-tm, as from 4.5), beside it in the registry with its tag: the
 * operator refuses wso2am for a role that has its own image, as it would the real one.
 */
export const roleImageOf = (standIn: string, roleImage: string) =>
  standIn.replace(/\/wso2am:(?=[^/]*$)/, `/${roleImage}:`);

/** Pushes the operator, NGINX and WSO2 images; returns their references in the registry. */
export async function pushTestImages(registry: LocalRegistry, images: TestImages): Promise<PushedImages> {
  const push = (image: string) => registry.push(image, repositoryOf(image), images.storage);
  const roleImages = Object.values(images.wso2)
    .filter((image) => repositoryName(image) === 'wso2am')
    .flatMap((image) =>
      Object.values(APIM_ROLE_IMAGES).map((role) =>
        registry.push(image, repositoryOf(roleImageOf(image, role)), images.storage),
      ),
    );
  const [operator, operatorDefault, nginx, ...wso2] = await Promise.all([
    push(images.operator),
    registry.push(images.operator, RELEASE_IMAGES.operator, images.storage),
    push(images.nginx),
    ...Object.values(images.wso2).map(push),
  ]);
  await Promise.all(roleImages);
  return {
    operator: operator,
    operatorDefault: operatorDefault,
    nginx: nginx,
    wso2: Object.fromEntries(Object.keys(images.wso2).map((key, i) => [key, wso2[i]!])),
  };
}

/** Runs a command in a container of a local image (buildah run, chroot isolation); its output. */
export async function runInImage(images: TestImages, image: string, command: string[]): Promise<string> {
  const { stdout: container } = await run('buildah', [...images.storage, 'from', '--pull=never', image]);
  try {
    const { stdout } = await run('buildah', [
      ...images.storage,
      'run',
      '--isolation',
      'chroot',
      container.trim(),
      '--',
      ...command,
    ]);
    return stdout;
  } finally {
    await run('buildah', [...images.storage, 'rm', container.trim()]);
  }
}
