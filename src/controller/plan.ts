// What one reconcile decides, as pure functions of what it observed: `plan` gives the objects to
// apply (or what it still needs to read or issue first, or that nothing may be applied), and
// `assess` turns what the apply did into the status findings and Events. No I/O and an injected
// clock, so every branch is a table test (test/controller/plan.test.ts).
import type * as k8s from '@kubernetes/client-node';
import type { RoleStatus, Wso2Frontend } from '../api/schema.js';
import { formatProblem } from '../api/validate.js';
import type { Role } from '../api/vocabulary.js';
import {
  buildTopology,
  serviceDnsNames,
  type Component,
  type ObservedEndpoints,
  type ProbeSettings,
  type Topology,
} from '../model/topology.js';
import { validateSpec } from '../model/validate.js';
import { RELEASE_IMAGES, type OperatorImages } from '../model/images.js';
import { agentAccess } from '../render/agent.js';
import { desiredObjects, nginxName } from '../render/objects.js';
import {
  AGENT_CONTRACT,
  AGENT_CONTRACT_ANNOTATION,
  CONFIG_HASH_ANNOTATION,
  SERVED_CONDITION,
  servedHashOf,
} from '../api/agent.js';
import { LABEL, NGINX_COMPONENT, objectId } from '../render/ownership.js';
import { networkPolicies } from '../render/network-policy.js';
import { productConfigMap, productConfigName, wso2Access, wso2Workloads } from '../render/workloads.js';
import type { IssuedCertificate, IssueRequest } from '../tls/issuer.js';
import { planCertificates, type CertManagerObserved, type SecretRead } from './certificates.js';
import type { CertManagerCertificate } from '../render/cert-manager.js';
import {
  checkBaseConfig,
  checkTruststorePassword,
  describeOverride,
  productConfigured,
  type BaseConfigMap,
  type TruststoreSecretKeys,
} from './product.js';
import type { EventType } from './events.js';
import { readyVerdict, type Findings, type Verdict } from './status.js';
import { DEFAULT_PROBE_INTERVAL_MS, servingEvents, summariseProbes } from './serving.js';
import { failingPods } from './pod-failures.js';
import { oneLine } from '../api/text.js';

/** Everything a decision is made on. */
export interface Observed {
  frontend: Wso2Frontend;
  /** The EndpointSlices of the frontend's role Services (managed backends). */
  endpointSlices: readonly k8s.V1EndpointSlice[];
  /** The frontend's NGINX pods, with the conditions their reload agents report. */
  nginxPods: readonly k8s.V1Pod[];
  /** The frontend's WSO2 pods (managed backends), for why one is not ready. */
  wso2Pods?: readonly k8s.V1Pod[];
  /** The certificate Secrets read so far, by name. */
  secrets: ReadonlyMap<string, SecretRead>;
  /** Certificates issued in this reconcile, not stored yet. */
  issued: readonly IssuedCertificate[];
  /** The user's base ConfigMap (backends.managed.configMapName), read fresh; null when it does not exist. */
  baseConfigMap?: BaseConfigMap;
  /** Mode issuer, once the plan asked: cert-manager's API and the Certificates as applied. */
  certManager?: CertManagerObserved;
  /** The key names of the truststore password Secret (backends.managed.truststorePassword); null when it does not exist. */
  truststoreSecretKeys?: TruststoreSecretKeys;
}

export interface PlannedEvent {
  type: EventType;
  reason: string;
  action: string;
  note: string;
  /** Recorded only when the status changed (a problem is reported once, not on every resync). */
  onlyOnStatusChange?: boolean;
}

/** What report() writes: the status findings, the Events, the certificates for the expiry metric, when to look again. */
export interface Outcome {
  findings: Findings;
  events: PlannedEvent[];
  /** notAfter of the served certificates by Secret name, once they are settled. */
  certificates?: ReadonlyMap<string, Date>;
  requeueAfterMs?: number;
  /** The reconcile failed with this message (after reporting) and is retried with backoff. */
  error?: string;
}

export interface ApplyPlan {
  action: 'apply';
  frontend: Wso2Frontend;
  topology: Topology;
  /** In apply order: the certificate Secrets first, so NGINX never mounts a missing one. */
  desired: k8s.KubernetesObject[];
  /** Ids (objectId) of every owned object to keep: the desired ones and Secrets kept without a write. Pruning deletes the rest. */
  keep: ReadonlySet<string>;
  /** Ids of the certificate Secrets among `desired`. */
  secretIds: string[];
  /** Findings known before the apply. */
  findings: Findings;
  nginxPods: readonly k8s.V1Pod[];
  wso2Pods: readonly k8s.V1Pod[];
  /** What was issued, for the CertificateIssued Event. */
  issued: string[];
  certificates: ReadonlyMap<string, Date>;
  requeueAfterMs?: number;
  /** Known before the apply: the user's base ConfigMap or truststore password Secret is missing (new WSO2 pods cannot start). */
  productProblem?: Verdict;
  /** Owned keys the user's base files set to other values, as the ProductConfigured message names them. */
  overrides: string[];
  /** A site started or stopped serving (from the NGINX pods' probe reports). */
  probeEvents: PlannedEvent[];
}

export type Plan =
  | { action: 'read'; secrets: string[]; fresh: boolean }
  | { action: 'issue'; requests: IssueRequest[] }
  /** Create these Secrets unless they exist (the frontend CA), read what the API server then holds, and plan again. */
  | { action: 'create'; secrets: k8s.V1Secret[] }
  /** Mode issuer: apply these cert-manager Certificates (when the API server serves the kind) and plan again. */
  | { action: 'request'; certificates: CertManagerCertificate[] }
  | { action: 'report'; outcome: Outcome }
  | ApplyPlan;

/** Renewal is re-checked at least this often, so a long renewal time never outgrows a timer. */
export const MAX_REQUEUE_MS = 12 * 3600 * 1000;

export function plan(observed: Observed, now: Date, images: OperatorImages = RELEASE_IMAGES): Plan {
  const { frontend } = observed;
  const generation = frontend.metadata.generation ?? 0;
  // Until a new configuration is applied, the one served is the one the status names.
  const served = frontend.status?.configHash ? { configHash: frontend.status.configHash } : {};
  const validation = validateSpec(frontend.spec);
  if (!validation.ok) {
    // Nothing owned is touched: whatever works keeps working until the spec is fixed.
    const message = validation.problems.map(formatProblem).join('; ');
    // The sites NGINX still serves are the ones the status named.
    const probes = probed(observed, frontend.status?.sites?.map((s) => s.host) ?? [], now, {
      enabled: frontend.spec.probes?.enabled ?? true,
      intervalSeconds: frontend.spec.probes?.intervalSeconds ?? DEFAULT_PROBE_INTERVAL_MS / 1000,
    });
    const findings: Findings = {
      generation,
      accepted: { ok: false, reason: 'InvalidSpec', message },
      ...served,
      ...probes.findings,
    };
    const event: PlannedEvent = {
      type: 'Warning',
      reason: 'InvalidSpec',
      action: 'Validate',
      note: message,
      onlyOnStatusChange: true,
    };
    return {
      action: 'report',
      outcome: { findings, events: [event, ...probes.events], ...requeue(probes.recheckAfterMs) },
    };
  }
  const topology = buildTopology(validation.spec, endpointsOf(observed.endpointSlices), images);
  const certificates = planCertificates(
    frontend,
    topology,
    observed.secrets,
    observed.issued,
    now,
    observed.certManager,
  );
  if ('action' in certificates) return certificates;

  const probes = probed(
    observed,
    topology.sites.map((s) => s.host),
    now,
    topology.probes,
  );
  const findings: Findings = {
    generation,
    accepted: { ok: true, reason: 'Valid', message: 'the spec is valid' },
    certificates: certificates.verdict,
    urls: publicUrls(topology),
    ...(topology.backends.source === 'managed' ? { roles: roleStatuses(topology.backends.components) } : {}),
    ...(certificates.notAfter ? { certificateNotAfter: certificates.notAfter } : {}),
    ...served,
    ...probes.findings,
  };
  if (!certificates.verdict.ok) {
    // Said once, when the status changes: a Ready frontend going False is news.
    const event: PlannedEvent = {
      // Waiting for an issuer is news, not a fault.
      type: certificates.verdict.waiting ? 'Normal' : 'Warning',
      reason: certificates.verdict.reason,
      action: 'Check',
      note: certificates.verdict.message,
      onlyOnStatusChange: true,
    };
    return {
      action: 'report',
      outcome: {
        findings,
        events: [event, ...probes.events],
        certificates: certificates.served,
        ...requeue(certificates.retryAfterMs, probes.recheckAfterMs),
      },
    };
  }

  const base =
    topology.backends.source === 'managed' && topology.backends.baseConfigMap
      ? checkBaseConfig(frontend, topology, topology.backends.baseConfigMap, observed.baseConfigMap ?? null)
      : { overrides: [] };
  if (base.problem?.reason === 'InvalidBaseConfig') {
    // A base file the init container could not patch: report it and roll nothing.
    const event: PlannedEvent = {
      type: 'Warning',
      reason: 'InvalidBaseConfig',
      action: 'Validate',
      note: base.problem.message,
      onlyOnStatusChange: true,
    };
    return {
      action: 'report',
      outcome: {
        findings: { ...findings, product: base.problem },
        events: [event, ...probes.events],
        certificates: certificates.served,
        ...requeue(probes.recheckAfterMs),
      },
    };
  }

  const productProblem = base.problem ?? checkTruststorePassword(topology, observed.truststoreSecretKeys);
  const desired = [
    ...certificates.secrets,
    // The agents' identity before the Deployment whose pods use it.
    ...agentAccess(frontend, topology),
    ...desiredObjects(frontend, topology, certificates.versions),
    productConfigMap(frontend, topology),
    ...wso2Access(frontend, topology),
    ...wso2Workloads(frontend, topology, base.hash ? { baseConfigHash: base.hash } : {}),
    ...networkPolicies(frontend, topology),
  ];
  return {
    action: 'apply',
    frontend,
    topology,
    desired,
    keep: new Set([
      ...desired.map(objectId),
      ...certificates.kept.map((name) => `Secret/${name}`),
      ...certificates.keptObjects,
    ]),
    secretIds: certificates.secrets.map(objectId),
    findings,
    nginxPods: observed.nginxPods,
    wso2Pods: observed.wso2Pods ?? [],
    issued: certificates.issued,
    certificates: certificates.served,
    ...(productProblem ? { productProblem } : {}),
    overrides: base.overrides.map(describeOverride),
    probeEvents: probes.events,
    ...requeue(
      certificates.renewAt
        ? Math.max(1000, Math.min(MAX_REQUEUE_MS, certificates.renewAt.getTime() - now.getTime()))
        : undefined,
      probes.recheckAfterMs,
    ),
  };
}

/** The sites' status from the NGINX pods' probe reports, and the Events of what changed since the last status. */
function probed(
  observed: Observed,
  hosts: readonly string[],
  now: Date,
  probes: Pick<ProbeSettings, 'enabled' | 'intervalSeconds'>,
): { findings: Pick<Findings, 'sites' | 'serving'>; events: PlannedEvent[]; recheckAfterMs?: number } {
  const { frontend } = observed;
  // No site known (a first spec that is invalid): nothing was probed, Serving is not checked.
  if (!hosts.length) return { findings: {}, events: [] };
  // Off: nothing is probed (the agents remove their reports), so no site has a verdict to show.
  if (!probes.enabled)
    return {
      findings: {
        serving: { status: 'Unknown', reason: 'ProbesDisabled', message: 'site probes are off (spec.probes.enabled)' },
      },
      events: [],
    };
  const probing = summariseProbes(
    hosts,
    observed.nginxPods,
    frontend.status?.sites,
    now,
    Math.max(1, probes.intervalSeconds) * 1000,
  );
  const events = servingEvents(frontend.status, probing.sites).map((e): PlannedEvent => ({
    ...e,
    action: 'Probe',
    onlyOnStatusChange: true,
  }));
  return {
    findings: { sites: probing.sites, serving: probing.serving },
    events,
    ...(probing.recheckAfterMs !== undefined ? { recheckAfterMs: probing.recheckAfterMs } : {}),
  };
}

/** The soonest of the times (ms from now) something must be looked at again. */
function requeue(...afterMs: (number | undefined)[]): { requeueAfterMs?: number } {
  const times = afterMs.filter((ms): ms is number => ms !== undefined);
  return times.length ? { requeueAfterMs: Math.min(...times) } : {};
}

/** What the apply did, as status findings and Events. */
export function assess(
  plan: ApplyPlan,
  result: { applied: ReadonlyMap<string, k8s.KubernetesObject>; refused?: { message: string; permanent?: boolean } },
): Outcome {
  const { frontend } = plan;
  // One Event per reconcile, however many certificates it issued, once they are stored.
  const events: PlannedEvent[] =
    plan.issued.length && plan.secretIds.every((id) => result.applied.has(id))
      ? [{ type: 'Normal', reason: 'CertificateIssued', action: 'Issue', note: `issued ${plan.issued.join('; ')}` }]
      : [];
  const certificates = plan.certificates;
  if (result.refused?.permanent) {
    // An object the API server finds invalid (422) stays invalid however often it is sent: Stalled
    // until the resource changes, not a retry loop.
    const message = `${result.refused.message} (retrying cannot help: change the resource)`;
    const configuration: Verdict = { ok: false, reason: 'ApplyInvalid', message };
    const refusal: PlannedEvent = {
      type: 'Warning',
      reason: 'ApplyInvalid',
      action: 'Apply',
      note: message,
      onlyOnStatusChange: true,
    };
    return {
      findings: { ...plan.findings, configuration },
      events: [...events, refusal, ...plan.probeEvents],
      certificates,
    };
  }
  if (result.refused) {
    const configuration: Verdict = { ok: false, reason: 'ApplyFailed', message: result.refused.message, waiting: true };
    return {
      findings: { ...plan.findings, configuration },
      events: [...events, ...plan.probeEvents],
      certificates,
      error: result.refused.message,
    };
  }
  const deployment = result.applied.get(`Deployment/${nginxName(frontend)}`) as k8s.V1Deployment;
  const desiredHash = result.applied.get(`ConfigMap/${nginxName(frontend)}`)?.metadata?.annotations?.[
    CONFIG_HASH_ANNOTATION
  ];
  const configuration = withFailingPods(
    rollout(deployment) ??
      withAgentContract(served(desiredHash ?? '', plan.nginxPods), plan.nginxPods, plan.topology.nginx.image),
    plan.nginxPods,
  );
  // status.configHash names what every ready NGINX pod serves: the previous hash until the new one is.
  const configHash = configuration.ok ? desiredHash : plan.findings.configHash;
  const product = plan.productProblem ?? productConfigured(frontend, plan.topology, result.applied);
  const findings: Findings = {
    ...plan.findings,
    configuration,
    backends: withProductProblem(
      withFailingWso2Pods(backendsAvailable(plan.topology), plan.wso2Pods),
      plan.productProblem,
    ),
    product: plan.overrides.length
      ? { ...product, message: `${product.message}; owned keys overridden: ${plan.overrides.join('; ')}` }
      : product,
    productConfigMap: productConfigName(frontend),
    ...(configHash ? { configHash } : {}),
  };
  // A base ConfigMap or truststore password Secret that is missing: the WSO2 pods cannot start
  // until the user creates it, which is a Warning, said once when the status first says so.
  if (plan.productProblem)
    events.push({
      type: 'Warning',
      reason: plan.productProblem.reason,
      action: 'PatchProductConfig',
      note: plan.productProblem.message,
      onlyOnStatusChange: true,
    });
  // Named once, when the status first says so (an edit of the user's ConfigMap changes the message).
  for (const note of plan.overrides)
    events.push({
      type: 'Warning',
      reason: 'OwnedKeyOverridden',
      action: 'PatchProductConfig',
      note,
      onlyOnStatusChange: true,
    });
  if (configuration.reason === 'ReloadFailed')
    events.push({
      type: 'Warning',
      reason: 'ReloadFailed',
      action: 'Reload',
      note: configuration.message,
      onlyOnStatusChange: true,
    });
  // A change of what the NGINX pods serve, once they served one before: until then Ready names
  // the configuration (so at most two Events from apply to Ready: CertificateIssued and Ready,
  // however often the endpoints of new pods change the upstreams meanwhile). While the pods
  // reload a change, Ready is False (Reloading) for a moment: coming back from that is this
  // Event, not a new Ready one.
  const ready = frontend.status?.conditions?.find((c) => c.type === 'Ready');
  const servedBefore = frontend.status?.configHash;
  // A new frontend's pods reload its first configuration too (Reloading, nothing served before):
  // that one still ends in the Ready Event. Sites that stop and resume serving say so with their
  // own Events (NotServing, ServingAgain), not with a Ready one.
  const wasReady =
    ready?.status === 'True' ||
    ready?.reason === 'SitesNotServing' ||
    (ready?.reason === 'Reloading' && servedBefore !== undefined);
  if (configHash && servedBefore && configHash !== servedBefore)
    events.push({
      type: 'Normal',
      reason: 'ConfigurationUpdated',
      action: 'Reload',
      note: `NGINX serves configuration ${configHash}`,
    });
  // The Event says what the Ready condition says: never "serving" while Ready is False.
  if (readyVerdict(findings).ok && !wasReady)
    events.push({
      type: 'Normal',
      reason: 'Ready',
      action: 'Reconcile',
      note: `serving ${findings.urls?.join(', ')}${configHash ? ` with NGINX configuration ${configHash}` : ''}`,
    });
  events.push(...plan.probeEvents);
  return {
    findings,
    events,
    certificates,
    ...(plan.requeueAfterMs ? { requeueAfterMs: plan.requeueAfterMs } : {}),
  };
}

/** What each managed role runs, for status.roles. */
export function roleStatuses(components: readonly Component[]): RoleStatus[] {
  return components.map(({ role, image, profile }) => ({ role, image, ...(profile ? { profile } : {}) }));
}

/** Ready endpoints of the operator-run pods, by role, from the role Services' EndpointSlices. */
export function endpointsOf(slices: readonly k8s.V1EndpointSlice[]): ObservedEndpoints {
  const observed: ObservedEndpoints = {};
  // Sorted, so the rendered upstreams do not change with the order the cache returns slices in.
  const sorted = [...slices].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  for (const slice of sorted) {
    const role = slice.metadata?.labels?.[LABEL.component] as Role | undefined;
    if (!role || role === (NGINX_COMPONENT as Role)) continue;
    const ready = (slice.endpoints ?? []).filter((e) => e.conditions?.ready && !e.conditions.terminating);
    const service = slice.metadata?.labels?.['kubernetes.io/service-name'];
    // The role Service's slices only: the headless Service of a role with peers (same labels) also
    // lists pods that are not ready.
    const instance = slice.metadata?.labels?.[LABEL.instance];
    if (service && instance && service !== `${instance}-${role}`) continue;
    const namespace = slice.metadata?.namespace ?? 'default';
    observed[role] = [
      ...(observed[role] ?? []),
      ...ready.flatMap((e) =>
        e.addresses.map((address) => {
          // The names the pod may put in its redirects, which NGINX rewrites to the public host.
          const hostnames = serviceDnsNames(service, namespace, e.hostname);
          return { pod: e.targetRef?.name ?? address, address, ...(hostnames.length ? { hostnames } : {}) };
        }),
      ),
    ];
  }
  return observed;
}

function publicUrls(topology: Topology): string[] {
  const port = topology.ports.https === 443 ? '' : `:${topology.ports.https}`;
  return topology.sites.map((s) => `https://${s.host}${port}/`);
}

/** Until every NGINX replica runs the current pod template (a new image, more replicas, ...), the rollout is what is awaited. */
function rollout(deployment: k8s.V1Deployment): Verdict | undefined {
  const wanted = deployment.spec?.replicas ?? 1;
  const s = deployment.status ?? {};
  const current = (s.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 0);
  const updated = s.updatedReplicas ?? 0;
  const available = s.availableReplicas ?? 0;
  if (current && updated >= wanted && available >= wanted && (s.replicas ?? 0) <= wanted) return undefined;
  // Right after an apply the status still describes the previous pod template: until the
  // Deployment controller has observed this generation, no replica is known to run it.
  return {
    ok: false,
    reason: 'RollingOut',
    message: current
      ? `${Math.min(updated, available)} of ${wanted} NGINX replica(s) run the current pod template`
      : `0 of ${wanted} NGINX replica(s) run the current pod template: the Deployment controller has not seen it yet`,
    waiting: true,
  };
}

/**
 * An NGINX pod that is not ready because its container failed (its agent exited when the NGINX
 * master died, and the kubelet restarts it) is named with the kubelet's account of it, rather
 * than a rollout or a count of pods that hides why. A configuration that every pod refuses
 * (ReloadFailed) says more, and stays.
 */
function withFailingPods(verdict: Verdict, pods: readonly k8s.V1Pod[]): Verdict {
  if (!verdict.ok && !verdict.waiting) return verdict;
  const failing = failingPods(pods);
  if (!failing) return verdict;
  return { ok: false, reason: 'PodNotReady', message: `NGINX ${failing}; ${verdict.message}`, waiting: true };
}

/**
 * Once every NGINX pod runs the current template, each ready pod's agent must speak this
 * operator's contract (AGENT_CONTRACT): an agent of another release may misread what the operator
 * writes, so its report is not taken as served. Not waiting: only another image helps (a pinned
 * spec.nginx.image older than the operator, or an operator configured with another release's
 * NGINX image). The pods keep serving what they serve.
 */
function withAgentContract(verdict: Verdict, pods: readonly k8s.V1Pod[], image: string): Verdict {
  const other = pods.filter(
    (pod) =>
      !pod.metadata?.deletionTimestamp &&
      podCondition(pod, 'Ready')?.status === 'True' &&
      podCondition(pod, SERVED_CONDITION) !== undefined &&
      pod.metadata?.annotations?.[AGENT_CONTRACT_ANNOTATION] !== AGENT_CONTRACT,
  );
  if (!other.length) return verdict;
  const first = other[0]!;
  const theirs = first.metadata?.annotations?.[AGENT_CONTRACT_ANNOTATION];
  const others = other.length > 1 ? ` (and ${other.length - 1} more pod(s))` : '';
  return {
    ok: false,
    reason: 'AgentContractMismatch',
    message: `NGINX pod ${first.metadata?.name}${others} runs a reload agent of contract ${theirs === undefined ? 'none (older than contract 1)' : oneLine(theirs, 20)} from image ${image}; this operator speaks contract ${AGENT_CONTRACT}: leave spec.nginx.image unset (the operator's NGINX image) or set an image of the operator's release`,
  };
}

/** A role without a ready backend names the WSO2 pods whose containers failed, and why (a WSO2 pod down alone does not make the frontend not Ready). */
function withFailingWso2Pods(verdict: Verdict, pods: readonly k8s.V1Pod[]): Verdict {
  const failing = verdict.ok ? undefined : failingPods(pods);
  return failing ? { ...verdict, message: `${verdict.message}; WSO2 ${failing}` } : verdict;
}

/**
 * Ready WSO2 pods while the product configuration they need is missing: they started before it
 * went missing, and new ones (a rollout, a rescheduled pod) cannot start; the verdict says so
 * rather than a bare "every role has a ready backend" beside a ProductConfigured that says the
 * pods wait.
 */
function withProductProblem(verdict: Verdict, problem: Verdict | undefined): Verdict {
  return verdict.ok && problem
    ? {
        ...verdict,
        message: `${verdict.message} (pods that started before; new WSO2 pods cannot start: ${problem.message})`,
      }
    : verdict;
}

const podCondition = (pod: k8s.V1Pod, type: string) => pod.status?.conditions?.find((c) => c.type === type);

/** The most characters of an agent's report (its ConfigurationServed message) put on the frontend. */
const AGENT_REPORT_LIMIT = 600;

/**
 * What the reload agents report on the NGINX pods (their ConfigurationServed condition): served
 * once every ready pod serves `hash`. A pod whose agent could not serve `hash` (nginx -t or the
 * reload refused it) makes it ReloadFailed with the agent's own words; that pod keeps serving
 * its previous configuration, and its agent retries with backoff.
 */
export function served(hash: string, pods: readonly k8s.V1Pod[]): Verdict {
  const live = [...pods]
    .filter((pod) => !pod.metadata?.deletionTimestamp)
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  const ready = live.filter((pod) => podCondition(pod, 'Ready')?.status === 'True');
  const serving = ready.filter((pod) => servedHashOf(podCondition(pod, SERVED_CONDITION)?.message) === hash);
  const counted = `${serving.length}/${ready.length} NGINX pods serve configuration ${hash}`;
  const failed = live.filter((pod) => {
    const report = podCondition(pod, SERVED_CONDITION);
    return report?.reason === 'ReloadFailed' && servedHashOf(report.message) !== hash && report.message?.includes(hash);
  });
  if (failed.length) {
    const first = failed[0]!;
    const others = failed.length > 1 ? ` (and ${failed.length - 1} more pod(s))` : '';
    // The agent's words, as one bounded printable line: whoever can write the pod's status writes them.
    const report = oneLine(podCondition(first, SERVED_CONDITION)!.message!, AGENT_REPORT_LIMIT);
    // Not waiting: the same configuration fails the same way on every pod until something changes (Stalled).
    return {
      ok: false,
      reason: 'ReloadFailed',
      message: `${counted}; pod ${first.metadata?.name}${others}: ${report}`,
    };
  }
  if (ready.length === 0) return { ok: false, reason: 'NoReadyPod', message: 'no NGINX pod is ready', waiting: true };
  if (serving.length === ready.length) return { ok: true, reason: 'Served', message: counted };
  return { ok: false, reason: 'Reloading', message: counted, waiting: true };
}

function backendsAvailable(topology: Topology): Verdict {
  const empty = topology.upstreams.filter((u) => u.servers.length === 0).map((u) => `${u.role}:${u.port}`);
  return empty.length
    ? {
        ok: false,
        reason: 'NoReadyBackend',
        message: `no ready backend for ${[...new Set(empty)].join(', ')}`,
        waiting: true,
      }
    : { ok: true, reason: 'BackendsReady', message: 'every role has a ready backend' };
}
