// The operator's wiring: the controller with its watches (derived from OWNED_KINDS), caches,
// reconciler, Events and metrics; and the process around it (health server, leader election,
// signals). The CLI only parses flags and calls runOperator.
import { hostname } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import * as k8s from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, KIND, PLURAL, type Wso2Frontend } from '../api/schema.js';
import { LABEL, LEASE_NAME, MANAGED_SELECTOR, OWNED_KINDS, podReport } from '../render/ownership.js';
import { EventRecorder } from './events.js';
import { OperatorMetrics, startHealthServer } from './observability.js';
import { FrontendReconciler, inFlightKillDelayMs, type ReconcilePoint } from './reconciler.js';
import {
  Controller,
  atLevel,
  jsonLogger,
  labelKeys,
  objectKey,
  ownerKeys,
  type CacheTransform,
  type Logger,
  type LogLevel,
  type ResourceType,
  type SecondaryWatch,
} from './runtime/controller.js';
import { PooledKubeConfig } from './runtime/kubeconfig.js';
import { LeaderElector } from './runtime/leader.js';
import { resolveImages, type ImageFlags } from './images.js';
import type { OperatorImages } from '../model/images.js';

export const PRIMARY: ResourceType = { group: API_GROUP, version: API_VERSION, plural: PLURAL, kind: KIND };
export const DEFAULT_CONCURRENCY = 8;

/**
 * The user's Secrets (and base product ConfigMaps) are watched only to notice a change (reconcile
 * reads their data from the API server): they are listed and watched as metadata only (the API
 * server never sends their data), and only their names are kept: annotations such as kubectl's
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

/**
 * The names of Secrets a frontend reads but does not own: the ones it names (mode secret), or the
 * ones cert-manager writes for it (mode issuer; all under its `<name>-tls-` prefix, see
 * src/render/cert-manager.ts).
 */
function readsSecret(frontend: Wso2Frontend, name: string): boolean {
  const tls = frontend.spec.tls;
  if (tls?.mode === 'issuer') return name.startsWith(`${frontend.metadata.name}-tls-`);
  if (tls?.mode !== 'secret') return false;
  return [tls.secretName, ...Object.values(frontend.spec.sites ?? {}).map((s) => s.tlsSecretName)].includes(name);
}
/** The users' ConfigMaps, watched by name only: a base product ConfigMap (configMapName) changing concerns the frontends naming it. */
const USER_CONFIG_MAPS = 'ConfigMap/user';

export interface OperatorOptions {
  kubeConfig: k8s.KubeConfig;
  namespaces?: string[];
  resyncPeriodMs?: number;
  identity?: string;
  /** Reconciles running at once (different resources; one resource is never reconciled twice at once). */
  concurrency?: number;
  /** Where log lines go; JSON lines on stderr when omitted. */
  logger?: Logger;
  /** Told when a reconcile passes a ReconcilePoint (fault tests). */
  reached?: (point: ReconcilePoint, frontend: string, inFlight?: Promise<unknown>) => void;
  /** The images it runs for frontends; this release's when omitted. */
  images?: OperatorImages;
}

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
  const events = new EventRecorder(kubeConfig, identity, {
    onError: (error) => log('error', 'recording an event failed', { error: String(error) }),
  });
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
    onSites: (namespace, name, sites) => metrics!.setSites(namespace, name, sites),
    onFailed: (namespace, name, reason) => metrics!.observeReconcileError(namespace, name, reason),
    onGone: (namespace, name) => metrics!.forgetReconcileErrors(namespace, name),
    onConditions: (namespace, name, conditions) => metrics!.setConditions(namespace, name, conditions),
    ...(options.reached ? { reached: options.reached } : {}),
    ...(options.images ? { images: options.images } : {}),
  });
  // A user's Secret changing (a cert-manager renewal, a truststore password Secret created) concerns those reading it.
  const userSecret = (secret: k8s.KubernetesObject) =>
    controller!
      .list()
      .filter(
        (f) =>
          f.metadata.namespace === secret.metadata?.namespace &&
          (readsSecret(f, secret.metadata?.name ?? '') ||
            f.spec.backends?.managed?.truststorePassword?.secretName === secret.metadata?.name),
      )
      .map(objectKey);
  // An edit of a base product ConfigMap rolls the WSO2 pods at once, not at the next resync.
  const userConfigMap = (configMap: k8s.KubernetesObject) =>
    controller!
      .list()
      .filter(
        (f) =>
          f.metadata.namespace === configMap.metadata?.namespace &&
          f.spec.backends?.managed?.configMapName === configMap.metadata?.name,
      )
      .map(objectKey);
  const owned = OWNED_KINDS.filter((kind) => !kind.optional).map(
    ({ group, version, plural, kind, trim }): SecondaryWatch => ({
      resource: { group, version, plural, kind },
      primaryKeys: ownerKeys(PRIMARY),
      labelSelector: MANAGED_SELECTOR,
      ...(trim ? { transform: trim } : {}),
    }),
  );
  controller = new Controller<Wso2Frontend>({
    kubeConfig,
    primary: PRIMARY,
    secondaries: [
      ...owned,
      {
        resource: { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' },
        cacheName: USER_SECRETS,
        primaryKeys: userSecret,
        transform: nameOnly,
        metadataOnly: true,
      },
      {
        resource: { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap' },
        cacheName: USER_CONFIG_MAPS,
        primaryKeys: userConfigMap,
        transform: nameOnly,
        metadataOnly: true,
      },
      // EndpointSlices carry their Service's labels, so the instance label names the frontend.
      {
        resource: { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', kind: 'EndpointSlice' },
        primaryKeys: labelKeys(LABEL.instance),
        labelSelector: MANAGED_SELECTOR,
      },
      // The NGINX pods carry their agents' reports (ConfigurationServed), summed up on the status;
      // the container states of every pod say why one is not ready.
      {
        resource: { group: '', version: 'v1', plural: 'pods', kind: 'Pod' },
        primaryKeys: labelKeys(LABEL.instance),
        labelSelector: MANAGED_SELECTOR,
        transform: podReport,
      },
    ],
    reconcile: (key) => reconciler.reconcile(key),
    onReconciled: (result, seconds) => metrics!.observeReconcile(result, seconds),
    ...(options.namespaces?.length ? { namespaces: options.namespaces } : {}),
    ...(options.resyncPeriodMs ? { resyncPeriodMs: options.resyncPeriodMs } : {}),
    concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
    logger: log,
    ...(ownPool ? { afterStop: () => kubeConfig.close() } : {}),
  });
  metrics = new OperatorMetrics(
    () => controller.stats(),
    Date.now,
    () => kubeConfig.requests,
  );
  return { controller, metrics };
}

export interface RunOptions {
  namespaces: string[];
  healthPort: number;
  leaderElect: boolean;
  leaseNamespace?: string;
  resyncPeriodMs: number;
  concurrency: number;
  /** The least important lines logged: debug (each reconcile and apply), info (what changed), error. */
  logLevel: LogLevel;
  /** Test-only (TEST_KILL_AT_ENV): the process kills itself with SIGKILL when a reconcile first passes this point. */
  killAt?: ReconcilePoint;
  /** --operator-image, --nginx-image, --image-pull-secret. */
  images: ImageFlags;
}

/**
 * Kills this process, with no chance to clean up (as an OOM kill or a node loss does), at
 * `point`; at an in-flight point after a random delay, or when the answer arrives if sooner: its
 * handler is registered before the reconcile's own, so the reconcile never acts on the answer.
 */
function killAt(
  point: ReconcilePoint,
  log: Logger,
): (reached: ReconcilePoint, frontend: string, inFlight?: Promise<unknown>) => void {
  let killing = false;
  return (reached, frontend, inFlight) => {
    if (reached !== point || killing) return;
    killing = true;
    const kill = () => process.kill(process.pid, 'SIGKILL');
    if (!inFlight) {
      // Written synchronously (stderr is a pipe or a file), so the test sees where it stopped.
      log('error', 'test kill point reached: SIGKILL', { point, frontend });
      kill();
      return;
    }
    const delayMs = inFlightKillDelayMs(Math.random());
    log('error', 'test kill point reached: SIGKILL', { point, frontend, delayMs });
    setTimeout(kill, delayMs);
    inFlight.then(kill, kill);
  };
}

/** Runs the operator with the current kubeconfig until SIGINT or SIGTERM; the exit code (1: lost the lease). */
export async function runOperator(options: RunOptions): Promise<number> {
  // Listened to from the first line: a signal while the operator starts (reading its images,
  // starting the health server) asks for a stop rather than killing the process. Listeners stay
  // for the whole shutdown: a second signal must not kill the process before the lease is released.
  let requestStop!: () => void;
  const stopRequested = new Promise<void>((resolve) => (requestStop = resolve));
  process.on('SIGINT', () => requestStop());
  process.on('SIGTERM', () => requestStop());
  const kubeConfig = new PooledKubeConfig();
  kubeConfig.loadFromDefault();
  const identity = `${hostname()}-${process.pid}`;
  const log = atLevel(options.logLevel);
  const podName = process.env.POD_NAME;
  const podNamespace = process.env.POD_NAMESPACE;
  const images = await resolveImages(
    options.images,
    podName && podNamespace ? { name: podName, namespace: podNamespace } : undefined,
    kubeConfig.makeApiClient(k8s.CoreV1Api),
  );
  log('info', 'images for frontends', { ...images });
  const { controller, metrics } = createOperator({
    images,
    kubeConfig,
    namespaces: options.namespaces,
    resyncPeriodMs: options.resyncPeriodMs,
    identity,
    concurrency: options.concurrency,
    logger: log,
    ...(options.killAt ? { reached: killAt(options.killAt, log) } : {}),
  });
  let ready = false;
  const health = await startHealthServer({
    port: options.healthPort,
    metrics,
    isLive: () => true,
    isReady: () => ready,
  });
  // For the benchmark's post-GC heap figures: only a process started with --expose-gc has gc(),
  // and only who may signal the process can ask; nothing on the network can.
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc)
    process.on('SIGUSR2', () => {
      gc();
      metrics.observeHeapAfterGc(getHeapStatistics().used_heap_size);
    });
  let stopping = false;
  let lostLeadership = false;

  let elector: LeaderElector | undefined;
  if (options.leaderElect) {
    const namespace = options.leaseNamespace ?? process.env.POD_NAMESPACE ?? 'wso2-frontend-system';
    elector = new LeaderElector({
      kubeConfig,
      namespace,
      leaseName: LEASE_NAME,
      logger: log,
      identity,
      // Never after a stop was requested: the controller is draining or stopped for good.
      onStartedLeading: () => {
        if (stopping || lostLeadership) return;
        metrics.setLeading(true);
        void controller.start();
      },
      // Unless we are shutting down, another replica may lead now: stop at once rather than
      // reconcile beside it, and exit non-zero so the pod is restarted as a fresh candidate.
      onStoppedLeading: () => {
        if (stopping) return;
        lostLeadership = true;
        metrics.setLeading(false);
        requestStop();
      },
    });
    elector.start();
    ready = true; // a standby is ready: it is waiting for the lease
  } else {
    // A SIGTERM while the caches fill (an API server that does not answer) still stops it.
    await Promise.race([controller.start().then(() => metrics.setLeading(true)), stopRequested]);
    ready = true;
  }
  log('info', 'operator started', { identity, healthPort: health.port, leaderElection: options.leaderElect });
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
