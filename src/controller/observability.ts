// The operator's own health and metrics endpoints: /healthz for the kubelet's liveness probe,
// /readyz for its readiness probe and /metrics for Prometheus. Metrics live in a registry of
// their own rather than prom-client's global one, so tests and several operators in one process
// never register the same metric twice.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SiteStatus } from '../api/schema.js';
import { secondsUntilExpiry } from '../tls/expiry.js';
import type { ReconcileResult } from './runtime/controller.js';
import type { WorkQueueStats } from './runtime/workqueue.js';

const metricPrefix = 'wso2_frontend_';
const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const;

/** From a no-op reconcile (about 1 ms) to one waiting on a slow API server or NGINX reload (a minute). */
const reconcileDurationBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class OperatorMetrics {
  readonly registry = new Registry();
  private readonly reconcileTotal: Counter<'result'>;
  private readonly reconcileDuration: Histogram<'result'>;
  private readonly reconcileErrors: Counter<'namespace' | 'name' | 'reason'>;
  /** The reasons each frontend ("namespace/name") has a reconcile error series for. */
  private readonly errorReasonsByFrontend = new Map<string, Set<string>>();
  private readonly certificateExpiry: Gauge<'namespace' | 'name' | 'certificate'>;
  /** notAfter of each served certificate, per frontend ("namespace/name"); the seconds left are computed at scrape time. */
  private readonly notAfterByFrontend = new Map<string, Map<string, Date>>();
  private readonly siteServing: Gauge<'namespace' | 'name' | 'site'>;
  private readonly siteNodesAnswering: Gauge<'namespace' | 'name' | 'site'>;
  private readonly siteNodes: Gauge<'namespace' | 'name' | 'site'>;
  private readonly siteLatency: Gauge<'namespace' | 'name' | 'site'>;
  /** The sites each frontend ("namespace/name") has series for. */
  private readonly sitesByFrontend = new Map<string, string[]>();
  /** The status of each condition of each frontend ("namespace/name"), as last assessed. */
  private readonly conditionsByFrontend = new Map<string, ReadonlyMap<string, string>>();

  /**
   * `queueStats` (and `apiRequests`, the requests sent to the API server by "METHOD resource") are
   * read on every scrape, so the queue and the client need no hooks into the metrics.
   */
  private readonly heapAfterGc: Gauge;
  private readonly leader: Gauge;

  constructor(
    queueStats: () => WorkQueueStats,
    private readonly now: () => number = Date.now,
    apiRequests?: () => ReadonlyMap<string, number>,
  ) {
    const registers = [this.registry];
    this.reconcileTotal = new Counter({
      name: `${metricPrefix}reconcile_total`,
      help: 'Reconciles of WSO2Frontend objects, by result (success, error, requeue).',
      labelNames: ['result'],
      registers,
    });
    this.reconcileDuration = new Histogram({
      name: `${metricPrefix}reconcile_duration_seconds`,
      help: 'Duration of reconciles of WSO2Frontend objects in seconds, by result.',
      labelNames: ['result'],
      buckets: reconcileDurationBuckets,
      registers,
    });
    this.reconcileErrors = new Counter({
      name: `${metricPrefix}reconcile_errors_total`,
      help: "Failed reconciles of one WSO2Frontend, by reason: ApplyFailed or ReconcileFailed (retried with backoff), or the Stalled condition's reason (InvalidSpec, CertificateInvalid, ...: only a change of the resource helps).",
      labelNames: ['namespace', 'name', 'reason'],
      registers,
    });
    new Gauge({
      name: `${metricPrefix}queue_depth`,
      help: 'Keys waiting in the work queue to be reconciled.',
      registers,
      collect() {
        this.set(queueStats().depth);
      },
    });
    new Counter({
      name: `${metricPrefix}queue_retries_total`,
      help: 'Failed reconciles scheduled for a retry with backoff.',
      registers,
      collect() {
        // The queue owns the running total; the counter only mirrors it at scrape time.
        this.reset();
        this.inc(queueStats().retries);
      },
    });
    if (apiRequests)
      new Counter({
        name: `${metricPrefix}api_requests_total`,
        help: 'Requests sent (or attempted, when nothing answered) to the Kubernetes API server, watches included, by HTTP method and resource[/subresource].',
        labelNames: ['method', 'resource'],
        registers,
        collect() {
          this.reset();
          for (const [request, count] of apiRequests()) {
            const [method = '', resource = ''] = request.split(' ');
            this.inc({ method, resource }, count);
          }
        },
      });
    this.heapAfterGc = new Gauge({
      name: `${metricPrefix}heap_used_after_full_gc_bytes`,
      help: 'V8 heap in use right after the last full garbage collection asked for with SIGUSR2 (only under node --expose-gc).',
      registers,
    });
    this.leader = new Gauge({
      name: `${metricPrefix}leader`,
      help: 'Whether this operator process reconciles: 1 once it holds the leader-election lease (or, without leader election, once its caches are filled), 0 while it stands by.',
      registers,
    });
    this.leader.set(0);
    this.certificateExpiry = new Gauge({
      name: `${metricPrefix}certificate_expiry_seconds`,
      help: 'Seconds until the notAfter time of a certificate served for a WSO2Frontend (negative once expired).',
      labelNames: ['namespace', 'name', 'certificate'],
      registers,
      collect: () => this.refreshCertificateExpiry(),
    });
    const siteLabels = ['namespace', 'name', 'site'] as const;
    this.siteServing = new Gauge({
      name: `${metricPrefix}site_serving`,
      help: "1 while a public site of a WSO2Frontend answers through every NGINX pod that probed it, 0 while it does not (after the agents' thresholds); no series while no recent probe result exists.",
      labelNames: siteLabels,
      registers,
    });
    this.siteNodesAnswering = new Gauge({
      name: `${metricPrefix}site_nodes_answering`,
      help: "Upstream nodes of a public site that answer a probe pinned to them, in the worst reporting NGINX pod's view.",
      labelNames: siteLabels,
      registers,
    });
    this.siteNodes = new Gauge({
      name: `${metricPrefix}site_nodes`,
      help: 'Upstream nodes behind a public site of a WSO2Frontend.',
      labelNames: siteLabels,
      registers,
    });
    this.siteLatency = new Gauge({
      name: `${metricPrefix}site_probe_latency_p50_seconds`,
      help: 'Median latency of the last probes of a public site, of the slowest reporting NGINX pod, as the status last recorded it.',
      labelNames: siteLabels,
      registers,
    });
    const conditions = this.conditionsByFrontend;
    new Gauge({
      name: `${metricPrefix}status_condition`,
      help: "A WSO2Frontend's status conditions as its status says them: 1 for the condition's current status (True, False or Unknown), 0 for the other two (as kube-state-metrics exports conditions), so `== 1` alerts on Ready False or Stalled True and every frontend has series, even one the operator rejects.",
      labelNames: ['namespace', 'name', 'type', 'status'],
      registers,
      collect() {
        this.reset();
        for (const [key, byType] of conditions) {
          const slash = key.indexOf('/');
          const [namespace, name] = [key.slice(0, slash), key.slice(slash + 1)];
          for (const [type, current] of byType)
            for (const status of CONDITION_STATUSES)
              this.set({ namespace, name, type, status }, status === current ? 1 : 0);
        }
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: metricPrefix });
  }

  /** The conditions of a frontend's status as just assessed; none: the frontend is gone. */
  setConditions(namespace: string, name: string, conditions: readonly { type: string; status: string }[]): void {
    const key = `${namespace}/${name}`;
    if (!conditions.length) this.conditionsByFrontend.delete(key);
    else this.conditionsByFrontend.set(key, new Map(conditions.map((c) => [c.type, c.status])));
  }

  /** This process has started reconciling (it leads, or runs without leader election). */
  setLeading(leading: boolean): void {
    this.leader.set(leading ? 1 : 0);
  }

  observeHeapAfterGc(bytes: number): void {
    this.heapAfterGc.set(bytes);
  }

  /** What the status says about each site of a frontend now; replaces what it said before (an empty list forgets them). */
  setSites(namespace: string, name: string, sites: readonly SiteStatus[]): void {
    this.forgetSites(namespace, name);
    for (const { host: site, serving, nodesAnswering, nodesTotal, p50LatencyMs } of sites) {
      if (serving === 'Unknown') continue;
      const labels = { namespace, name, site };
      this.siteServing.set(labels, serving === 'True' ? 1 : 0);
      if (nodesAnswering !== undefined) this.siteNodesAnswering.set(labels, nodesAnswering);
      if (nodesTotal !== undefined) this.siteNodes.set(labels, nodesTotal);
      if (p50LatencyMs !== undefined) this.siteLatency.set(labels, p50LatencyMs / 1000);
    }
    if (sites.length)
      this.sitesByFrontend.set(
        `${namespace}/${name}`,
        sites.map((s) => s.host),
      );
  }

  private forgetSites(namespace: string, name: string): void {
    for (const site of this.sitesByFrontend.get(`${namespace}/${name}`) ?? []) {
      for (const gauge of [this.siteServing, this.siteNodesAnswering, this.siteNodes, this.siteLatency])
        gauge.remove({ namespace, name, site });
    }
    this.sitesByFrontend.delete(`${namespace}/${name}`);
  }

  observeReconcile(result: ReconcileResult, seconds: number): void {
    this.reconcileTotal.inc({ result });
    this.reconcileDuration.observe({ result }, seconds);
  }

  /** A reconcile of this frontend failed; `reason` comes from a fixed set in the operator's code, never from the resource. */
  observeReconcileError(namespace: string, name: string, reason: string): void {
    this.reconcileErrors.inc({ namespace, name, reason });
    const key = `${namespace}/${name}`;
    const reasons = this.errorReasonsByFrontend.get(key) ?? new Set<string>();
    reasons.add(reason);
    this.errorReasonsByFrontend.set(key, reasons);
  }

  /** The frontend is gone: its reconcile error series go with it. */
  forgetReconcileErrors(namespace: string, name: string): void {
    for (const reason of this.errorReasonsByFrontend.get(`${namespace}/${name}`) ?? [])
      this.reconcileErrors.remove({ namespace, name, reason });
    this.errorReasonsByFrontend.delete(`${namespace}/${name}`);
  }

  /** The certificates a frontend serves now (by Secret name) and their notAfter; replaces what it served before. */
  setCertificates(namespace: string, name: string, notAfter: ReadonlyMap<string, Date>): void {
    this.forgetFrontend(namespace, name);
    if (notAfter.size) this.notAfterByFrontend.set(`${namespace}/${name}`, new Map(notAfter));
  }

  /** Drops every certificate series of a frontend, so certificates it no longer serves do not look like they are still expiring. */
  forgetFrontend(namespace: string, name: string): void {
    for (const certificate of this.notAfterByFrontend.get(`${namespace}/${name}`)?.keys() ?? []) {
      this.certificateExpiry.remove({ namespace, name, certificate });
    }
    this.notAfterByFrontend.delete(`${namespace}/${name}`);
  }

  private refreshCertificateExpiry(): void {
    const now = new Date(this.now());
    for (const [key, certificates] of this.notAfterByFrontend) {
      const slash = key.indexOf('/');
      const [namespace, name] = [key.slice(0, slash), key.slice(slash + 1)];
      for (const [certificate, notAfter] of certificates) {
        this.certificateExpiry.set({ namespace, name, certificate }, secondsUntilExpiry(notAfter, now));
      }
    }
  }
}

export interface HealthServerOptions {
  /** 0 binds a free port; the bound one is returned. */
  port: number;
  /** Node's default (all interfaces) when omitted, which probes from the kubelet need. */
  host?: string;
  metrics: { readonly registry: Registry };
  /** False when the operator is stuck and should be restarted. */
  isLive(): boolean;
  /** True once the informers have synced, also while standing by for leader election. */
  isReady(): boolean;
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const server = createServer((request, response) => {
    respond(request, response, options).catch(() => {
      // Never leak a stack trace to whoever can reach the port.
      if (!response.headersSent) sendText(response, 500, 'internal error');
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Prometheus and fetch keep connections alive; without this close() waits for them to time out.
        server.closeAllConnections();
      }),
  };
}

async function respond(
  request: IncomingMessage,
  response: ServerResponse,
  options: HealthServerOptions,
): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  if (path !== '/healthz' && path !== '/readyz' && path !== '/metrics') {
    sendText(response, 404, 'not found');
    return;
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    sendText(response, 405, 'method not allowed');
    return;
  }
  switch (path) {
    case '/healthz':
      if (options.isLive()) sendText(response, 200, 'ok');
      else sendText(response, 500, 'not live');
      return;
    case '/readyz':
      if (options.isReady()) sendText(response, 200, 'ok');
      else sendText(response, 503, 'not ready');
      return;
    case '/metrics': {
      const { registry } = options.metrics;
      const body = await registry.metrics();
      send(response, 200, registry.contentType, body);
      return;
    }
  }
}

function sendText(response: ServerResponse, status: number, text: string): void {
  send(response, status, 'text/plain; charset=utf-8', `${text}\n`);
}

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  // Node leaves the body out of responses to HEAD.
  response.end(body);
}
