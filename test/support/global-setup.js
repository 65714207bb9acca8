// Starts the control plane shared by every test file and points KUBECONFIG (inherited by the
// Jest workers and by kubectl) at it. Runs the TypeScript source, as the test files do, not a
// build (source-hooks.js).
import './source-hooks.js';

export default async function globalSetup() {
  const { LocalControlPlane } = await import('../../src/localcluster/control-plane.ts');
  const started = Date.now();
  const plane = await LocalControlPlane.start();
  globalThis.__WSO2_FRONTEND_CONTROL_PLANE__ = plane;
  process.env.KUBECONFIG = plane.kubeconfigPath;
  process.env.WSO2_FRONTEND_TEST_APISERVER = plane.apiServerUrl;
  console.log(
    `\nlocal control plane ready in ${((Date.now() - started) / 1000).toFixed(1)} s at ${plane.apiServerUrl} (${plane.dir})`,
  );
}
