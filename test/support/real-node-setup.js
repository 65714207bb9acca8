// Starts the control plane with a real node for the files in test/realnode (their own Jest
// project), beside the kwok plane the other files share, and the local registry with the
// project's images and the WSO2 stand-ins (src/localcluster/real-cluster.ts). The plane's
// kubeconfig goes to WSO2_FRONTEND_REAL_KUBECONFIG, which real-node-env.js makes each of those
// files' KUBECONFIG; the image references go to WSO2_FRONTEND_TEST_IMAGES (JSON, PushedImages).
import './source-hooks.js';

export default async function realNodeSetup() {
  const { startRealCluster } = await import('../../src/localcluster/real-cluster.ts');
  const started = Date.now();
  const cluster = await startRealCluster();
  globalThis.__WSO2_FRONTEND_REAL_CLUSTER__ = cluster;
  globalThis.__WSO2_FRONTEND_REAL_NODE_PLANE__ = cluster.plane;
  process.env.WSO2_FRONTEND_REAL_KUBECONFIG = cluster.plane.kubeconfigPath;
  process.env.WSO2_FRONTEND_TEST_IMAGES = JSON.stringify(cluster.images);
  console.log(
    `\nlocal control plane with a real node and images ready in ${((Date.now() - started) / 1000).toFixed(1)} s at ${cluster.plane.apiServerUrl} (${cluster.plane.dir}), registry ${cluster.registry.address}`,
  );
}
