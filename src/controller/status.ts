// The status of a Wso2Frontend, computed from what a reconcile found. Pure, so the status is
// written only when it really changed. Conditions follow the Kubernetes API conventions and
// kstatus: Ready summarises; Reconciling says work is in progress; Stalled says it cannot
// progress without a change from the user.
import type { Condition, RoleStatus, SiteStatus, Wso2FrontendStatus } from '../api/schema.js';
import type { ServingVerdict } from './serving.js';
import { cut } from '../api/text.js';

/** The longest condition message the CRD accepts (code points); a longer one would have the whole status write refused. */
const CONDITION_MESSAGE_LIMIT = 32768;

export type ConditionStatus = Condition['status'];

/**
 * Every reason a condition of a Wso2Frontend can carry. Typed, so a reason the code writes must be
 * listed here, and docs/troubleshooting.md must explain each (test/docs/troubleshooting.test.ts).
 */
export const CONDITION_REASONS = [
  // Ready, and Accepted ... ProductConfigured when fine
  'Ready',
  'Valid',
  'CertificatesValid',
  'Served',
  'BackendsReady',
  'Configured',
  'Published',
  // Accepted
  'InvalidSpec',
  // CertificatesReady
  'CertificateInvalid',
  'CertificateNotReady',
  'CertManagerMissing',
  // ConfigurationServed
  'RollingOut',
  'Reloading',
  'NoReadyPod',
  'PodNotReady',
  'ReloadFailed',
  'ApplyFailed',
  'ApplyInvalid',
  'AgentContractMismatch',
  // BackendsAvailable
  'NoReadyBackend',
  // ProductConfigured
  'InvalidBaseConfig',
  'BaseConfigMapMissing',
  'TruststorePasswordMissing',
  // Serving
  'SitesServing',
  'SitesNotServing',
  'ProbesDisabled',
  'NoProbeResults',
  'ProbeReportsStale',
  'SitesNotProbed',
  // any aspect not reached; Reconciling and Stalled
  'NotChecked',
  'Reconciled',
  'Progressing',
] as const;
export type ConditionReason = (typeof CONDITION_REASONS)[number];

export type Verdict =
  | { ok: true; reason: ConditionReason; message: string }
  | { ok: false; reason: ConditionReason; message: string; waiting?: boolean };

/** What one reconcile learned, per aspect; `undefined` means not reached (an earlier step failed). */
export interface Findings {
  generation: number;
  accepted: Verdict;
  certificates?: Verdict;
  configuration?: Verdict;
  backends?: Verdict;
  /** ProductConfigured: the WSO2 pods run the patched configuration, or the external nodes' snippets are published. */
  product?: Verdict;
  /** The ConfigMap with the product configuration (per role settings, or what to set on external nodes). */
  productConfigMap?: string;
  /** Managed backends: the image and profile of each role. */
  roles?: RoleStatus[];
  urls?: string[];
  certificateNotAfter?: Date;
  configHash?: string;
  /** What the NGINX pods' probes say about each public site (src/controller/serving.ts). */
  sites?: SiteStatus[];
  /** Serving: every site answers. Unknown (no probe results) never holds Ready back; False does. */
  serving?: ServingVerdict;
}

const NOT_CHECKED: ConditionReason = 'NotChecked';
const notChecked: Verdict = {
  ok: false,
  reason: NOT_CHECKED,
  message: 'not checked: an earlier step did not succeed',
  waiting: true,
};

/** Keeps lastTransitionTime when a condition's status did not change. */
function withTransitionTime(
  next: Omit<Condition, 'lastTransitionTime'>,
  previous: Condition[] | undefined,
  now: Date,
): Condition {
  const before = previous?.find((c) => c.type === next.type);
  const lastTransitionTime =
    before && before.status === next.status ? before.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return { ...next, lastTransitionTime };
}

/** The conditions Ready summarises, in the order it names their problems. */
function aspectsOf(findings: Findings): [string, Verdict][] {
  return [
    ['Accepted', findings.accepted],
    ['CertificatesReady', findings.certificates ?? notChecked],
    ['ConfigurationServed', findings.configuration ?? notChecked],
    ['BackendsAvailable', findings.backends ?? notChecked],
    ['ProductConfigured', findings.product ?? notChecked],
  ];
}

function servingOf(findings: Findings): ServingVerdict {
  return (
    findings.serving ?? {
      status: 'Unknown',
      reason: NOT_CHECKED,
      message: 'not checked: an earlier step did not succeed',
    }
  );
}

/** Every aspect that is not fine, Serving last (False only: Unknown never holds Ready back). */
function failingAspects(findings: Findings): [string, Verdict][] {
  const serving = servingOf(findings);
  // Last: a site that does not answer matters once everything the operator controls is in place.
  // The agents already require several failed probes in a row, so one blip does not flip Ready.
  const notServing: [string, Verdict][] =
    serving.status === 'False'
      ? [['Serving', { ok: false, reason: 'SitesNotServing', message: serving.message, waiting: true }]]
      : [];
  return [...aspectsOf(findings), ...notServing].filter(([, v]) => !v.ok);
}

/** The Ready condition as a verdict: the first real problem, or ready. The Ready Event follows it, so the two never disagree. */
export function readyVerdict(findings: Findings): Verdict {
  const failing = failingAspects(findings);
  // The summary names a real problem before an aspect that was not checked because of it.
  return (
    (failing.find(([, v]) => v.reason !== NOT_CHECKED) ?? failing[0])?.[1] ?? {
      ok: true,
      reason: 'Ready',
      message: 'NGINX serves the current configuration and every role has a ready backend',
    }
  );
}

export function computeStatus(
  findings: Findings,
  previous: Wso2FrontendStatus | undefined,
  now: Date,
): Wso2FrontendStatus {
  const aspects = aspectsOf(findings);
  const serving = servingOf(findings);
  // Stalled: something only the user can fix (a rejected spec, a bad certificate Secret).
  const stalled = failingAspects(findings).filter(([, v]) => !v.ok && !v.waiting);
  const ready = readyVerdict(findings);
  const generation = findings.generation;
  const condition = (type: string, status: ConditionStatus, reason: ConditionReason, message: string) =>
    withTransitionTime(
      { type, status, reason, message: cut(message, CONDITION_MESSAGE_LIMIT), observedGeneration: generation },
      previous?.conditions,
      now,
    );
  const statusOf = (v: Verdict): ConditionStatus => (v.ok ? 'True' : v.reason === NOT_CHECKED ? 'Unknown' : 'False');
  const progressing = !ready.ok && stalled.length === 0;
  const conditions = [
    condition('Ready', statusOf(ready), ready.reason, ready.message),
    ...aspects.map(([type, v]) => condition(type, statusOf(v), v.reason, v.message)),
    condition('Serving', serving.status, serving.reason, serving.message),
    condition(
      'Reconciling',
      progressing ? 'True' : 'False',
      progressing ? ready.reason : 'Reconciled',
      progressing ? ready.message : 'nothing in progress',
    ),
    condition(
      'Stalled',
      stalled.length ? 'True' : 'False',
      stalled[0]?.[1].reason ?? (progressing ? 'Progressing' : 'Reconciled'),
      stalled[0]?.[1].message ?? 'no problem needs a change of the resource',
    ),
  ];
  return {
    observedGeneration: generation,
    conditions,
    ...(findings.urls?.length ? { urls: findings.urls.join(',') } : {}),
    ...(findings.certificateNotAfter
      ? { certificateNotAfter: findings.certificateNotAfter.toISOString().replace(/\.\d{3}Z$/, 'Z') }
      : {}),
    ...(findings.configHash ? { configHash: findings.configHash } : {}),
    ...(findings.productConfigMap ? { productConfigMap: findings.productConfigMap } : {}),
    ...(findings.roles?.length ? { roles: findings.roles } : {}),
    ...(findings.sites?.length ? { sites: findings.sites } : {}),
  };
}

/** JSON with object keys sorted: the API server does not keep the key order the operator wrote. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Same meaning: the same fields and conditions, in any key or condition order (status writes are skipped otherwise). */
export function sameStatus(a: Wso2FrontendStatus | undefined, b: Wso2FrontendStatus): boolean {
  const normal = (s: Wso2FrontendStatus | undefined) =>
    canonical({ ...s, conditions: [...(s?.conditions ?? [])].sort((x, y) => x.type.localeCompare(y.type)) });
  return normal(a) === normal(b);
}
