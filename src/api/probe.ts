// The contract between the reload agent's site probes and the operator: what the agent reports on
// its own Pod about each public site it probed through its NGINX, and how the operator reads it.
// Both sides import these names from here only, so they cannot drift apart.
//
// The agent keeps the result as a Pod annotation (JSON, below) and a Pod condition. It writes
// them when a verdict changes (serving, nodes answering, the error) and otherwise at most once
// per refresh period, so a healthy fleet does not write every probe interval.

/** On each NGINX Pod: the agent's latest probe results, a JSON `SiteProbeReport`. */
export const SITE_PROBES_ANNOTATION = 'wso2-frontend.dev/site-probes';

/** The Pod condition the agent keeps: True when every site it probes is serving (after the failure threshold). */
export const SITES_SERVING_CONDITION = 'wso2-frontend.dev/SitesServing';

/**
 * The agent rewrites an unchanged report at least this often, so the operator can tell a live
 * agent from a silent one: a report whose `probedAt` is much older than this is stale (the
 * operator then treats the Pod as not having reported). Latency alone changes the Wso2Frontend
 * status no more often than this either.
 */
export const SITE_PROBES_REFRESH_MS = 60_000;

/** The User-Agent of every probe request, so WSO2's access logs show probes for what they are. */
export const PROBE_USER_AGENT_PREFIX = 'wso2-frontend-probe/';

/** One public site (a host NGINX serves) as one agent saw it. */
export interface SiteProbe {
  /** The public host, as in the spec. */
  host: string;
  /**
   * True while the site answers from a WSO2 node with a valid certificate and no redirect off the
   * public host; flips only after the failure (or success) threshold of consecutive probes.
   */
  serving: boolean;
  /** Upstream nodes that answered the probe pinned to them, of all nodes behind the site. */
  nodes: { answering: number; total: number };
  /** Why the site or a node fails, one line, no secrets (e.g. "502 from NGINX: no node answered"). */
  error?: string;
  /** Median latency of the last probes, in milliseconds. */
  p50Ms?: number;
}

export interface SiteProbeReport {
  /** When these results were taken (RFC 3339). */
  probedAt: string;
  sites: SiteProbe[];
}

const MAX_ERROR_LENGTH = 300;
const MAX_SITES = 1000;

/**
 * Reads the annotation of a Pod. The text comes from a Pod any holder of `pods/status` or
 * `pods` patch rights can write, so it is checked field by field; anything malformed gives
 * `undefined` (the operator then treats the Pod as not having reported).
 */
export function parseSiteProbeReport(text: string | undefined): SiteProbeReport | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(value) || typeof value.probedAt !== 'string' || Number.isNaN(Date.parse(value.probedAt)))
    return undefined;
  if (!Array.isArray(value.sites) || value.sites.length > MAX_SITES) return undefined;
  const sites: SiteProbe[] = [];
  for (const site of value.sites as unknown[]) {
    if (!isRecord(site) || typeof site.host !== 'string' || typeof site.serving !== 'boolean') return undefined;
    const nodes = site.nodes;
    if (!isRecord(nodes) || !isCount(nodes.answering) || !isCount(nodes.total) || nodes.answering > nodes.total)
      return undefined;
    if (site.error !== undefined && typeof site.error !== 'string') return undefined;
    if (site.p50Ms !== undefined && (typeof site.p50Ms !== 'number' || !(site.p50Ms >= 0))) return undefined;
    sites.push({
      host: site.host,
      serving: site.serving,
      nodes: { answering: nodes.answering, total: nodes.total },
      ...(site.error !== undefined ? { error: site.error.slice(0, MAX_ERROR_LENGTH) } : {}),
      ...(site.p50Ms !== undefined ? { p50Ms: site.p50Ms } : {}),
    });
  }
  return { probedAt: value.probedAt, sites };
}

export function formatSiteProbeReport(report: SiteProbeReport): string {
  return JSON.stringify(report);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}
