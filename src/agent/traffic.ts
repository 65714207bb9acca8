// Traffic metrics from NGINX's traffic log (see src/api/traffic.ts): requests by site, role and
// status class, request and upstream response time histograms, and whether NGINX takes each
// upstream server as down. Parsing and the passive-health replay are pure; the metrics live in
// the agent's registry.
import { Gauge, type Registry } from 'prom-client';
import {
  NO_LABEL,
  PASSIVE_HEALTH,
  TRAFFIC_LOG_FIELDS,
  TRAFFIC_LOG_SEPARATOR,
  type TrafficLogField,
} from '../api/traffic.js';
import { namedByAddress, type UpstreamServersPlan } from '../api/upstream-servers.js';
import { Buckets, CountedMetric, type Sample } from './counted-metric.js';

/** One request as the traffic log tells it. */
export interface TrafficRecord {
  site: string;
  role: string;
  /** When NGINX logged the request (ms since the epoch). */
  timeMs: number;
  status: number;
  requestSeconds: number;
  /** The time spent on upstream responses, every attempt added up; undefined when no upstream was asked. */
  upstreamSeconds: number | undefined;
  /** Each upstream server NGINX tried, in order, and whether that attempt failed in NGINX's sense. */
  attempts: { server: string; failed: boolean }[];
}

const number = (text: string | undefined): number | undefined => {
  if (text === undefined || text === '' || text === '-') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
};

/** "a, b : c" (a comma between attempts, a colon after an internal redirect) as a list. */
const attemptList = (text: string | undefined): string[] => {
  if (text === undefined || text === '' || text === '-') return [];
  // One attempt is by far the common case: no list to split.
  return text.includes(', ') || text.includes(' : ') ? text.split(/, | : /) : [text];
};

/** An upstream server as NGINX writes it in $upstream_addr: address:port (IPv6 in brackets). */
const SERVER = /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):\d{1,5}$/;

/** Where each field is in a line. */
const FIELD = Object.fromEntries(Object.keys(TRAFFIC_LOG_FIELDS).map((name, i) => [name, i])) as Record<
  TrafficLogField,
  number
>;
const FIELD_COUNT = Object.keys(TRAFFIC_LOG_FIELDS).length;

/**
 * Parses one traffic log line; undefined when it is not one (a partial or foreign line).
 * An attempt failed, for `max_fails`, when NGINX got no response header from the server (an error
 * or a timeout: $upstream_header_time "-") or when NGINX went on to the next server after it (a
 * `proxy_next_upstream` condition, which is what counts as a failure).
 */
export function parseTrafficLine(line: string): TrafficRecord | undefined {
  const fields = line.split(TRAFFIC_LOG_SEPARATOR);
  if (fields.length !== FIELD_COUNT) return undefined;
  const status = number(fields[FIELD.status]);
  const requestSeconds = number(fields[FIELD.request_time]);
  const msec = number(fields[FIELD.msec]);
  if (status === undefined || requestSeconds === undefined || msec === undefined) return undefined;
  const servers = attemptList(fields[FIELD.upstream_addr]);
  const attempts: TrafficRecord['attempts'] = [];
  if (servers.length > 0) {
    const headerTimes = attemptList(fields[FIELD.upstream_header_time]);
    for (let i = 0; i < servers.length; i++) {
      const server = servers[i]!;
      if (SERVER.test(server))
        attempts.push({ server, failed: i < servers.length - 1 || number(headerTimes[i]) === undefined });
    }
  }
  let upstreamSeconds: number | undefined;
  for (const text of attemptList(fields[FIELD.upstream_response_time])) {
    const t = number(text);
    if (t !== undefined) upstreamSeconds = (upstreamSeconds ?? 0) + t;
  }
  return {
    site: label(fields[FIELD.site]),
    role: label(fields[FIELD.role]),
    timeMs: Math.round(msec * 1000),
    status,
    requestSeconds,
    upstreamSeconds,
    attempts,
  };
}

const label = (v: string | undefined) => (v !== undefined && v !== '' && v !== '-' ? v : NO_LABEL);

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** The index of 1xx..5xx in STATUS_CLASSES; -1 for anything else (NGINX's 0 for a request it could not read). */
const statusClassIndex = (status: number) => (status >= 100 && status < 600 ? Math.floor(status / 100) - 1 : -1);

interface PeerState {
  fails: number;
  /** When the last failed attempt was seen (NGINX's peer->accessed), ms. */
  accessed: number;
  /** When NGINX last (re)started the fail_timeout window for it (peer->checked), ms. */
  checked: number;
  /** When an attempt on it was last seen, ms. */
  seen: number;
}

/** A server with no attempt for this long is forgotten (WSO2 pods get new addresses on every restart). */
export const PEER_IDLE_MS = 15 * 60_000;

/**
 * NGINX's passive health check (ngx_http_upstream_round_robin.c) replayed on the attempts of the
 * traffic log: a failed attempt adds to the server's failures and starts its fail_timeout window;
 * a server with `max_fails` failures is skipped until fail_timeout after that; the first attempt
 * after the window restarts it, and a successful attempt after such a restart clears the
 * failures. So a server is down from its max_fails-th failure until fail_timeout later, and
 * again after every failed retry.
 */
export class PassiveHealth {
  private readonly peers = new Map<string, PeerState>();
  /** The servers of the served configuration: shown before any attempt, and never forgotten while configured. */
  private configured: ReadonlySet<string> = new Set();
  /** Whether a server that is not configured is forgotten at once rather than after PEER_IDLE_MS. */
  private stray: (key: string) => boolean = () => false;
  /** When the configuration now served was taken: attempts before it were the old workers'. */
  private since = 0;

  constructor(
    private readonly maxFails: number = PASSIVE_HEALTH.maxFails,
    private readonly failTimeoutMs: number = PASSIVE_HEALTH.failTimeoutSeconds * 1000,
    /** Servers tracked at most (label cardinality); past it, the one seen least recently is forgotten. */
    private readonly maxServers = 512,
  ) {}

  attempt(key: string, failed: boolean, nowMs: number): void {
    // Logged by the workers before the last reload (read late): their failure state went with them.
    if (nowMs < this.since) return;
    let peer = this.peers.get(key);
    if (!peer) {
      // At the limit with only configured servers left, a server from elsewhere is not tracked.
      if (this.peers.size >= this.maxServers && !this.forgetLeastRecent()) return;
      peer = { fails: 0, accessed: 0, checked: 0, seen: nowMs };
      this.peers.set(key, peer);
    }
    peer.seen = nowMs;
    if (nowMs - peer.checked > this.failTimeoutMs) peer.checked = nowMs;
    if (failed) {
      peer.fails++;
      peer.accessed = nowMs;
      peer.checked = nowMs;
    } else if (peer.accessed < peer.checked) {
      peer.fails = 0;
    }
  }

  up(key: string, nowMs: number): boolean {
    const peer = this.peers.get(key);
    return !peer || peer.fails < this.maxFails || nowMs - peer.checked > this.failTimeoutMs;
  }

  /**
   * The servers of a newly served configuration (at most `maxServers` of them, in order): each
   * is known from now on, up until its attempts say otherwise; a server configured before and no
   * more is forgotten, and so is, from now on, any other server for which `stray` holds. Every
   * server starts up: NGINX's new workers keep no failure state of the old ones (checked on
   * NGINX 1.30, with and without an upstream zone: a server down for its fail_timeout is tried
   * again by the first request after a reload).
   */
  configure(servers: readonly string[], stray: (key: string) => boolean, nowMs: number): void {
    const configured = new Set(servers.slice(0, this.maxServers));
    for (const key of this.configured) if (!configured.has(key)) this.peers.delete(key);
    this.configured = configured;
    this.stray = stray;
    this.since = nowMs;
    for (const peer of this.peers.values()) Object.assign(peer, { fails: 0, accessed: 0, checked: 0 });
    for (const key of configured) {
      if (this.peers.has(key)) continue;
      if (this.peers.size >= this.maxServers) this.forgetLeastRecent();
      this.peers.set(key, { fails: 0, accessed: 0, checked: 0, seen: nowMs });
    }
  }

  /** The configured servers, and the others seen within PEER_IDLE_MS of `nowMs` that are not strays; the rest are forgotten. */
  keys(nowMs: number): string[] {
    for (const [key, peer] of this.peers)
      if (!this.configured.has(key) && (this.stray(key) || nowMs - peer.seen > PEER_IDLE_MS)) this.peers.delete(key);
    return [...this.peers.keys()];
  }

  /** Forgets the server seen least recently that is not configured; false when every server is configured. */
  private forgetLeastRecent(): boolean {
    let oldest: [string, number] | undefined;
    for (const [key, peer] of this.peers)
      if (!this.configured.has(key) && (!oldest || peer.seen < oldest[1])) oldest = [key, peer.seen];
    if (oldest) this.peers.delete(oldest[0]);
    return oldest !== undefined;
  }
}

/** ingress-nginx's buckets (Prometheus' defaults), and the long ones WSO2's 5-minute timeouts allow. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

const prefix = 'wso2_frontend_nginx_';

/** The counts of one site and role. */
interface SiteRoleSeries {
  site: string;
  role: string;
  /** Requests by status class, 1xx..5xx. */
  requests: Float64Array;
  requestDuration: Buckets;
  upstreamDuration: Buckets;
}
const SEPARATOR = '\u0000';

/** The traffic metrics of one frontend's NGINX pod, fed with traffic log lines. */
export class TrafficMetrics {
  private counted = 0;
  private malformed = 0;
  private readonly health: PassiveHealth;
  /** Counts by site, then role, in the order first seen; bounded (cardinality). */
  private readonly series = new Map<string, Map<string, SiteRoleSeries>>();
  private seriesCount = 0;

  constructor(
    registry: Registry,
    private readonly frontend: string,
    private readonly now: () => number = Date.now,
    private readonly maxSiteRoles = 256,
  ) {
    this.health = new PassiveHealth();
    const labelsOf = (s: SiteRoleSeries) => ({ frontend, site: s.site, role: s.role });
    new CountedMetric(
      `${prefix}requests_total`,
      'Requests NGINX answered, by site (the public host, _ for a host this frontend does not serve), upstream role (_ when none was asked: redirects, no ready node) and status class (1xx..5xx).',
      'counter',
      ['frontend', 'site', 'role', 'status_class'],
      () => {
        const samples: Sample[] = [];
        for (const s of this.allSeries())
          s.requests.forEach((value, i) => {
            // As prom-client does, a series appears once counted.
            if (value > 0) samples.push({ labels: { ...labelsOf(s), status_class: STATUS_CLASSES[i]! }, value });
          });
        return samples;
      },
    ).register(registry);
    const histogram = (name: string, help: string, buckets: (s: SiteRoleSeries) => Buckets) =>
      new CountedMetric(name, help, 'histogram', ['frontend', 'site', 'role'], () =>
        this.allSeries().flatMap((s) => buckets(s).samples(name, labelsOf(s))),
      ).register(registry);
    histogram(
      `${prefix}request_duration_seconds`,
      "NGINX's $request_time: from the first byte read from the client to the last byte sent (a WebSocket's whole life).",
      (s) => s.requestDuration,
    );
    histogram(
      `${prefix}upstream_response_duration_seconds`,
      "NGINX's $upstream_response_time, every attempt of the request added up; only requests passed to an upstream.",
      (s) => s.upstreamDuration,
    );
    const registers = [registry];
    const health = this.health;
    const clock = this.now;
    new Gauge({
      name: `${prefix}upstream_server_up`,
      help: `0 while NGINX takes the upstream server as down: it failed ${PASSIVE_HEALTH.maxFails} (max_fails) attempts and the last failure is less than ${PASSIVE_HEALTH.failTimeoutSeconds} s (fail_timeout) ago, replayed from this pod's traffic log; 1 otherwise. A server given by address appears once its configuration is served; one named by DNS once NGINX has sent it a request.`,
      labelNames: ['frontend', 'role', 'server'],
      registers,
      collect() {
        this.reset();
        const at = clock();
        for (const key of health.keys(at)) {
          const [role, server] = key.split(SEPARATOR) as [string, string];
          this.set({ frontend, role, server }, health.up(key, at) ? 1 : 0);
        }
      },
    });
    new CountedMetric(
      'wso2_frontend_agent_traffic_log_lines_total',
      'Traffic log lines read, by result: counted, or malformed (not a traffic log line; not counted).',
      'counter',
      ['result'],
      () => [
        { labels: { result: 'counted' }, value: this.counted },
        ...(this.malformed > 0 ? [{ labels: { result: 'malformed' }, value: this.malformed }] : []),
      ],
    ).register(registry);
  }

  /**
   * The upstream servers of the configuration NGINX serves now, by role (none: not known, as
   * before the first). Those given by address have a series from now on, and one no longer
   * configured loses it. A server named by DNS shows under the addresses NGINX resolved it to,
   * once NGINX sends them requests, so unconfigured servers are kept (until idle) only under a
   * role with such a server, or role _; under any other role they are forgotten (a request an
   * old worker finished after the reload does not bring a removed server back). `sinceMs`: when
   * the workers of this configuration took over; every server starts up then, as in NGINX.
   */
  configure(plan: UpstreamServersPlan | undefined, sinceMs = this.now()): void {
    const servers: string[] = [];
    const resolvingRoles = new Set<string>([NO_LABEL]);
    for (const { role, servers: roleServers } of plan?.roles ?? []) {
      for (const server of roleServers)
        if (namedByAddress(server)) servers.push(`${role}${SEPARATOR}${server}`);
        else resolvingRoles.add(role);
    }
    const stray = plan ? (key: string) => !resolvingRoles.has(key.slice(0, key.indexOf(SEPARATOR))) : () => false;
    this.health.configure(servers, stray, sinceMs);
  }

  /** Counts one traffic log line. */
  line(text: string): void {
    const record = parseTrafficLine(text);
    if (!record) {
      this.malformed++;
      return;
    }
    this.counted++;
    this.record(record);
  }

  record(r: TrafficRecord): void {
    const series = this.seriesOf(r.site, r.role);
    const statusClass = statusClassIndex(r.status);
    if (statusClass >= 0) series.requests[statusClass]!++;
    series.requestDuration.observe(r.requestSeconds);
    if (r.upstreamSeconds !== undefined) series.upstreamDuration.observe(r.upstreamSeconds);
    for (const attempt of r.attempts)
      this.health.attempt(`${series.role}${SEPARATOR}${attempt.server}`, attempt.failed, r.timeMs);
  }

  /** The series of a site and role; past `maxSiteRoles` pairs, those of site _ and role _ (bounded memory). */
  private seriesOf(site: string, role: string): SiteRoleSeries {
    let roles = this.series.get(site);
    const found = roles?.get(role);
    if (found) return found;
    if (this.seriesCount >= this.maxSiteRoles && (site !== NO_LABEL || role !== NO_LABEL))
      return this.seriesOf(NO_LABEL, NO_LABEL);
    const series: SiteRoleSeries = {
      site,
      role,
      requests: new Float64Array(STATUS_CLASSES.length),
      requestDuration: new Buckets(DURATION_BUCKETS),
      upstreamDuration: new Buckets(DURATION_BUCKETS),
    };
    if (!roles) this.series.set(site, (roles = new Map<string, SiteRoleSeries>()));
    roles.set(role, series);
    this.seriesCount++;
    return series;
  }

  private allSeries(): SiteRoleSeries[] {
    return [...this.series.values()].flatMap((roles) => [...roles.values()]);
  }
}
