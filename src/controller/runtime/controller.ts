// The controller loop of controller-runtime / kube-rs on client-node informers: watch events of
// the primary kind (and of secondary kinds mapped to their primary) enqueue keys, and a
// reconcile function per key returns done, requeue-after or throws (retried with backoff).
// Informers are restarted after any watch or list error, so a controller never gives up.
import * as k8s from '@kubernetes/client-node';
import { WorkQueue, type WorkQueueStats, type WorkResult } from './workqueue.js';

/** A served resource; `group` is '' for the core API (ConfigMaps, Secrets, ...). */
export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  /** Needed to list through the generic object API. */
  kind: string;
}

/** A secondary kind and the keys of the primaries a change to one of its objects affects. */
export interface SecondaryWatch {
  resource: ResourceType;
  primaryKeys: (object: k8s.KubernetesObject) => string[];
}

export type Reconcile = (key: string) => Promise<WorkResult>;

export type LogLevel = 'info' | 'error';
export type Logger = (level: LogLevel, message: string, fields: Record<string, unknown>) => void;

/** One JSON line per message on stderr, the format log collectors parse without configuration. */
export const jsonLogger: Logger = (level, message, fields) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, message, ...fields })}\n`);
};

export interface ControllerOptions {
  kubeConfig: k8s.KubeConfig;
  primary: ResourceType;
  secondaries?: SecondaryWatch[];
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
class RestartingInformer {
  readonly informer: k8s.Informer<k8s.KubernetesObject> & k8s.ObjectCache<k8s.KubernetesObject>;
  private consecutiveFailures = 0;
  private errors = 0;
  private cancelRestart: (() => void) | undefined;
  private stopped = false;
  private starting: Promise<void> | undefined;

  constructor(
    kubeConfig: k8s.KubeConfig,
    readonly resource: ResourceType,
    readonly namespace: string | undefined,
    private readonly onChange: (object: k8s.KubernetesObject) => void,
    private readonly restartDelay: (failures: number) => number,
    private readonly log: Logger,
  ) {
    const objects = k8s.KubernetesObjectApi.makeApiClient(kubeConfig);
    const list = () => objects.list<k8s.KubernetesObject>(apiVersionOf(resource), resource.kind, namespace);
    this.informer = k8s.makeInformer(kubeConfig, watchPath(resource, namespace), list);
    for (const verb of [k8s.ADD, k8s.UPDATE, k8s.DELETE] as const) this.informer.on(verb, (object) => this.deliver(object));
    this.informer.on(k8s.ERROR, (error: unknown) => this.restartLater(error));
  }

  /** Resolves once the first list is cached and the watch is open (or the first attempt failed and a restart is scheduled). */
  start(): Promise<void> {
    this.stopped = false;
    this.starting = this.startOnce();
    return this.starting;
  }

  async stop(): Promise<void> {
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
    if (this.errors === errorsBefore) this.consecutiveFailures = 0;
  }

  // ListWatch swallows exceptions thrown by handlers while parsing watch lines; catching here
  // makes a failing mapping function visible instead of silently losing the event.
  private deliver(object: k8s.KubernetesObject): void {
    if (this.stopped) return;
    try {
      this.onChange(object);
    } catch (error) {
      this.log('error', 'event handler failed', { ...this.describe(), object: objectKey(object), error: String(error) });
    }
  }

  private restartLater(error: unknown): void {
    this.errors++;
    if (this.stopped || this.cancelRestart) return;
    const delayMs = this.restartDelay(this.consecutiveFailures++);
    this.log('error', 'watch failed; restarting the informer', { ...this.describe(), error: String(error), retryInMs: delayMs });
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

  constructor(private readonly options: ControllerOptions) {
    this.log = options.logger ?? jsonLogger;
    this.queue = new WorkQueue((key) => options.reconcile(key), {
      concurrency: options.concurrency,
      baseDelayMs: options.retryBaseDelayMs,
      maxDelayMs: options.retryMaxDelayMs,
      onError: (key, error, retryInMs) => this.log('error', 'reconcile failed', { key, error: String(error), retryInMs }),
    });
    const scopes = options.namespaces?.length ? options.namespaces : [undefined];
    const base = options.watchRestartBaseDelayMs ?? 200;
    const max = options.watchRestartMaxDelayMs ?? 30_000;
    const restartDelay = (failures: number) => Math.min(base * 2 ** failures, max);
    const informer = (resource: ResourceType, namespace: string | undefined, onChange: (object: k8s.KubernetesObject) => void) =>
      new RestartingInformer(options.kubeConfig, resource, namespace, onChange, restartDelay, this.log);

    this.primaries = scopes.map((namespace) => informer(options.primary, namespace, (object) => this.queue.add(objectKey(object))));
    this.secondaries = (options.secondaries ?? []).flatMap((watch) =>
      scopes.map((namespace) =>
        informer(watch.resource, namespace, (object) => {
          for (const key of watch.primaryKeys(object)) this.queue.add(key);
        }),
      ),
    );
  }

  /** Starts the informers (their first lists enqueue every existing primary) and the resync. */
  async start(): Promise<void> {
    await Promise.all([...this.primaries, ...this.secondaries].map((informer) => informer.start()));
    const period = this.options.resyncPeriodMs;
    if (period !== undefined) this.resyncTimer = setInterval(() => this.resync(), period);
  }

  /** Stops watching and resolves once the reconciles in flight have finished. */
  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    await Promise.all([...this.primaries, ...this.secondaries].map((informer) => informer.stop()));
    await this.queue.shutDown();
  }

  /** The cached primary for `key`, so reconcile reads the watched state without a GET. */
  get(key: string): Primary | undefined {
    const { namespace, name } = parseKey(key);
    const informer = this.primaries.find((i) => i.namespace === undefined || i.namespace === namespace);
    return informer?.informer.get(name, namespace) as Primary | undefined;
  }

  /** Every cached primary. */
  list(): Primary[] {
    return this.primaries.flatMap((i) => i.informer.list() as Primary[]);
  }

  /** Work queue counters for metrics. */
  stats(): WorkQueueStats {
    return this.queue.stats();
  }

  private resync(): void {
    for (const primary of this.list()) this.queue.add(objectKey(primary));
  }
}
