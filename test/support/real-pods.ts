// What the tests on the real node share: the pushed images (real-node-setup.js), the operator
// in-process against the real-node plane, and examples made to run on a 2-core node with the
// project's NGINX image and the WSO2 stand-ins.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import type { Wso2Frontend } from '../../src/api/schema.js';
import type { PushedImages } from '../../src/localcluster/images.js';
import { PATTERN_PRESETS, PRODUCT_INFO } from '../../src/model/catalog.js';
import { createOperator } from '../../src/controller/setup.js';
import { kubeConfig } from './cluster.js';

const execFileAsync = promisify(execFile);

export function pushedImages(): PushedImages {
  const json = process.env.WSO2_FRONTEND_TEST_IMAGES;
  if (!json)
    throw new Error('WSO2_FRONTEND_TEST_IMAGES is not set: run test/realnode through jest (real-node-setup.js)');
  return JSON.parse(json) as PushedImages;
}

/** The operator in this process, as the other end-to-end tests run it; stop() when done. */
export async function startOperator(): Promise<{ stop: () => Promise<void> }> {
  const { controller } = createOperator({ kubeConfig: kubeConfig(), resyncPeriodMs: 600_000, logger: () => {} });
  await controller.start();
  return { stop: () => controller.stop() };
}

/** Small requests so that every pod of a pattern fits on this machine's 2 cores (the products' own default asks 1 CPU each). */
const SMALL = { requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '512Mi' } };

/** The resource with the project's NGINX image, the WSO2 stand-in of its product and version, and small requests. */
export function onRealPods(resource: Wso2Frontend, images = pushedImages()): Wso2Frontend {
  const copy = structuredClone(resource);
  const spec = copy.spec;
  spec.nginx = { ...spec.nginx, image: images.nginx };
  const managed = spec.backends.managed;
  if (managed) {
    const version = spec.version ?? PRODUCT_INFO[spec.product].defaultVersion;
    const image = images.wso2[`${spec.product}:${version}`];
    if (!image) throw new Error(`no WSO2 stand-in image for ${spec.product} ${version}`);
    managed.image = image;
    const components = (managed.components ??= {});
    for (const role of Object.keys(PATTERN_PRESETS[spec.pattern].roles)) {
      components[role] = { ...components[role], resources: SMALL };
    }
  }
  return copy;
}

/** curl from this machine; the body, or the failure. */
export async function curl(args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const { stdout } = await execFileAsync('curl', ['-sS', '--max-time', '10', ...args], { encoding: 'utf8' });
    return { ok: true, out: stdout };
  } catch (error) {
    return { ok: false, out: (error as { stderr?: string }).stderr ?? String(error) };
  }
}

export const core = () => kubeConfig().makeApiClient(k8s.CoreV1Api);
