// `wso2-frontend operator`: watches Wso2Frontends and reconciles them, against the current
// kubeconfig or in-cluster, with health and metrics endpoints and optional leader election.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, KIND, PLURAL, type Wso2Frontend } from '../api/schema.js';
import { EventRecorder } from '../controller/events.js';
import { OperatorMetrics, startHealthServer } from '../controller/observability.js';
import { FrontendReconciler } from '../controller/reconciler.js';
import {
  Controller,
  jsonLogger,
  labelKeys,
  objectKey,
  ownerKeys,
  type CacheTransform,
  type Logger,
  type ResourceType,
  type SecondaryWatch,
} from '../controller/runtime/controller.js';
import { PooledKubeConfig } from '../controller/runtime/kubeconfig.js';
import { LeaderElector } from '../controller/runtime/leader.js';

export const usage = `wso2-frontend operator [--namespace NS]... [--health-port N] [--leader-elect [--lease-namespace NS]] [--resync-minutes N] [--concurrency N] [--log-level info|error]

Reconciles every Wso2Frontend (in all namespaces, or the ones named) using the current
kubeconfig, or the in-cluster service account. Serves /healthz, /readyz and /metrics.`;

export const PRIMARY: ResourceType = { group: API_GROUP, version: API_VERSION, plural: PLURAL, kind: KIND };
/** Everything the operator creates carries this label, so its informers watch nothing else. */
const MANAGED = 'app.kubernetes.io/managed-by=wso2-frontend-operator';
const owned = (
  group: string,
  version: string,
  plural: string,
  kind: string,
  transform?: CacheTransform,
): SecondaryWatch => ({
  resource: { group, version, plural, kind },
  primaryKeys: ownerKeys(PRIMARY),
  labelSelector: MANAGED,
  ...(transform ? { transform } : {}),
});
/** Reconcile reads only the names, owners and versions of its ConfigMaps: the rendered files stay out of the cache. */
const withoutData: CacheTransform = (object) => {
  const { data: _data, binaryData: _binary, ...rest } = object as k8s.V1ConfigMap;
  return rest;
};
/** Reconcile reads a workload's replicas, generation, status and pod-template annotations, never its containers. */
const withoutPodSpec: CacheTransform = (object) => {
  const workload = object as k8s.V1Deployment;
  if (workload.spec?.template?.spec) workload.spec.template.spec = { containers: [] };
  return workload;
};
/**
 * The user's Secrets are watched only to notice a renewal (reconcile reads their data from the
 * API server), so only their names are kept: annotations such as kubectl's
 * last-applied-configuration would otherwise keep every Secret's data in memory.
 */
const nameOnly: CacheTransform = (object) => ({
  apiVersion: object.apiVersion,
  kind: object.kind,
  metadata: {
    name: object.metadata?.name,
    namespace: object.metadata?.namespace,
    uid: object.metadata?.uid,
    resourceVersion: object.metadata?.resourceVersion,
  },
});
const USER_SECRETS = 'Secret/user';

export interface OperatorOptions {
  kubeConfig: k8s.KubeConfig;
  namespaces?: string[];
  resyncPeriodMs?: number;
  identity?: string;
  /** Reconciles running at once (different resources; one resource is never reconciled twice at once). */
  concurrency?: number;
  /** Where log lines go; JSON lines on stderr when omitted. */
  logger?: Logger;
}

export const DEFAULT_CONCURRENCY = 8;

/** The controller with its reconciler, ready to start (used by the command and by tests). */
export function createOperator(options: OperatorOptions): {
  controller: Controller<Wso2Frontend>;
  metrics: OperatorMetrics;
} {
  const identity = options.identity ?? `${hostname()}-${process.pid}`;
  // One connection pool for every request and watch; closed with the controller when it is ours.
  const ownPool = !(options.kubeConfig instanceof PooledKubeConfig);
  const kubeConfig =
    options.kubeConfig instanceof PooledKubeConfig ? options.kubeConfig : PooledKubeConfig.from(options.kubeConfig);
  const log = options.logger ?? jsonLogger;
  const events = new EventRecorder(kubeConfig, identity, (error) =>
    log('error', 'recording an event failed', { error: String(error) }),
  );
  let controller: Controller<Wso2Frontend> | undefined;
  let metrics: OperatorMetrics | undefined;
  const reconciler = new FrontendReconciler({
    kubeConfig,
    get: (key) => controller!.get(key),
    cache: {
      get: (kind, namespace, name) => controller!.cached(kind, namespace, name),
      list: (kind, namespace) => controller!.cachedList(kind, namespace),
      watches: (kind, namespace) => controller!.watches(kind, namespace),
    },
    events,
    log,
    onCertificates: (namespace, name, notAfter) => metrics!.setCertificates(namespace, name, notAfter),
  });
  // A user's TLS Secret changing (a cert-manager renewal) concerns every frontend that names it.
  const userSecret = (secret: k8s.KubernetesObject) =>
    controller!
      .list()
      .filter(
        (f) =>
          f.metadata.namespace === secret.metadata?.namespace &&
          f.spec.tls?.mode === 'secret' &&
          [f.spec.tls.secretName, ...Object.values(f.spec.sites ?? {}).map((s) => s.tlsSecretName)].includes(
            secret.metadata?.name,
          ),
      )
      .map(objectKey);
  controller = new Controller<Wso2Frontend>({
    kubeConfig,
    primary: PRIMARY,
    secondaries: [
      owned('', 'v1', 'configmaps', 'ConfigMap', withoutData),
      owned('', 'v1', 'secrets', 'Secret'),
      {
        resource: { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' },
        cacheName: USER_SECRETS,
        primaryKeys: userSecret,
        transform: nameOnly,
      },
      owned('', 'v1', 'services', 'Service'),
      owned('apps', 'v1', 'deployments', 'Deployment', withoutPodSpec),
      owned('apps', 'v1', 'statefulsets', 'StatefulSet', withoutPodSpec),
      owned('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget'),
      // EndpointSlices carry their Service's labels, so the instance label names the frontend.
      {
        resource: { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', kind: 'EndpointSlice' },
        primaryKeys: labelKeys('app.kubernetes.io/instance'),
        labelSelector: MANAGED,
      },
    ],
    reconcile: async (key) => {
      const started = process.hrtime.bigint();
      try {
        const result = await reconciler.reconcile(key);
        metrics!.observeReconcile(
          result?.requeueAfterMs ? 'requeue' : 'success',
          Number(process.hrtime.bigint() - started) / 1e9,
        );
        return result;
      } catch (error) {
        metrics!.observeReconcile('error', Number(process.hrtime.bigint() - started) / 1e9);
        throw error;
      }
    },
    ...(options.namespaces?.length ? { namespaces: options.namespaces } : {}),
    ...(options.resyncPeriodMs ? { resyncPeriodMs: options.resyncPeriodMs } : {}),
    concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
    logger: log,
    ...(ownPool ? { afterStop: () => kubeConfig.close() } : {}),
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
      concurrency: { type: 'string', default: String(DEFAULT_CONCURRENCY) },
      'log-level': { type: 'string', default: 'info' },
    },
    strict: true,
  });
  const kubeConfig = new PooledKubeConfig();
  kubeConfig.loadFromDefault();
  const identity = `${hostname()}-${process.pid}`;
  const resyncMinutes = Number(values['resync-minutes']);
  if (!(resyncMinutes > 0)) {
    process.stderr.write(
      `--resync-minutes must be a positive number (fractions allowed), got ${values['resync-minutes']}\n`,
    );
    return 2;
  }
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    process.stderr.write(`--concurrency must be a whole number from 1 to 64, got ${values.concurrency}\n`);
    return 2;
  }
  const healthPort = Number(values['health-port']);
  if (!Number.isInteger(healthPort) || healthPort < 0 || healthPort > 65535) {
    process.stderr.write(
      `--health-port must be a port number from 0 (any free port) to 65535, got ${values['health-port']}\n`,
    );
    return 2;
  }
  const logLevel = values['log-level'];
  if (logLevel !== 'info' && logLevel !== 'error') {
    process.stderr.write(`--log-level must be info (everything) or error (errors only), got ${logLevel}\n`);
    return 2;
  }
  const log: Logger =
    logLevel === 'error' ? (level, ...rest) => level === 'error' && jsonLogger(level, ...rest) : jsonLogger;
  const { controller, metrics } = createOperator({
    kubeConfig,
    namespaces: values.namespace ?? [],
    resyncPeriodMs: resyncMinutes * 60_000,
    identity,
    concurrency,
    logger: log,
  });
  let ready = false;
  const health = await startHealthServer({ port: healthPort, metrics, isLive: () => true, isReady: () => ready });
  // Listeners stay for the whole shutdown: a second signal must not kill the process before the lease is released.
  let requestStop!: () => void;
  const stopRequested = new Promise<void>((resolve) => (requestStop = resolve));
  process.on('SIGINT', () => requestStop());
  process.on('SIGTERM', () => requestStop());
  let stopping = false;
  let lostLeadership = false;

  let elector: LeaderElector | undefined;
  if (values['leader-elect']) {
    const namespace = values['lease-namespace'] ?? process.env.POD_NAMESPACE ?? 'wso2-frontend-system';
    elector = new LeaderElector({
      kubeConfig,
      namespace,
      leaseName: 'wso2-frontend-operator',
      logger: log,
      identity,
      // Never after a stop was requested: the controller is draining or stopped for good.
      onStartedLeading: () => {
        if (!stopping && !lostLeadership) void controller.start();
      },
      // Unless we are shutting down, another replica may lead now: stop at once rather than
      // reconcile beside it, and exit non-zero so the pod is restarted as a fresh candidate.
      onStoppedLeading: () => {
        if (stopping) return;
        lostLeadership = true;
        requestStop();
      },
    });
    elector.start();
    ready = true; // a standby is ready: it is waiting for the lease
  } else {
    // A SIGTERM while the caches fill (an API server that does not answer) still stops it.
    await Promise.race([controller.start(), stopRequested]);
    ready = true;
  }
  log('info', 'operator started', { identity, healthPort: health.port, leaderElection: values['leader-elect'] });
  await stopRequested;
  stopping = true;
  log('info', 'stopping: finishing reconciles in flight', {});
  await controller.stop();
  await elector?.stop();
  await health.close();
  await kubeConfig.close();
  if (lostLeadership) log('error', 'exiting: lost the leader-election lease', {});
  return lostLeadership ? 1 : 0;
}
