// What the site probes conclude, decided from their results: pure, so the thresholds, the median
// latency, the one-line reasons and when a report must be written are tested with plain values.
import {
  SITE_PROBES_REFRESH_MS,
  type SiteProbePlan,
  type SiteProbe,
  type SiteProbeReport,
  type SitesServingReason,
} from '../api/probe.js';

/** One probe: answered as a serving WSO2 node would, or why not (one line, no secrets). */
/** `ms`: the latency, when the probe got an answer (and was timed). */
export type ProbeResult = { ok: true; ms?: number } | { ok: false; error: string; ms?: number };

/** NGINX's built-in error pages end with this line (server_tokens off keeps the version out). */
const NGINX_ERROR_PAGE = '<hr><center>nginx</center>';
/** The body of the 503 a site answers while its upstream has no ready node (src/render/nginx/config.ts). */
const NO_READY_NODE = 'No ready WSO2 node';

const NGINX_STATUS_MEANING: Record<number, string> = {
  502: 'no WSO2 node answered',
  504: 'no WSO2 node answered in time',
};

/**
 * Why an answer is not one a serving site gives, if it is not: NGINX's own error page instead of
 * a node's answer (5xx), a node's 5xx, or a redirect off the site's public origins (to an
 * internal host, a product port such as 9443, or plain HTTP where the site does not serve it).
 * Any other answer came from a node that serves (a 401 or 404 of a node still proves it answers).
 */
export function judgeAnswer(
  answer: { status: number; location?: string | undefined; body: string },
  plan: Pick<SiteProbePlan, 'path' | 'publicOrigins'>,
): string | undefined {
  const { status, location, body } = answer;
  if (status >= 500) {
    if (body.includes(NO_READY_NODE)) return `${status} from NGINX: no ready WSO2 node`;
    if (body.includes(NGINX_ERROR_PAGE))
      return `${status} from NGINX: ${NGINX_STATUS_MEANING[status] ?? 'its own error page'} (GET ${plan.path})`;
    return `${status} from the WSO2 node (GET ${plan.path})`;
  }
  if (status >= 300 && status < 400 && location !== undefined) {
    let target: URL;
    try {
      target = new URL(location, `${plan.publicOrigins[0]}${plan.path}`);
    } catch {
      return `redirect to an invalid URL: ${location.slice(0, 200)}`;
    }
    if (!plan.publicOrigins.includes(target.origin))
      return `redirect leaves the public host: ${location.slice(0, 200)} (public: ${plan.publicOrigins.join(', ')})`;
  }
  return undefined;
}

export interface Thresholds {
  failureThreshold: number;
  successThreshold: number;
}

/** Consecutive results of one target (a site, or one node of it) and the verdict they give. */
export interface Streak {
  /** Undefined until the first probe. */
  up: boolean | undefined;
  failures: number;
  successes: number;
  /** The error of the last failed probe, kept while the target is down. */
  error?: string;
}

export const NEW_STREAK: Streak = { up: undefined, failures: 0, successes: 0 };

/**
 * The verdict after one more result. A target that is up goes down only after `failureThreshold`
 * consecutive failures (one blip does not flip it), one that is down comes back after
 * `successThreshold` consecutive successes; the first probe decides at once (there is nothing to
 * protect yet).
 */
export function nextStreak(streak: Streak, result: ProbeResult, t: Thresholds): Streak {
  if (result.ok) {
    const successes = streak.successes + 1;
    const up = streak.up === true || streak.up === undefined || successes >= t.successThreshold;
    return up ? { up, failures: 0, successes } : { ...streak, up, failures: 0, successes };
  }
  const failures = streak.failures + 1;
  const up = streak.up === true && failures < t.failureThreshold;
  return { up, failures, successes: 0, ...(up ? {} : { error: result.error }) };
}

/** The median of the values (the mean of the middle two for an even count); undefined for none. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** How many latencies the median is taken over. */
export const LATENCY_WINDOW = 10;

/** One site's state across probes. */
export interface SiteState {
  host: string;
  site: Streak;
  /** By node name, in the plan's order. */
  nodes: Map<string, Streak>;
  /** Latencies (ms) of the last answered site probes. */
  latencies: number[];
}

export function newSiteState(host: string, nodes: readonly string[]): SiteState {
  return { host, site: NEW_STREAK, nodes: new Map(nodes.map((n) => [n, NEW_STREAK])), latencies: [] };
}

/** The state after one round: the site's own probe and one probe per node. */
export function afterRound(
  state: SiteState,
  site: ProbeResult,
  nodes: ReadonlyMap<string, ProbeResult>,
  t: Thresholds,
): SiteState {
  const latencies = site.ms === undefined ? state.latencies : [...state.latencies, site.ms].slice(-LATENCY_WINDOW);
  return {
    host: state.host,
    site: nextStreak(state.site, site, t),
    nodes: new Map(
      [...state.nodes].map(([node, streak]) => {
        const result = nodes.get(node);
        return [node, result ? nextStreak(streak, result, t) : streak];
      }),
    ),
    latencies,
  };
}

/** A site as the report says it: serving, nodes answering, and why it (or a node) fails. */
export function siteProbe(state: SiteState): SiteProbe {
  const down = [...state.nodes].filter(([, s]) => s.up === false);
  const answering = [...state.nodes.values()].filter((s) => s.up === true).length;
  const serving = state.site.up === true;
  const error = !serving
    ? state.site.error
    : down.length
      ? down.map(([node, s]) => `node ${node}: ${s.error ?? 'no answer'}`).join('; ')
      : undefined;
  const p50 = median(state.latencies);
  return {
    host: state.host,
    serving,
    nodes: { answering, total: state.nodes.size },
    ...(error !== undefined ? { error } : {}),
    ...(p50 !== undefined ? { p50Ms: Math.round(p50) } : {}),
  };
}

/** What a verdict is made of: a report whose sites say the same needs no new write (latency aside). */
export function verdictOf(report: SiteProbeReport): string {
  return JSON.stringify(report.sites.map((s) => [s.host, s.serving, s.nodes.answering, s.nodes.total, s.error ?? '']));
}

/** Write when the verdict changed, or when the last write is a refresh period old (the operator tells stale reports by it). */
export function mustWrite(
  last: { verdict: string; at: number } | undefined,
  report: SiteProbeReport,
  now: number,
  refreshMs = SITE_PROBES_REFRESH_MS,
): boolean {
  return !last || last.verdict !== verdictOf(report) || now - last.at >= refreshMs;
}

/** The Pod condition's status, reason and message for a report. */
export function sitesServing(report: SiteProbeReport): {
  status: 'True' | 'False';
  reason: SitesServingReason;
  message: string;
} {
  const failing = report.sites.filter((s) => !s.serving);
  if (failing.length === 0)
    return {
      status: 'True',
      reason: 'SitesServing',
      message: report.sites.map((s) => `${s.host}: ${s.nodes.answering}/${s.nodes.total} nodes answer`).join('; '),
    };
  return {
    status: 'False',
    reason: 'SitesNotServing',
    message: failing.map((s) => `${s.host}: ${s.error ?? 'not serving'}`).join('; '),
  };
}
