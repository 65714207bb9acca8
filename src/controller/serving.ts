// Whether the public sites answer, from what the reload agents report on their NGINX pods (the
// site-probe annotation of src/api/probe.ts): pure functions from the pods to `status.sites`, the
// Serving condition and the Events of its transitions. The agents apply the failure and success
// thresholds over consecutive probes; this only sums their verdicts up over the pods.
//
// How the pods' reports are summed, per site:
// - only fresh reports count: a report older than `staleAfterMs` (two refresh periods and two
//   probe intervals), a malformed annotation, or none at all is a pod that has not reported;
// - serving is True when the site serves through every NGINX pod that reported (the Service
//   sends users to any of them), False when it fails through any, Unknown when none reported;
// - nodes answering, the error and the latency are the worst reporting pod's view: a node one
//   NGINX pod cannot reach fails that pod's share of the requests;
// - lastProbeTime is the freshest report's time; it and the latency alone change the status at
//   most once per refresh period, so a healthy fleet does not rewrite status on every report.
import type * as k8s from '@kubernetes/client-node';
import { parseSiteProbeReport, SITE_PROBES_ANNOTATION, SITE_PROBES_REFRESH_MS, type SiteProbe } from '../api/probe.js';
import { SERVED_CONDITION, STAND_IN_REASON } from '../api/agent.js';
import type { Condition, SiteStatus, Wso2FrontendStatus } from '../api/schema.js';
import type { EventType } from './events.js';
import type { ConditionReason } from './status.js';

/** The agents' probe interval unless the spec sets another. */
export const DEFAULT_PROBE_INTERVAL_MS = 30_000;

/** A report older than this is stale: a live agent rewrites it every refresh period, each probe taking at most an interval. */
/** How far ahead of the operator's clock a report's probedAt may be (node clock skew). */
export const MAX_CLOCK_SKEW_MS = 60_000;

export function staleAfterMs(intervalMs: number): number {
  return 2 * SITE_PROBES_REFRESH_MS + 2 * intervalMs;
}

export interface ServingVerdict {
  status: Condition['status'];
  reason: ConditionReason;
  message: string;
}

export interface SiteProbing {
  sites: SiteStatus[];
  serving: ServingVerdict;
  /** When a report counted now goes stale, in ms from now: the status must be looked at again then. */
  recheckAfterMs?: number;
}

export interface ServingEvent {
  type: EventType;
  reason: string;
  note: string;
}

interface PodReport {
  pod: string;
  probedAt: number;
  site: SiteProbe;
}

const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const nodesOf = (s: { nodesAnswering?: number; nodesTotal?: number }) => `${s.nodesAnswering}/${s.nodesTotal}`;
const degraded = (s: SiteStatus) => s.serving === 'True' && (s.nodesAnswering ?? 0) < (s.nodesTotal ?? 0);

function describeDuration(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : `${Math.round(ms / 1000)}s`;
}

/** Worst first: not serving, then the fewest nodes answering of the total, then by pod name (deterministic). */
function worstFirst(a: PodReport, b: PodReport): number {
  if (a.site.serving !== b.site.serving) return a.site.serving ? 1 : -1;
  const ratio = (r: PodReport) => (r.site.nodes.total ? r.site.nodes.answering / r.site.nodes.total : 1);
  return ratio(a) - ratio(b) || a.pod.localeCompare(b.pod);
}

/**
 * `status.sites` and the Serving verdict for the frontend's `hosts`, from its NGINX pods' reports.
 * `previous` is the status written before: its probe time and latency are kept while nothing else
 * of a site changed and the refresh period has not passed.
 */
export function summariseProbes(
  hosts: readonly string[],
  pods: readonly k8s.V1Pod[],
  previous: readonly SiteStatus[] | undefined,
  now: Date,
  intervalMs: number = DEFAULT_PROBE_INTERVAL_MS,
): SiteProbing {
  const staleAfter = staleAfterMs(intervalMs);
  const live = pods.filter((pod) => !pod.metadata?.deletionTimestamp);
  const fresh: { pod: string; probedAt: number; sites: SiteProbe[] }[] = [];
  let stale = 0;
  let malformed = 0;
  for (const pod of live) {
    const text = pod.metadata?.annotations?.[SITE_PROBES_ANNOTATION];
    if (text === undefined) continue;
    const report = parseSiteProbeReport(text);
    if (!report) {
      malformed++;
      continue;
    }
    const probedAt = Date.parse(report.probedAt);
    // A report dated ahead of this clock by more than a little skew is not believed (counted as
    // malformed): it would never go stale (a node's clock far ahead, or a report written to pin a verdict).
    if (probedAt - now.getTime() > MAX_CLOCK_SKEW_MS) {
      malformed++;
      continue;
    }
    if (now.getTime() - probedAt > staleAfter) stale++;
    else fresh.push({ pod: pod.metadata?.name ?? '', probedAt, sites: report.sites });
  }

  const sites = [...new Set(hosts)].map((host): SiteStatus => {
    const reports = fresh.flatMap(({ pod, probedAt, sites }) =>
      sites.filter((site) => site.host === host).map((site) => ({ pod, probedAt, site })),
    );
    if (!reports.length) return { host, serving: 'Unknown' };
    const worst = [...reports].sort(worstFirst)[0]!;
    const error = worst.site.error ?? reports.find((r) => r.site.error)?.site.error;
    const latencies = reports.flatMap((r) => (r.site.p50Ms === undefined ? [] : [r.site.p50Ms]));
    const site: SiteStatus = {
      host,
      serving: worst.site.serving ? 'True' : 'False',
      nodesAnswering: worst.site.nodes.answering,
      nodesTotal: worst.site.nodes.total,
      lastProbeTime: rfc3339(Math.max(...reports.map((r) => r.probedAt))),
      ...(error ? { lastError: error } : {}),
      ...(latencies.length ? { p50LatencyMs: Math.round(Math.max(...latencies)) } : {}),
    };
    return keepRecentProbeTime(
      site,
      previous?.find((p) => p.host === host),
    );
  });

  const recheck = fresh.map((r) => r.probedAt + staleAfter - now.getTime());
  return {
    sites,
    serving: servingVerdict(sites, {
      pods: live.length,
      reported: fresh.length,
      stale,
      malformed,
      staleAfter,
      standIns: live.filter(
        (pod) => pod.status?.conditions?.find((c) => c.type === SERVED_CONDITION)?.reason === STAND_IN_REASON,
      ).length,
    }),
    ...(recheck.length ? { recheckAfterMs: Math.max(1000, Math.min(...recheck) + 1000) } : {}),
  };
}

/** The site as written before when only its probe time or latency moved, within the refresh period. */
function keepRecentProbeTime(site: SiteStatus, before: SiteStatus | undefined): SiteStatus {
  if (
    !before?.lastProbeTime ||
    before.serving !== site.serving ||
    before.nodesAnswering !== site.nodesAnswering ||
    before.nodesTotal !== site.nodesTotal ||
    before.lastError !== site.lastError ||
    Date.parse(site.lastProbeTime!) - Date.parse(before.lastProbeTime) >= SITE_PROBES_REFRESH_MS
  )
    return site;
  const { p50LatencyMs: _latency, ...rest } = site;
  return {
    ...rest,
    lastProbeTime: before.lastProbeTime,
    ...(before.p50LatencyMs !== undefined ? { p50LatencyMs: before.p50LatencyMs } : {}),
  };
}

function servingVerdict(
  sites: readonly SiteStatus[],
  pods: { pods: number; reported: number; stale: number; malformed: number; staleAfter: number; standIns: number },
): ServingVerdict {
  const failing = sites.filter((s) => s.serving === 'False');
  if (failing.length)
    return {
      status: 'False',
      reason: 'SitesNotServing',
      message: failing
        .map((s) => `${s.host} is not serving (${nodesOf(s)} nodes answer): ${s.lastError ?? 'no reason reported'}`)
        .join('; '),
    };
  const unknown = sites.filter((s) => s.serving === 'Unknown');
  if (unknown.length === sites.length) {
    const why = [
      `${pods.reported}/${pods.pods} NGINX pods have a probe report newer than ${describeDuration(pods.staleAfter)}`,
      ...(pods.stale ? [`${pods.stale} report(s) older`] : []),
      ...(pods.malformed ? [`${pods.malformed} annotation(s) ${SITE_PROBES_ANNOTATION} not a valid report`] : []),
    ].join('; ');
    return {
      status: 'Unknown',
      reason: pods.stale && !pods.reported ? 'ProbeReportsStale' : 'NoProbeResults',
      // Probes that are off never get here (ProbesDisabled): either the agents have not probed
      // yet, or no agent runs at all (the local control plane's stand-ins).
      message: `no site probe results: ${why} (${
        pods.standIns && pods.standIns === pods.pods
          ? 'the local control plane runs no NGINX: its stand-in reload agents report the configuration but do not probe the sites'
          : 'the reload agents have not probed yet'
      })`,
    };
  }
  const partly = sites.filter(degraded).map((s) => `${s.host}: ${nodesOf(s)} nodes answer`);
  if (unknown.length)
    return {
      status: 'Unknown',
      reason: 'SitesNotProbed',
      message: [
        `no recent probe of ${unknown.map((s) => s.host).join(', ')}; every other site answers`,
        ...partly,
      ].join('; '),
    };
  return {
    status: 'True',
    reason: 'SitesServing',
    message: [`every site answers (${sites.length})`, ...partly].join('; '),
  };
}

/** The Events of what changed since the status written before: a site stopped or resumed serving, a node stopped or resumed answering. */
export function servingEvents(previous: Wso2FrontendStatus | undefined, sites: readonly SiteStatus[]): ServingEvent[] {
  const events: ServingEvent[] = [];
  for (const site of sites) {
    const before = previous?.sites?.find((s) => s.host === site.host);
    const reason = site.lastError ? `: ${site.lastError}` : '';
    if (site.serving === 'False' && before?.serving !== 'False')
      events.push({
        type: 'Warning',
        reason: 'NotServing',
        note: `${site.host} is not serving (${nodesOf(site)} nodes answer)${reason}`,
      });
    else if (site.serving === 'True' && before?.serving === 'False')
      events.push({
        type: 'Normal',
        reason: 'ServingAgain',
        note: `${site.host} serves again (${nodesOf(site)} nodes answer)`,
      });
    else if (degraded(site) && !(before && degraded(before)))
      events.push({
        type: 'Warning',
        reason: 'NodesNotAnswering',
        note: `${site.host} serves, but only ${nodesOf(site)} nodes answer${reason}`,
      });
    else if (site.serving === 'True' && !degraded(site) && before && degraded(before))
      events.push({
        type: 'Normal',
        reason: 'NodesAnswering',
        note: `${site.host}: ${nodesOf(site)} nodes answer again`,
      });
  }
  return events;
}
