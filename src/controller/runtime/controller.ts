// The controller loop of controller-runtime / kube-rs on client-node informers: watch events of
// the primary kind (and of secondary kinds mapped to their primary) enqueue keys, and a
// reconcile function per key returns done, requeue-after or throws (retried with backoff).
// Informers are restarted after any watch or list error, so a controller never gives up.
import * as k8s from '@kubernetes/client-node';
import {
  CONNECTION_CHECK_TIMEOUT_MS,
  METADATA_LIST_ACCEPT,
  METADATA_WATCH_ACCEPT,
  PooledKubeConfig,
  withAccept,
} from './kubeconfig.js';
import { WorkQueue, type WorkQueueStats, type WorkResult } from './workqueue.js';

/** A served resource; `group` is '' for the core API (ConfigMaps, Secrets, ...). */
export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  /** Needed to list through the generic object API. */
  kind: string;
}

/**
 * Shrinks an object before it is cached (controller-runtime's cache transforms): the cache holds
 * every watched object for the life of the process, so what reconcile never reads is dropped.
 * Must return a new or the same object; it sees each listed or watched object once.
 */
export type CacheTransform = (object: k8s.KubernetesObject) => k8s.KubernetesObject;

/** Drops metadata.managedFields, which only the API server's apply logic reads. */
export const stripManagedFields: CacheTransform = (object) => {
  if (object.metadata?.managedFields) delete object.metadata.managedFields;
  return object;
};

/** A secondary kind and the keys of the primaries a change to one of its objects affects. */
export interface SecondaryWatch {
  resource: ResourceType;
  primaryKeys: (object: k8s.KubernetesObject) => string[];
  /** Watch only objects with these labels (e.g. the ones the operator manages). */
  labelSelector?: string;
  /** Applied to every object before it is cached; managed fields are always dropped. */
  transform?: CacheTransform;
  /** The name reconcile reads this cache by (see Controller.cached); the kind when omitted. */
  cacheName?: string;
  /**
   * List and watch metadata only (PartialObjectMetadata, as client-go's metadata informers do):
   * the API server never sends the objects' data, e.g. for Secrets watched only to notice a change.
   */
  metadataOnly?: boolean;
}

export type Reconcile = (key: string) => WorkResult | Promise<WorkResult>;

/** How a reconcile ended: done, asked to run again later, or failed (retried with backoff). */
export type ReconcileResult = 'success' | 'error' | 'requeue';

/** debug: every reconcile and apply; info: what changed; error: failures only. */
export const LOG_LEVELS = ['debug', 'info', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type Logger = (level: LogLevel, message: string, fields: Record<string, unknown>) => void;

/** One JSON line per message on stderr, the format log collectors parse without configuration. */
export const jsonLogger: Logger = (level, message, fields) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, message, ...fields })}\n`);
};

/** `logger`, keeping only the lines at `minimum` or above. */
export function atLevel(minimum: LogLevel, logger: Logger = jsonLogger): Logger {
  const keep = LOG_LEVELS.indexOf(minimum);
  return (level, message, fields) => {
    if (LOG_LEVELS.indexOf(level) >= keep) logger(level, message, fields);
  };
}

export interface ControllerOptions {
  kubeConfig: k8s.KubeConfig;
  primary: ResourceType;
  secondaries?: SecondaryWatch[];
  /** Watch only primaries with these labels. */
  primaryLabelSelector?: string;
  reconcile: Reconcile;
  /** Watch only these namespaces; all namespaces when omitted or empty. */
  namespaces?: string[];
  /** Re-enqueue every cached primary this often, to repair drift nobody was told about. */
  resyncPeriodMs?: number;
  concurrency?: number;
  /** Backoff of failed reconciles (defaults: 100 ms doubling up to 5 min). */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Backoff of informer restarts after watch errors (defaults: 200 ms doubling up to 30 s). */
  watchRestartBaseDelayMs?: number;
  watchRestartMaxDelayMs?: number;
  logger?: Logger;
  /** Runs at the end of stop(), e.g. to close the connections the controller used. */
  afterStop?: () => Promise<void>;
  /** Told how each reconcile ended and how long it took (for metrics). */
  onReconciled?: (result: ReconcileResult, seconds: number) => void;
}

/** The work queue key of an object: "namespace/name", or "name" for cluster-scoped objects. */
export function objectKey(object: k8s.KubernetesObject): string {
  const { namespace, name } = object.metadata ?? {};
  return namespace ? `${namespace}/${name}` : `${name}`;
}

export function parseKey(key: string): { namespace?: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** Maps an object to the primaries of `primary`'s kind named in its owner references. */
export function ownerKeys(primary: ResourceType): (object: k8s.KubernetesObject) => string[] {
  const apiVersion = apiVersionOf(primary);
  return (object) =>
    (object.metadata?.ownerReferences ?? [])
      .filter((owner) => owner.apiVersion === apiVersion && owner.kind === primary.kind)
      .map((owner) => objectKey({ metadata: { namespace: object.metadata?.namespace, name: owner.name } }));
}

/** Maps an object to the primary in its own namespace whose name is the value of `label`. */
export function labelKeys(label: string): (object: k8s.KubernetesObject) => string[] {
  return (object) => {
    const name = object.metadata?.labels?.[label];
    return name ? [objectKey({ metadata: { namespace: object.metadata?.namespace, name } })] : [];
  };
}

function apiVersionOf(resource: ResourceType): string {
  return resource.group ? `${resource.group}/${resource.version}` : resource.version;
}

function watchPath(resource: ResourceType, namespace: string | undefined): string {
  const base = resource.group ? `/apis/${resource.group}/${resource.version}` : `/api/${resource.version}`;
  return namespace ? `${base}/namespaces/${namespace}/${resource.plural}` : `${base}/${resource.plural}`;
}

/** An informer that restarts itself, with backoff, whenever its list or watch fails. */
export class RestartingInformer {
  readonly informer: k8s.Informer<k8s.KubernetesObject> & k8s.ObjectCache<k8s.KubernetesObject>;
  private consecutiveFailures = 0;
  private errors = 0;
  private cancelRestart: (() => void) | undefined;
  private stopped = false;
  private starting: Promise<void> | undefined;
  private closed = false;
  private markSynced!: () => void;
  /** Resolves once a first list has filled the cache. */
  readonly synced = new Promise<void>((resolve) => (this.markSynced = resolve));

  constructor(
    kubeConfig: k8s.KubeConfig,
    readonly resource: ResourceType,
    readonly namespace: string | undefined,
    readonly cacheName: string,
    private readonly onChange: (object: k8s.KubernetesObject) => void,
    private readonly restartDelay: (failures: number) => number,
    private readonly log: Logger,
    labelSelector?: string,
    transform?: CacheTransform,
    /** E.g. `metadata.name=x`: a watch of one object, which RBAC can limit by resourceNames. */
    fieldSelector?: string,
    metadataOnly = false,
  ) {
    const objects = k8s.KubernetesObjectApi.makeApiClient(
      metadataOnly ? withAccept(kubeConfig, METADATA_LIST_ACCEPT) : kubeConfig,
    );
    const shrink = (object: k8s.KubernetesObject) => stripManagedFields(transform ? transform(object) : object);
    const list = async () => {
      const result = await objects.list<k8s.KubernetesObject>(
        apiVersionOf(resource),
        resource.kind,
        namespace,
        undefined,
        undefined,
        undefined,
        fieldSelector,
        labelSelector,
      );
      // An empty PartialObjectMetadataList comes with `items: null`.
      return { ...result, items: (result.items ?? []).map(shrink) };
    };
    // makeInformer, with the watched objects passed through `shrink` before the cache sees them.
    const watch = new k8s.Watch(metadataOnly ? withAccept(kubeConfig, METADATA_WATCH_ACCEPT) : kubeConfig);
    const shrinkingWatch = {
      watch: (
        path: string,
        query: Record<string, string | number | boolean | undefined>,
        callback: (phase: string, object: unknown, raw?: unknown) => void,
        done: (error: unknown) => void,
      ) =>
        // Bookmarks keep the resourceVersion of a quiet, label-selected watch current, so a
        // reconnect resumes instead of relisting after a 410.
        watch.watch(
          path,
          { ...query, allowWatchBookmarks: true },
          (phase, object, raw) =>
            callback(
              phase,
              phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED'
                ? shrink(object as k8s.KubernetesObject)
                : object,
              raw,
            ),
          (error: unknown) => {
            // Nothing came for client-node's 30 s: a quiet watch, or a dead connection under it.
            if ((error as { name?: unknown } | null)?.name === 'TimeoutError' && kubeConfig instanceof PooledKubeConfig)
              void kubeConfig.checkConnections().then((closed) => {
                if (closed)
                  this.log('error', 'the API server did not answer on its pooled connection; opening a new one', {
                    ...this.describe(),
                    waitedMs: CONNECTION_CHECK_TIMEOUT_MS,
                  });
              });
            done(error);
          },
        ),
    } as k8s.Watch;
    this.informer = new k8s.ListWatch(
      watchPath(resource, namespace),
      shrinkingWatch,
      list,
      false,
      labelSelector,
      fieldSelector,
    );
    for (const verb of [k8s.ADD, k8s.UPDATE, k8s.DELETE] as const)
      this.informer.on(verb, (object) => this.deliver(object));
    this.informer.on(k8s.ERROR, (error: unknown) => this.restartLater(error));
  }

  /** Resolves once the first list is cached and the watch is open (or the first attempt failed and a restart is scheduled). */
  start(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.stopped = false;
    this.starting = this.startOnce();
    return this.starting;
  }

  /** Stops for good: a later start() does nothing. */
  async stop(): Promise<void> {
    this.closed = true;
    this.stopped = true;
    this.cancelRestart?.();
    this.cancelRestart = undefined;
    // ListWatch.stop cannot abort a watch whose request is still being opened: let it open first.
    await this.starting;
    await this.informer.stop();
  }

  private async startOnce(): Promise<void> {
    const errorsBefore = this.errors;
    try {
      await this.informer.start();
    } catch (error) {
      this.restartLater(error);
    }
    if (this.errors === errorsBefore) {
      this.consecutiveFailures = 0;
      this.markSynced();
    }
  }

  // ListWatch swallows exceptions thrown by handlers while parsing watch lines; catching here
  // makes a failing mapping function visible instead of silently losing the event.
  private deliver(object: k8s.KubernetesObject): void {
    if (this.stopped) return;
    try {
      this.onChange(object);
    } catch (error) {
      this.log('error', 'event handler failed', {
        ...this.describe(),
        object: objectKey(object),
        error: String(error),
      });
    }
  }

  private restartLater(error: unknown): void {
    this.errors++;
    if (this.stopped || this.cancelRestart) return;
    const delayMs = this.restartDelay(this.consecutiveFailures++);
    this.log('error', 'watch failed; restarting the informer', {
      ...this.describe(),
      error: String(error),
      retryInMs: delayMs,
    });
    const timer = setTimeout(() => {
      this.cancelRestart = undefined;
      if (!this.stopped) void this.start();
    }, delayMs);
    this.cancelRestart = () => clearTimeout(timer);
  }

  private describe(): Record<string, unknown> {
    return { resource: watchPath(this.resource, this.namespace) };
  }
}

export class Controller<Primary extends k8s.KubernetesObject = k8s.KubernetesObject> {
  private readonly queue: WorkQueue;
  private readonly primaries: RestartingInformer[];
  private readonly secondaries: RestartingInformer[];
  private readonly log: Logger;
  private resyncTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private markStopped!: () => void;
  private readonly stopped = new Promise<void>((resolve) => (this.markStopped = resolve));
  /** Until the primaries are listed, a secondary's event has no primary to map to (the first list enqueues them all anyway). */
  private primariesListed = false;

  constructor(private readonly options: ControllerOptions) {
    this.log = options.logger ?? jsonLogger;
    this.queue = new WorkQueue((key) => this.timedReconcile(key), {
      concurrency: options.concurrency,
      baseDelayMs: options.retryBaseDelayMs,
      maxDelayMs: options.retryMaxDelayMs,
      onError: (key, error, retryInMs) =>
        this.log('error', 'reconcile failed', { key, error: String(error), retryInMs }),
    });
    const scopes = options.namespaces?.length ? options.namespaces : [undefined];
    const base = options.watchRestartBaseDelayMs ?? 200;
    const max = options.watchRestartMaxDelayMs ?? 30_000;
    const restartDelay = (failures: number) => Math.min(base * 2 ** failures, max);
    const informer = (
      resource: ResourceType,
      namespace: string | undefined,
      onChange: (object: k8s.KubernetesObject) => void,
      labelSelector?: string,
      transform?: CacheTransform,
      cacheName?: string,
      metadataOnly?: boolean,
    ) =>
      new RestartingInformer(
        options.kubeConfig,
        resource,
        namespace,
        cacheName ?? resource.kind,
        onChange,
        restartDelay,
        this.log,
        labelSelector,
        transform,
        undefined,
        metadataOnly,
      );

    this.primaries = scopes.map((namespace) =>
      informer(options.primary, namespace, (object) => this.queue.add(objectKey(object)), options.primaryLabelSelector),
    );
    this.secondaries = (options.secondaries ?? []).flatMap((watch) =>
      scopes.map((namespace) =>
        informer(
          watch.resource,
          namespace,
          (object) => {
            if (!this.primariesListed) return;
            for (const key of watch.primaryKeys(object)) this.queue.add(key);
          },
          watch.labelSelector,
          watch.transform,
          watch.cacheName,
          watch.metadataOnly,
        ),
      ),
    );
  }

  /**
   * Starts the secondary informers and waits until their caches are filled, then the primary
   * informers (their first lists enqueue every existing primary) and the resync. A reconcile
   * therefore never reads a secondary cache that has not been listed yet.
   */
  async start(): Promise<void> {
    if (this.stopping) return;
    await Promise.all(this.secondaries.map((informer) => informer.start()));
    await Promise.race([Promise.all(this.secondaries.map((informer) => informer.synced)), this.stopped]);
    if (this.stopping) return;
    await Promise.all(this.primaries.map((informer) => informer.start()));
    this.primariesListed = true;
    const period = this.options.resyncPeriodMs;
    if (period !== undefined && !this.stopping) this.resyncTimer = setInterval(() => this.resync(), period);
  }

  /** Stops watching for good and resolves once the reconciles in flight have finished. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.markStopped();
    clearInterval(this.resyncTimer);
    await Promise.all([...this.primaries, ...this.secondaries].map((informer) => informer.stop()));
    await this.queue.shutDown();
    await this.options.afterStop?.();
  }

  /** The cached primary for `key`, so reconcile reads the watched state without a GET. */
  get(key: string): Primary | undefined {
    const { namespace, name } = parseKey(key);
    const informer = this.primaries.find((i) => i.namespace === undefined || i.namespace === namespace);
    return informer?.informer.get(name, namespace) as Primary | undefined;
  }

  /** A cached secondary object (by cache name: the kind unless the watch named it); undefined when the cache does not hold it. */
  cached<T extends k8s.KubernetesObject>(cacheName: string, namespace: string, name: string): T | undefined {
    return this.secondaryInformer(cacheName, namespace)?.informer.get(name, namespace) as T | undefined;
  }

  /** The cached objects of one secondary cache in one namespace. */
  cachedList<T extends k8s.KubernetesObject>(cacheName: string, namespace: string): T[] {
    return (this.secondaryInformer(cacheName, namespace)?.informer.list(namespace) ?? []) as T[];
  }

  /** Whether a cache of that name covers `namespace`. */
  watches(cacheName: string, namespace: string): boolean {
    return this.secondaryInformer(cacheName, namespace) !== undefined;
  }

  private secondaryInformer(cacheName: string, namespace: string): RestartingInformer | undefined {
    return this.secondaries.find(
      (i) => i.cacheName === cacheName && (i.namespace === undefined || i.namespace === namespace),
    );
  }

  /** Every cached primary. */
  list(): Primary[] {
    return this.primaries.flatMap((i) => i.informer.list() as Primary[]);
  }

  /** Work queue counters for metrics. */
  stats(): WorkQueueStats {
    return this.queue.stats();
  }

  private async timedReconcile(key: string): Promise<WorkResult> {
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const result = await this.options.reconcile(key);
      this.reconciled(key, result?.requeueAfterMs ? 'requeue' : 'success', seconds(), result?.requeueAfterMs);
      return result;
    } catch (error) {
      this.reconciled(key, 'error', seconds());
      throw error;
    }
  }

  private reconciled(key: string, result: ReconcileResult, seconds: number, requeueAfterMs?: number): void {
    this.options.onReconciled?.(result, seconds);
    this.log('debug', 'reconcile done', { key, result, seconds, ...(requeueAfterMs ? { requeueAfterMs } : {}) });
  }

  private resync(): void {
    for (const primary of this.list()) this.queue.add(objectKey(primary));
  }
}
