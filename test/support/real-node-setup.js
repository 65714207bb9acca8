// Starts the control plane with a real node for the files in test/realnode (their own Jest
// project), beside the kwok plane the other files share. Its kubeconfig goes to
// WSO2_FRONTEND_REAL_KUBECONFIG, which real-node-env.js makes each of those files' KUBECONFIG.
import './source-hooks.js';

export default async function realNodeSetup() {
  const { LocalControlPlane } = await import('../../src/localcluster/control-plane.ts');
  const started = Date.now();
  const plane = await LocalControlPlane.start({ node: 'real' });
  globalThis.__WSO2_FRONTEND_REAL_NODE_PLANE__ = plane;
  process.env.WSO2_FRONTEND_REAL_KUBECONFIG = plane.kubeconfigPath;
  console.log(
    `\nlocal control plane with a real node ready in ${((Date.now() - started) / 1000).toFixed(1)} s at ${plane.apiServerUrl} (${plane.dir})`,
  );
}
