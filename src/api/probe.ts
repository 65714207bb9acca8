// The contract between the reload agent's site probes and the operator: what the operator asks
// the agent to probe (the probe plan, a file of the NGINX ConfigMap), what the agent reports on
// its own Pod about each public site it probed through its NGINX, and how the operator reads it.
// Both sides import these names from here only, so they cannot drift apart.
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { oneLine } from './text.js';
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

/** Reasons of the Pod condition: every site serves; some site does not; probes are off (spec.probes.enabled: false). */
export type SitesServingReason = 'SitesServing' | 'SitesNotServing' | 'ProbesDisabled';

/** The key of the NGINX ConfigMap (a file of the served configuration) holding the JSON `ProbePlan`. */
export const PROBE_PLAN_FILE = 'probes.json';

const Port = Type.Integer({ minimum: 1, maximum: 65535 });
const RelativeFile = Type.String({ pattern: '^[A-Za-z0-9][-._A-Za-z0-9]*(/[A-Za-z0-9][-._A-Za-z0-9]*)*$' });

/** One node behind a site, probed through the loopback-only probe listener of the pod's NGINX. */
export const NodeProbePlan = Type.Object({
  /** The node's name (an external node's name, or a managed pod's). */
  node: Type.String({ minLength: 1, maxLength: 253 }),
  /** Plain HTTP on loopback; NGINX proxies it to exactly this node, as the site would. */
  port: Port,
  /** The path prefix NGINX pins to this node (replaced by "/" towards the node). */
  pathPrefix: Type.String({ pattern: '^/[-._/A-Za-z0-9]*/$' }),
});

export const SiteProbePlan = Type.Object({
  /** The site's name in the pattern (portal, gateway, ...). */
  site: Type.String({ minLength: 1, maxLength: 63 }),
  /** The public host: the probe's SNI, and the name the certificate must cover. */
  host: Type.String({ minLength: 1, maxLength: 253 }),
  /** The Host header a user sends: the host, with the public port when not 443. */
  hostHeader: Type.String({ minLength: 1, maxLength: 260 }),
  /** The pod's own HTTPS listener. */
  address: Type.String({ minLength: 1, maxLength: 64 }),
  port: Port,
  /** The product's health path for this site (see src/model/catalog.ts, probePath). */
  path: Type.String({ pattern: '^/[^\\s]*$', maxLength: 256 }),
  /** Where a redirect may go: the site's public origins (https://host[:port], and http:// when it proxies HTTP). */
  publicOrigins: Type.Array(Type.String({ maxLength: 300 }), { minItems: 1, maxItems: 2 }),
  /**
   * The CA the presented certificate must chain to: the Secret's ca.crt (the frontend CA in
   * self-signed mode; cert-manager's or the user's when their Secret has one). When the served
   * configuration has no such file, the system's public roots.
   */
  caFile: RelativeFile,
  nodes: Type.Array(NodeProbePlan, { maxItems: 256 }),
});

export const ProbePlan = Type.Object({
  intervalSeconds: Type.Integer({ minimum: 1 }),
  timeoutSeconds: Type.Integer({ minimum: 1 }),
  failureThreshold: Type.Integer({ minimum: 1 }),
  successThreshold: Type.Integer({ minimum: 1 }),
  sites: Type.Array(SiteProbePlan, { maxItems: 64 }),
});

export type NodeProbePlan = Static<typeof NodeProbePlan>;
export type SiteProbePlan = Static<typeof SiteProbePlan>;
export type ProbePlan = Static<typeof ProbePlan>;

/** The plan in a served configuration, or why it cannot be used. */
export function parseProbePlan(text: string): ProbePlan | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `${PROBE_PLAN_FILE} is not JSON: ${String(error)}`;
  }
  const error = Value.Errors(ProbePlan, value).First();
  return error ? `${PROBE_PLAN_FILE}${error.path}: ${error.message}` : (value as ProbePlan);
}

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
      ...(site.error !== undefined ? { error: oneLine(site.error, MAX_ERROR_LENGTH) } : {}),
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
