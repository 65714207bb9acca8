// `wso2-frontend start` (npm start): the operator against the current cluster when one answers;
// otherwise a local control plane with the CRD and an example applied, so a newcomer sees the
// operator work on a fresh machine.
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import { API_GROUP, API_VERSION, PLURAL, type Wso2Frontend } from '../api/schema.js';
import { LocalControlPlane, packageRoot } from '../localcluster/control-plane.js';
import { RawApplyApi } from '../controller/runtime/apply.js';
import { renderCrd } from '../render/crd.js';
import { createOperator } from '../controller/setup.js';
import { runOperator } from './operator.js';
import { UsageError } from './usage-error.js';

export const usage = `wso2-frontend start [--node real]

Runs the operator against the current cluster (kubeconfig or in-cluster) when it answers;
otherwise starts a local control plane, installs the CRD, applies examples/apim-active-active.yaml
and runs the operator there, until Ctrl-C.
  --node real  a local cluster whose pods run for real on this machine (root; containerd, kubelet,
               kube-proxy), with the project's images built from the Dockerfile and WSO2 stand-in
               pods; applies examples/is-7-managed.yaml and prints a curl through NGINX`;

const examplePath = () => join(packageRoot(), 'examples', 'apim-active-active.yaml');

async function currentCluster(): Promise<boolean> {
  try {
    const kc = new k8s.KubeConfig();
    kc.loadFromDefault();
    if (!kc.getCurrentCluster()) return false;
    await Promise.race([
      kc.makeApiClient(k8s.VersionApi).getCode(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 3000)),
    ]);
    return true;
  } catch {
    return false;
  }
}

const FIELD_MANAGER = 'wso2-frontend-start';

/** Installs the CRD exactly as crds/ holds it (server-side apply of the raw object) and waits until it is Established. */
export async function installCrd(kubeConfig: k8s.KubeConfig, fieldManager: string): Promise<void> {
  await RawApplyApi.fromKubeConfig(kubeConfig).apply(renderCrd(), fieldManager);
  const extensions = kubeConfig.makeApiClient(k8s.ApiextensionsV1Api);
  const established = async () =>
    (await extensions.readCustomResourceDefinition({ name: `${PLURAL}.${API_GROUP}` })).status?.conditions?.some(
      (c) => c.type === 'Established' && c.status === 'True',
    );
  while (!(await established())) await sleep(200);
}

export async function runStart(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { node: { type: 'string', default: 'kwok' } }, strict: true });
  if (values.node === 'real') return startOnRealNode();
  if (values.node !== 'kwok') throw new UsageError(`--node: "${values.node}" is not one of kwok, real`);
  if (await currentCluster()) {
    console.log('Using the current cluster (install the CRD with: kubectl apply -k deploy/).');
    return runOperator([]);
  }
  const stopRequested = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log('No cluster answers: starting a local control plane (the first run builds it; see README).');
  const plane = await LocalControlPlane.start();
  const kubeConfig = plane.kubeConfig();
  const objects = RawApplyApi.fromKubeConfig(kubeConfig);
  await installCrd(kubeConfig, FIELD_MANAGER);

  const { controller } = createOperator({ kubeConfig, resyncPeriodMs: 600_000 });
  await controller.start();
  const example = yaml.load(readFileSync(examplePath(), 'utf8')) as Wso2Frontend;
  example.metadata.namespace = 'default';
  await objects.apply(example, FIELD_MANAGER);
  const custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  const readyUrls = async () => {
    const f = (await custom.getNamespacedCustomObject({
      group: API_GROUP,
      version: API_VERSION,
      namespace: 'default',
      plural: PLURAL,
      name: example.metadata.name,
    })) as Wso2Frontend;
    return f.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? f.status.urls : undefined;
  };
  let urls: string | undefined;
  for (let i = 0; i < 120 && !(urls = await readyUrls()); i++) await sleep(500);
  console.log(`
The operator runs against a local control plane; ${example.metadata.name} is ${urls ? `Ready (${urls})` : 'not Ready yet'}.
In another shell:
  export KUBECONFIG=${plane.kubeconfigPath}
  kubectl get wso2frontends
  kubectl get wso2frontend ${example.metadata.name} -o yaml
  kubectl get configmap ${example.metadata.name}-nginx -o jsonpath='{.data.vhost-portal\\.conf}'
  kubectl events --for wso2frontend/${example.metadata.name}
  kubectl apply -f examples/ei-cluster.yaml && kubectl wait --for=condition=Ready wso2frontend/ei
Press Ctrl-C to stop.`);
  await stopRequested;
  console.log('Stopping the operator and the local control plane...');
  await controller.stop();
  await plane.stop();
  return 0;
}

/** `start --node real`: the IS 7 example with WSO2 stand-in pods on a real node, and a curl through its NGINX Service. */
async function startOnRealNode(): Promise<number> {
  const stopRequested = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log('Starting a local cluster with a real node and building the images (minutes the first time)...');
  const { startRealCluster, onRealNode } = await import('../localcluster/real-cluster.js');
  const cluster = await startRealCluster();
  const kubeConfig = cluster.plane.kubeConfig();
  await installCrd(kubeConfig, FIELD_MANAGER);
  const { controller } = createOperator({ kubeConfig, resyncPeriodMs: 600_000 });
  await controller.start();
  const file = yaml.load(readFileSync(join(packageRoot(), 'examples', 'is-7-managed.yaml'), 'utf8')) as Wso2Frontend;
  // Self-signed certificates: the example's Secret is the user's to provide.
  const { tls: _userSecret, ...spec } = file.spec;
  const example = onRealNode({ ...file, metadata: { ...file.metadata, namespace: 'default' }, spec }, cluster.images);
  await RawApplyApi.fromKubeConfig(kubeConfig).apply(example, FIELD_MANAGER);
  const name = example.metadata.name;
  const custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  const read = async () =>
    (await custom.getNamespacedCustomObject({
      group: API_GROUP,
      version: API_VERSION,
      namespace: 'default',
      plural: PLURAL,
      name,
    })) as Wso2Frontend;
  let ready = false;
  for (let i = 0; i < 600 && !ready; i++) {
    ready = (await read()).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    if (!ready) await sleep(500);
  }
  const service = await kubeConfig
    .makeApiClient(k8s.CoreV1Api)
    .readNamespacedService({ name: `${name}-nginx`, namespace: 'default' });
  const host = example.spec.sites?.identity?.host ?? 'login.example.com';
  console.log(`
${name} runs on real pods and is ${ready ? 'Ready' : 'not Ready yet'}. A request through NGINX to a WSO2 stand-in pod:
  curl -k --resolve ${host}:443:${service.spec?.clusterIP} https://${host}/
In another shell:
  export KUBECONFIG=${cluster.plane.kubeconfigPath}
  kubectl get pods -o wide
  kubectl get wso2frontend ${name}
Press Ctrl-C to stop (the node puts back everything it changed on this machine).`);
  await stopRequested;
  console.log('Stopping the operator and the local cluster...');
  await controller.stop();
  await cluster.stop();
  return 0;
}
