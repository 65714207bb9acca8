// `wso2-frontend start` (npm start): a local control plane with the CRD and an example applied,
// and the operator on it, so a newcomer sees the operator work on a fresh machine. Another
// cluster only when asked for by name (--cluster current): a KUBECONFIG left pointing at a real
// cluster must never get a second operator, without leader election, from a development command.
import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import { API_GROUP, API_VERSION, PLURAL, type Wso2Frontend } from '../api/schema.js';
import { LocalControlPlane, packageRoot } from '../localcluster/control-plane.js';
import { RawApplyApi } from '../controller/runtime/apply.js';
import { atLevel } from '../controller/runtime/controller.js';
import { parseLogLevel } from './log-level.js';
import { renderCrd } from '../render/crd.js';
import { createOperator } from '../controller/setup.js';
import { runOperator } from './operator.js';
import { UsageError } from './usage-error.js';

export const usage = `wso2-frontend start [--cluster local|current] [--node kwok|real] [--log-level debug|info|error]

Starts a local control plane on loopback, installs the CRD, applies
examples/apim-active-active.yaml and runs the operator there, until Ctrl-C (or SIGTERM); the
control plane and its temporary directory are removed on every stop. KUBECONFIG is not read.
  --cluster local     the local control plane (default)
  --cluster current   the cluster of the current kubeconfig context instead (KUBECONFIG or
                      ~/.kube/config); prints the context's name first. Install the CRD there
                      first (see README); no leader election: run no other operator there
  --log-level LEVEL   debug (also each reconcile and apply), info (what changed; default) or
                      error (errors only)
  --node real         the local control plane with a node whose pods run for real on this machine
                      (root; containerd, kubelet, kube-proxy), the project's images built from the
                      Dockerfile and WSO2 stand-in pods; applies examples/is-7-managed.yaml and
                      prints a curl through NGINX. Default: kwok (pods that run no container)`;

const examplePath = () => join(packageRoot(), 'examples', 'apim-active-active.yaml');

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
  // Established comes before the API server's watch cache of the new resource is filled; a
  // watch opened before then fails with 429 "storage is (re)initializing" and an informer logs it.
  const path = `/apis/${API_GROUP}/${API_VERSION}/${PLURAL}`;
  while (!(await watchOpens(kubeConfig, path))) await sleep(200);
}

/** Whether a watch of `path` opens (the server then ends it within a second). */
function watchOpens(kubeConfig: k8s.KubeConfig, path: string): Promise<boolean> {
  return new Promise((resolve) => {
    new k8s.Watch(kubeConfig)
      .watch(
        path,
        { resourceVersion: '0', timeoutSeconds: 1 },
        () => undefined,
        (error) => resolve(!error),
      )
      .catch(() => resolve(false));
  });
}

/**
 * SIGINT and SIGTERM, listened to for the whole run: the first asks for a stop, a later one
 * (a second Ctrl-C while the control plane stops) is answered without killing the process
 * half-way, which would leave the control plane's temporary directory behind.
 */
function stopSignals(): { requested: () => boolean; stopRequested: Promise<void> } {
  let requested = false;
  const stopRequested = new Promise<void>((resolve) => {
    const onSignal = () => {
      if (requested) {
        console.log('Still stopping: removing the local control plane and its temporary directory.');
        return;
      }
      requested = true;
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  return { requested: () => requested, stopRequested };
}

/** The operator on the cluster of the current kubeconfig context, named first. */
function runOnCurrentCluster(logLevel: string): Promise<number> {
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromDefault();
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster)
    throw new UsageError('--cluster current: the kubeconfig (KUBECONFIG or ~/.kube/config) has no current context');
  console.log(
    `Using the cluster of kubeconfig context "${kubeConfig.getCurrentContext()}" (${cluster.server}); the CRD must be installed there (see README).`,
  );
  return runOperator(['--log-level', logLevel]);
}

export async function runStart(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      cluster: { type: 'string', default: 'local' },
      'log-level': { type: 'string', default: 'info' },
      node: { type: 'string', default: 'kwok' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length) throw new UsageError(`start takes no arguments, got ${positionals.join(' ')}\n\n${usage}`);
  const logLevel = parseLogLevel(values['log-level']);
  if (values.node !== 'kwok' && values.node !== 'real')
    throw new UsageError(`--node must be kwok (the default) or real, not ${JSON.stringify(values.node)}`);
  if (values.cluster === 'current') {
    if (values.node === 'real')
      throw new UsageError('--node real starts its own cluster: it does not go with --cluster current');
    return runOnCurrentCluster(logLevel);
  }
  if (values.cluster !== 'local')
    throw new UsageError(`--cluster must be local (the default) or current, not ${JSON.stringify(values.cluster)}`);
  if (values.node === 'real') return startOnRealNode(logLevel);

  const signals = stopSignals();
  console.log('Starting a local control plane on loopback (the first run builds it; see README).');
  let plane: LocalControlPlane | undefined;
  let controller: Awaited<ReturnType<typeof createOperator>>['controller'] | undefined;
  try {
    plane = await LocalControlPlane.start();
    if (signals.requested()) return 0;
    const kubeConfig = plane.kubeConfig();
    const objects = RawApplyApi.fromKubeConfig(kubeConfig);
    await installCrd(kubeConfig, FIELD_MANAGER);
    ({ controller } = createOperator({ kubeConfig, resyncPeriodMs: 600_000, logger: atLevel(logLevel) }));
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
    for (let i = 0; i < 120 && !signals.requested() && !(urls = await readyUrls()); i++) await sleep(500);
    if (signals.requested()) return 0;
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
    await signals.stopRequested;
    return 0;
  } catch (error) {
    // Ctrl-C at a terminal signals the control plane's processes too: a start they cut short was stopped, not failed.
    if (signals.requested()) return 0;
    throw error;
  } finally {
    console.log('Stopping the operator and the local control plane...');
    await controller?.stop();
    await plane?.stop();
  }
}

/** `start --node real`: the IS 7 example with WSO2 stand-in pods on a real node, and a curl through its NGINX Service. */
async function startOnRealNode(logLevel: ReturnType<typeof parseLogLevel>): Promise<number> {
  const signals = stopSignals();
  console.log('Starting a local cluster with a real node and building the images (minutes the first time)...');
  const { startRealCluster, onRealNode } = await import('../localcluster/real-cluster.js');
  const cluster = await startRealCluster();
  const kubeConfig = cluster.plane.kubeConfig();
  await installCrd(kubeConfig, FIELD_MANAGER);
  const { controller } = createOperator({ kubeConfig, resyncPeriodMs: 600_000, logger: atLevel(logLevel) });
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
  await signals.stopRequested;
  console.log('Stopping the operator and the local cluster...');
  await controller.stop();
  await cluster.stop();
  return 0;
}
