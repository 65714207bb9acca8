// The agent's Prometheus metrics, in a registry of its own (see controller/observability.ts).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ProbeResult } from './verdict.js';
import { NO_LABEL, STUB_STATUS_PATH } from '../api/traffic.js';
import { registerStubStatusMetrics } from './stub-status.js';
import { TrafficMetrics } from './traffic.js';

/** How an attempt to serve a new configuration ended. */
const RELOAD_RESULTS = ['success', 'invalid', 'failed'] as const;
export type ReloadResult = (typeof RELOAD_RESULTS)[number];

const prefix = 'wso2_frontend_agent_';

export interface NginxMetricsOptions {
  /** The frontend label of the traffic metrics. */
  frontend?: string;
  /** NGINX's stub_status, read on each scrape. */
  stubStatusUrl?: string;
}

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly reloads: Counter<'result'>;
  private readonly reloadDuration: Histogram<'result'>;
  private readonly served: Gauge<'hash'>;
  private readonly lastSuccess: Gauge;
  private readonly probeUp: Gauge<'site'>;
  private readonly nodeProbeUp: Gauge<'site' | 'node'>;
  private readonly siteServing: Gauge<'site'>;
  private readonly probeDuration: Histogram<'site'>;
  private readonly probes: Counter<'site' | 'result'>;
  /** NGINX's traffic metrics, fed with the traffic log's lines. */
  readonly traffic: TrafficMetrics;

  constructor(workerCount: () => number, nginx: NginxMetricsOptions = {}) {
    const registers = [this.registry];
    this.reloads = new Counter({
      name: `${prefix}reloads_total`,
      help: 'Attempts to serve a new NGINX configuration, by result: success, invalid (rejected by nginx -t), failed (no new worker answered with its hash).',
      labelNames: ['result'],
      registers,
    });
    // Every result from the start, at 0: an alert on increase() sees the first failure too (a
    // series that first appears at 1 has no increase).
    for (const result of RELOAD_RESULTS) this.reloads.inc({ result }, 0);
    this.reloadDuration = new Histogram({
      name: `${prefix}reload_duration_seconds`,
      help: 'From the reload signal to a new worker answering with the new hash (or giving up), by result.',
      labelNames: ['result'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10],
      registers,
    });
    this.served = new Gauge({
      name: `${prefix}served_config_info`,
      help: 'The configuration hash NGINX serves (value 1 for that hash).',
      labelNames: ['hash'],
      registers,
    });
    this.lastSuccess = new Gauge({
      name: `${prefix}last_reload_success_timestamp_seconds`,
      help: 'When a new configuration was last confirmed served (Unix time).',
      registers,
    });
    new Gauge({
      name: `${prefix}nginx_worker_processes`,
      help: 'NGINX worker processes, old ones still finishing connections after a reload included.',
      registers,
      collect() {
        this.set(workerCount());
      },
    });
    this.probeUp = new Gauge({
      name: `${prefix}probe_up`,
      help: "1 when the last probe of a public host (site) through this pod's NGINX answered as a serving WSO2 node would, else 0.",
      labelNames: ['site'],
      registers,
    });
    this.nodeProbeUp = new Gauge({
      name: `${prefix}node_probe_up`,
      help: 'The same, pinned to one node of the site (through NGINX): 1 when the node answered, else 0.',
      labelNames: ['site', 'node'],
      registers,
    });
    this.siteServing = new Gauge({
      name: `${prefix}site_serving`,
      help: 'The verdict after the failure and success thresholds: 1 while the site serves, else 0 (as reported on the Pod).',
      labelNames: ['site'],
      registers,
    });
    this.probeDuration = new Histogram({
      name: `${prefix}probe_duration_seconds`,
      help: "Latency of the site probes that got an answer (TLS handshake included), through this pod's NGINX.",
      labelNames: ['site'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.probes = new Counter({
      name: `${prefix}probes_total`,
      help: 'Site probes, by result: success, or failure (see the Pod annotation for why).',
      labelNames: ['site', 'result'],
      registers,
    });
    collectDefaultMetrics({ register: this.registry, prefix });
    this.traffic = new TrafficMetrics(this.registry, nginx.frontend ?? NO_LABEL);
    registerStubStatusMetrics(this.registry, nginx.stubStatusUrl ?? `http://127.0.0.1:8081${STUB_STATUS_PATH}`);
  }

  observeReload(result: ReloadResult, seconds: number): void {
    this.reloads.inc({ result });
    this.reloadDuration.observe({ result }, seconds);
    if (result === 'success') this.lastSuccess.set(Date.now() / 1000);
  }

  setServed(hash: string): void {
    this.served.reset();
    this.served.set({ hash }, 1);
  }

  observeProbe(site: string, result: ProbeResult, nodes: ReadonlyMap<string, ProbeResult>): void {
    this.probeUp.set({ site }, result.ok ? 1 : 0);
    this.probes.inc({ site, result: result.ok ? 'success' : 'failure' });
    if (result.ms !== undefined) this.probeDuration.observe({ site }, result.ms / 1000);
    for (const [node, nodeResult] of nodes) this.nodeProbeUp.set({ site, node }, nodeResult.ok ? 1 : 0);
  }

  setServing(site: string, serving: boolean): void {
    this.siteServing.set({ site }, serving ? 1 : 0);
  }

  /** A new plan: sites and nodes no longer probed disappear from the gauges. */
  forgetProbes(): void {
    this.probeUp.reset();
    this.nodeProbeUp.reset();
    this.siteServing.reset();
  }
}
