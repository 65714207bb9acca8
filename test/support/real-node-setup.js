// Starts the control plane with a real node for the files in test/realnode (their own Jest
// project), beside the kwok plane the other files share, and the local registry with the
// project's images (built from the Dockerfile when not cached) and the WSO2 stand-ins. The
// plane's kubeconfig goes to WSO2_FRONTEND_REAL_KUBECONFIG, which real-node-env.js makes each of
// those files' KUBECONFIG; the image references go to WSO2_FRONTEND_TEST_IMAGES (JSON, PushedImages).
import './source-hooks.js';

export default async function realNodeSetup() {
  const { LocalControlPlane } = await import('../../src/localcluster/control-plane.ts');
  const { LocalRegistry } = await import('../../src/localcluster/registry.ts');
  const { testImages, pushTestImages } = await import('../../src/localcluster/images.ts');
  const { DEFAULT_OPERATOR_IMAGE } = await import('../../src/render/workloads.ts');
  const started = Date.now();
  const [plane, images] = await Promise.all([LocalControlPlane.start({ node: 'real' }), testImages()]);
  globalThis.__WSO2_FRONTEND_REAL_NODE_PLANE__ = plane;
  const registry = await LocalRegistry.start();
  globalThis.__WSO2_FRONTEND_REGISTRY__ = registry;
  plane.realNode.allowRegistry(registry.address);
  const pushed = await pushTestImages(registry, images);
  // The WSO2 pods' init container asks for the operator image by its bare default name.
  plane.realNode.tagImage(pushed.operatorDefault, `docker.io/library/${DEFAULT_OPERATOR_IMAGE}`);
  process.env.WSO2_FRONTEND_REAL_KUBECONFIG = plane.kubeconfigPath;
  process.env.WSO2_FRONTEND_TEST_IMAGES = JSON.stringify(pushed);
  console.log(
    `\nlocal control plane with a real node and images ready in ${((Date.now() - started) / 1000).toFixed(1)} s at ${plane.apiServerUrl} (${plane.dir}), registry ${registry.address}`,
  );
}
