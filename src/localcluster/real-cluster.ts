// A local cluster whose pods run for real: the control plane with a real node, the local registry
// with the project's images (built from the Dockerfile on the base stand-ins) and the WSO2
// stand-ins, for `npm start -- --node real` and the test run's real-node project.
import type { Wso2Frontend } from '../api/schema.js';
import type { Role } from '../api/vocabulary.js';
import { PATTERN_PRESETS, PRODUCT_INFO, repositoryName, roleRuntime } from '../model/catalog.js';
import { RELEASE_IMAGES } from '../model/images.js';
import { LocalControlPlane } from './control-plane.js';
import { pushTestImages, roleImageOf, testImages, type PushedImages } from './images.js';
import { LocalRegistry } from './registry.js';

export interface RealCluster {
  plane: LocalControlPlane;
  registry: LocalRegistry;
  images: PushedImages;
  /** Stops the registry and the plane (which puts the host back as it was). */
  stop(): Promise<void>;
}

export async function startRealCluster(options: { dir?: string } = {}): Promise<RealCluster> {
  const [plane, built] = await Promise.all([
    LocalControlPlane.start({ node: 'real', ...(options.dir ? { dir: options.dir } : {}) }),
    testImages(),
  ]);
  let registry: LocalRegistry | undefined;
  try {
    registry = await LocalRegistry.start();
    plane.realNode!.allowRegistry(registry.address);
    const images = await pushTestImages(registry, built);
    // The WSO2 pods' init container asks for the operator image by its default name.
    plane.realNode!.tagImage(images.operatorDefault, `docker.io/library/${RELEASE_IMAGES.operator}`);
    const started = registry;
    return {
      plane,
      registry,
      images,
      async stop() {
        await started.stop();
        await plane.stop();
      },
    };
  } catch (error) {
    await registry?.stop();
    await plane.stop();
    throw error;
  }
}

/** Small requests, so that every pod of a pattern fits on a 2-core machine (the products' own default asks 1 CPU each). */
const SMALL = { requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '512Mi' } };

/** The resource with the project's NGINX image, the WSO2 stand-in of its product and version, and small requests. */
export function onRealNode(resource: Wso2Frontend, images: PushedImages): Wso2Frontend {
  const copy = JSON.parse(JSON.stringify(resource)) as Wso2Frontend;
  const spec = copy.spec;
  spec.nginx = { ...spec.nginx, image: images.nginx };
  const managed = spec.backends.managed;
  if (managed) {
    const version = spec.version ?? PRODUCT_INFO[spec.product].defaultVersion;
    const image = images.wso2[`${spec.product}:${version}`];
    if (!image) throw new Error(`no WSO2 stand-in image for ${spec.product} ${version}`);
    managed.image = image;
    const components = (managed.components ??= {});
    for (const role of Object.keys(PATTERN_PRESETS[spec.pattern].roles) as Role[]) {
      // A role WSO2 ships as its own image (API-M 4.5 distributed) runs the stand-in under that name.
      const own = repositoryName(roleRuntime(spec.product, version, spec.pattern, role).image);
      const roleImage = own !== repositoryName(image) ? { image: roleImageOf(image, own) } : {};
      components[role] = { ...components[role], ...roleImage, resources: SMALL };
    }
  }
  return copy;
}
