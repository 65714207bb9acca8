// `wso2-frontend operator`: watches Wso2Frontends and reconciles them, against the current
// kubeconfig or in-cluster, with health and metrics endpoints and optional leader election.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, KIND, PLURAL, type Wso2Frontend } from '../api/schema.js';
import { EventRecorder } from '../controller/events.js';
import { OperatorMetrics, startHealthServer } from '../controller/observability.js';
import { FrontendReconciler } from '../controller/reconciler.js';
import { Controller, jsonLogger, labelKeys, objectKey, ownerKeys, type ResourceType } from '../controller/runtime/controller.js';
import { LeaderElector } from '../controller/runtime/leader.js';

export const usage = `wso2-frontend operator [--namespace NS]... [--health-port N] [--leader-elect [--lease-namespace NS]] [--resync-minutes N]

Reconciles every Wso2Frontend (in all namespaces, or the ones named) using the current
kubeconfig, or the in-cluster service account. Serves /healthz, /readyz and /metrics.`;

export const PRIMARY: ResourceType = { group: API_GROUP, version: API_VERSION, plural: PLURAL, kind: KIND };
const owned = (group: string, version: string, plural: string, kind: string) => ({ resource: { group, version, plural, kind }, primaryKeys: ownerKeys(PRIMARY) });

export interface OperatorOptions {
  kubeConfig: k8s.KubeConfig;
  namespaces?: string[];
  resyncPeriodMs?: number;
  identity?: string;
}

/** The controller with its reconciler, ready to start (used by the command and by tests). */
export function createOperator(options: OperatorOptions): { controller: Controller<Wso2Frontend>; metrics: OperatorMetrics } {
  const identity = options.identity ?? `${hostname()}-${process.pid}`;
  const log = jsonLogger;
  const events = new EventRecorder(options.kubeConfig, identity, (error) => log('error', 'recording an event failed', { error: String(error) }));
  let controller: Controller<Wso2Frontend> | undefined;
  let metrics: OperatorMetrics | undefined;
  const reconciler = new FrontendReconciler({ kubeConfig: options.kubeConfig, get: (key) => controller!.get(key), events, log });
  // A user's TLS Secret changing (a cert-manager renewal) concerns every frontend that names it.
  const userSecret = (secret: k8s.KubernetesObject) =>
    controller!
      .list()
      .filter((f) => f.metadata.namespace === secret.metadata?.namespace && f.spec.tls?.mode === 'secret' && [f.spec.tls.secretName, ...Object.values(f.spec.sites ?? {}).map((s) => s.tlsSecretName)].includes(secret.metadata?.name))
      .map(objectKey);
  controller = new Controller<Wso2Frontend>({
    kubeConfig: options.kubeConfig,
    primary: PRIMARY,
    secondaries: [
      owned('', 'v1', 'configmaps', 'ConfigMap'),
      { resource: { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' }, primaryKeys: (s) => [...ownerKeys(PRIMARY)(s), ...userSecret(s)] },
      owned('', 'v1', 'services', 'Service'),
      owned('apps', 'v1', 'deployments', 'Deployment'),
      owned('apps', 'v1', 'statefulsets', 'StatefulSet'),
      // EndpointSlices carry their Service's labels, so the instance label names the frontend.
      { resource: { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', kind: 'EndpointSlice' }, primaryKeys: labelKeys('app.kubernetes.io/instance') },
    ],
    reconcile: async (key) => {
      const started = process.hrtime.bigint();
      try {
        const result = await reconciler.reconcile(key);
        metrics!.observeReconcile(result?.requeueAfterMs ? 'requeue' : 'success', Number(process.hrtime.bigint() - started) / 1e9);
        return result;
      } catch (error) {
        metrics!.observeReconcile('error', Number(process.hrtime.bigint() - started) / 1e9);
        throw error;
      }
    },
    ...(options.namespaces?.length ? { namespaces: options.namespaces } : {}),
    ...(options.resyncPeriodMs ? { resyncPeriodMs: options.resyncPeriodMs } : {}),
    logger: log,
  });
  metrics = new OperatorMetrics(() => controller!.stats());
  return { controller, metrics };
}

export async function runOperator(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      namespace: { type: 'string', multiple: true },
      'health-port': { type: 'string', default: '8081' },
      'leader-elect': { type: 'boolean', default: false },
      'lease-namespace': { type: 'string' },
      'resync-minutes': { type: 'string', default: '10' },
    },
    strict: true,
  });
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromDefault();
  const identity = `${hostname()}-${process.pid}`;
  const { controller, metrics } = createOperator({ kubeConfig, namespaces: values.namespace ?? [], resyncPeriodMs: Number(values['resync-minutes']) * 60_000, identity });
  let ready = false;
  const health = await startHealthServer({ port: Number(values['health-port']), metrics, isLive: () => true, isReady: () => ready });
  const stopRequested = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });

  let elector: LeaderElector | undefined;
  if (values['leader-elect']) {
    const namespace = values['lease-namespace'] ?? process.env.POD_NAMESPACE ?? 'wso2-frontend-system';
    elector = new LeaderElector({
      kubeConfig,
      namespace,
      leaseName: 'wso2-frontend-operator',
      identity,
      onStartedLeading: () => void controller.start(),
      // Another replica may lead now: stop at once rather than reconcile beside it.
      onStoppedLeading: () => process.kill(process.pid, 'SIGTERM'),
    });
    elector.start();
    ready = true; // a standby is ready: it is waiting for the lease
  } else {
    await controller.start();
    ready = true;
  }
  jsonLogger('info', 'operator started', { identity, healthPort: health.port, leaderElection: values['leader-elect'] });
  await stopRequested;
  jsonLogger('info', 'stopping: finishing reconciles in flight', {});
  await controller.stop();
  await elector?.stop();
  await health.close();
  return 0;
}
