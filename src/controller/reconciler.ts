// Reconcile one Wso2Frontend in the shape of a controller-runtime reconciler: observe what the
// decision needs, plan (pure: src/controller/plan.ts), apply and prune (the Applier), report
// status and Events once. Failures are retried by the work queue with backoff.
import * as k8s from '@kubernetes/client-node';
import {
  API_GROUP,
  API_VERSION,
  KIND,
  PLURAL,
  type SiteStatus,
  type Wso2Frontend,
  type Wso2FrontendStatus,
} from '../api/schema.js';
import { FIELD_MANAGER, LABEL, NGINX_COMPONENT, OWNED_KINDS } from '../render/ownership.js';
import { issueRequested } from '../tls/issuer.js';
import {
  Applier,
  describeApiError,
  kubernetesClient,
  type ApplyResult,
  type ClusterClient,
  type WatchedCache,
} from './applier.js';
import type { CertManagerObserved, SecretData } from './certificates.js';
import type { CertManagerCertificate } from '../render/cert-manager.js';
import type { EventRecorder } from './events.js';
import { assess, plan, type ApplyPlan, type Observed, type Outcome, type Plan } from './plan.js';
import { parseKey, type Logger } from './runtime/controller.js';
import type { WorkResult } from './runtime/workqueue.js';
import { computeStatus, sameStatus } from './status.js';
import type { OperatorImages } from '../model/images.js';

/**
 * Points of a reconcile where a crash leaves work half done: a certificate issued but not yet
 * stored, the NGINX ConfigMap written but not yet its Deployment, the NGINX Deployment's apply
 * sent but its answer not yet read, a new status computed but not yet written, its write sent but
 * not yet answered, a status written but not yet its Events. Fault tests stop the process at each.
 */
export const RECONCILE_POINTS = [
  'ca-issued',
  'server-certificate-issued',
  'nginx-configmap-applied',
  'nginx-deployment-apply-in-flight',
  'status-computed',
  'status-write-in-flight',
  'status-written',
] as const;
export type ReconcilePoint = (typeof RECONCILE_POINTS)[number];
/** The points reached when a request has been issued and is not yet answered (see inFlightKillDelayMs). */
export const isInFlight = (point: ReconcilePoint): boolean => point.endsWith('-in-flight');
/**
 * A kill at an in-flight point comes after a random delay, or as soon as the answer arrives if
 * that is sooner (before the reconcile reads it), so that the API server has sometimes applied
 * the request and sometimes not, and the restarted operator cannot know which. A loopback
 * request takes anything from 1 to some 50 ms (a status patch, a Deployment apply, a busy
 * machine), so the delay is spread evenly over its logarithm from 1 to 64 ms.
 */
export const inFlightKillDelayMs = (random: number): number => Math.round(2 ** (6 * random));
/**
 * Test-only: names a ReconcilePoint at which the operator process kills itself with SIGKILL, so
 * a fault test reaches that point deterministically (like the agent's TEST_EXTRA_MAIN_CONF_ENV).
 * No install sets it.
 */
export const TEST_KILL_AT_ENV = 'WSO2_FRONTEND_OPERATOR_TEST_KILL_AT';

export interface ReconcilerOptions {
  kubeConfig: k8s.KubeConfig;
  /** The cached Wso2Frontend for a key (from the controller's informer). */
  get: (key: string) => Wso2Frontend | undefined;
  /** Caches of the owned and read kinds; kinds it does not watch are read from the API server. */
  cache?: WatchedCache;
  events: EventRecorder;
  log: Logger;
  /** Told the certificates a frontend serves (Secret name -> notAfter) after each reconcile that settled them, and an empty map once it is gone. */
  onCertificates?: (namespace: string, name: string, notAfter: ReadonlyMap<string, Date>) => void;
  /** Told what the status says about each public site after each reconcile that found it, and an empty list once the frontend is gone. */
  onSites?: (namespace: string, name: string, sites: readonly SiteStatus[]) => void;
  /**
   * Told each reconcile of a frontend that failed: one that threw and is retried with backoff
   * (reason `ApplyFailed` when the API server refused a write, else `ReconcileFailed`), or one
   * that left the frontend Stalled (the Stalled condition's reason, such as `InvalidSpec`).
   */
  onFailed?: (namespace: string, name: string, reason: string) => void;
  /** Told once a frontend is gone. */
  onGone?: (namespace: string, name: string) => void;
  /** The conditions of the status just assessed for a frontend (an empty list when it is gone). */
  onConditions?: (namespace: string, name: string, conditions: readonly { type: string; status: string }[]) => void;
  now?: () => Date;
  /** The images the operator runs for frontends (its configuration); this release's when omitted. */
  images?: OperatorImages;
  /** The requests for owned objects (default: the API server of kubeConfig). */
  client?: ClusterClient;
  /**
   * Told each time a reconcile of `frontend` ("namespace/name") passes a ReconcilePoint
   * (TEST_KILL_AT_ENV); at an in-flight point, with the request's answer, awaited only after this returns.
   */
  reached?: (point: ReconcilePoint, frontend: string, inFlight?: Promise<unknown>) => void;
}

/**
 * A plan reads the Secrets, reads them again before issuing on a cached copy, issues the CA,
 * creates its Secret, then reads the certificates again and issues the ones the CA signs.
 */
const MAX_PLAN_ROUNDS = 7;
/** Another writer changed the frontend between the read and the status write: assessed again this soon. */
const STATUS_CONFLICT_REQUEUE_MS = 200;

const decode = (data: Record<string, string> | undefined): SecretData | undefined =>
  data && Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));

/** A failure the reconcile already put on the status (its condition's reason), thrown so the queue retries it. */
class ReportedFailure extends Error {
  constructor(
    readonly reason: string,
    message: string,
    cause: unknown,
  ) {
    super(message, { cause });
  }
}

export class FrontendReconciler {
  private readonly applier: Applier;
  private readonly custom: k8s.CustomObjectsApi;
  private readonly apis: k8s.ApisApi;
  private readonly now: () => Date;

  constructor(private readonly options: ReconcilerOptions) {
    const reached = options.reached;
    this.applier = new Applier({
      client: options.client ?? kubernetesClient(options.kubeConfig, FIELD_MANAGER),
      ...(options.cache ? { cache: options.cache } : {}),
      kinds: OWNED_KINDS,
      log: options.log,
      ...(reached
        ? {
            onApplying: (object: k8s.KubernetesObject, applying: Promise<unknown>) => {
              const { namespace, name, labels } = object.metadata ?? {};
              if (object.kind === 'Deployment' && labels?.[LABEL.component] === NGINX_COMPONENT)
                reached('nginx-deployment-apply-in-flight', `${namespace}/${labels[LABEL.instance] ?? name}`, applying);
            },
            onApplied: (object: k8s.KubernetesObject, changed: boolean) => {
              const { namespace, name, labels } = object.metadata ?? {};
              if (changed && object.kind === 'ConfigMap' && labels?.[LABEL.component] === NGINX_COMPONENT)
                reached('nginx-configmap-applied', `${namespace}/${labels[LABEL.instance] ?? name}`);
            },
          }
        : {}),
    });
    this.custom = options.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    this.apis = options.kubeConfig.makeApiClient(k8s.ApisApi);
    this.now = options.now ?? (() => new Date());
  }

  async reconcile(key: string): Promise<WorkResult> {
    const frontend = this.options.get(key);
    // Gone: what it owned is garbage-collected through the owner references.
    if (!frontend) {
      const { namespace = '', name } = parseKey(key);
      this.applier.forget(namespace, name);
      this.options.onCertificates?.(namespace, name, new Map());
      this.options.onSites?.(namespace, name, []);
      this.options.onGone?.(namespace, name);
      this.options.onConditions?.(namespace, name, []);
      return;
    }
    try {
      return await this.reconcileFrontend(frontend);
    } catch (error) {
      const { namespace = 'default', name } = frontend.metadata;
      this.options.onFailed?.(namespace, name, error instanceof ReportedFailure ? error.reason : 'ReconcileFailed');
      const note = `reconcile failed and will be retried: ${describeApiError(error)}`;
      await this.options.events.record(frontend, 'Warning', 'ReconcileFailed', 'Reconcile', note);
      throw error;
    }
  }

  private async reconcileFrontend(frontend: Wso2Frontend): Promise<WorkResult> {
    const now = this.now();
    let observed = await this.observe(frontend);
    let next = plan(observed, now, this.options.images);
    for (
      let round = 1;
      next.action === 'read' || next.action === 'issue' || next.action === 'create' || next.action === 'request';
      round++
    ) {
      if (round === MAX_PLAN_ROUNDS) throw new Error(`no settled plan after ${round} rounds: ${next.action}`);
      observed = await this.provide(observed, next, now);
      next = plan(observed, now, this.options.images);
    }
    if (next.action === 'report') return this.report(frontend, next.outcome);
    const owner = this.owner(frontend);
    const result = await this.applier.apply(owner, next.desired);
    if (!result.refused) await this.applier.prune(owner, next.keep);
    const confirmed = await this.confirmRegression(frontend, next, result, now);
    return this.report(confirmed.frontend, confirmed.outcome, result.refused?.error, confirmed.resourceVersion);
  }

  /**
   * The outcome of an apply, unless it would turn a frontend the API server holds as Ready not
   * Ready: then it is assessed again from what the API server holds now (the frontend, its
   * workloads, its NGINX pods) rather than from caches. A cache can lag the view of whoever wrote
   * Ready (another operator process running without leader election, whose Deployment informer
   * saw the rollout finish first): writing from it flipped Ready back to False (RollingOut) for
   * a moment. One GET per status that is not Ready, and three more only when the stored one is.
   * That status is then written only onto the version read (`resourceVersion`), so a Ready
   * written meanwhile by another process is not overwritten either.
   */
  private async confirmRegression(
    frontend: Wso2Frontend,
    next: ApplyPlan,
    result: ApplyResult,
    now: Date,
  ): Promise<{ frontend: Wso2Frontend; outcome: Outcome; resourceVersion?: string }> {
    const outcome = assess(next, result);
    const isReady = (status: Wso2FrontendStatus | undefined) =>
      status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    if (result.refused || isReady(computeStatus(outcome.findings, frontend.status, now))) return { frontend, outcome };
    const { namespace = 'default', name } = frontend.metadata;
    let stored: Wso2Frontend & { metadata: { resourceVersion?: string } };
    try {
      stored = (await this.custom.getNamespacedCustomObject({
        group: API_GROUP,
        version: API_VERSION,
        namespace,
        plural: PLURAL,
        name,
      })) as typeof stored;
    } catch (error) {
      if (error instanceof k8s.ApiException && error.code === 404) return { frontend, outcome };
      throw error;
    }
    if (stored.metadata.generation !== frontend.metadata.generation) return { frontend, outcome };
    const resourceVersion = stored.metadata.resourceVersion;
    if (!isReady(stored.status)) return { frontend: stored, outcome, resourceVersion };
    const owner = this.owner(frontend);
    const applied = new Map(result.applied);
    for (const [id, object] of result.applied) {
      if (object.kind !== 'Deployment' && object.kind !== 'StatefulSet') continue;
      const read = await this.applier.read(owner, object.apiVersion!, object.kind, object.metadata!.name!, true);
      if (read.object) applied.set(id, read.object);
    }
    const nginxPods = await this.applier.list<k8s.V1Pod>(
      owner,
      'v1',
      'Pod',
      { [LABEL.instance]: name, [LABEL.component]: NGINX_COMPONENT },
      true,
    );
    return { frontend: stored, outcome: assess({ ...next, nginxPods }, { ...result, applied }), resourceVersion };
  }

  /** The frontend, the EndpointSlices of its role Services, its NGINX and WSO2 pods; the plan asks for Secrets as it needs them. */
  private async observe(frontend: Wso2Frontend): Promise<Observed> {
    const pods = await this.applier.list<k8s.V1Pod>(this.owner(frontend), 'v1', 'Pod', {
      [LABEL.instance]: frontend.metadata.name,
    });
    const isNginx = (pod: k8s.V1Pod) => pod.metadata?.labels?.[LABEL.component] === NGINX_COMPONENT;
    const nginxPods = pods.filter(isNginx);
    const wso2Pods = pods.filter((pod) => !isNginx(pod));
    const endpointSlices = frontend.spec.backends?.external
      ? []
      : await this.applier.list<k8s.V1EndpointSlice>(this.owner(frontend), 'discovery.k8s.io/v1', 'EndpointSlice', {
          [LABEL.instance]: frontend.metadata.name,
        });
    // The user's base product files: read fresh (not labeled, so not cached), to check and hash them.
    const baseName = frontend.spec.backends?.managed?.configMapName;
    const base = baseName
      ? (await this.applier.read<k8s.V1ConfigMap>(this.owner(frontend), 'v1', 'ConfigMap', baseName, true)).object
      : undefined;
    // The truststore password Secret: only its key names are kept, never the password.
    const truststoreName = frontend.spec.backends?.managed?.truststorePassword?.secretName;
    const truststore = truststoreName
      ? (await this.applier.read<k8s.V1Secret>(this.owner(frontend), 'v1', 'Secret', truststoreName, true)).object
      : undefined;
    return {
      frontend,
      endpointSlices,
      nginxPods,
      wso2Pods,
      secrets: new Map(),
      issued: [],
      ...(baseName ? { baseConfigMap: base ? { data: base.data, binaryData: base.binaryData } : null } : {}),
      ...(truststoreName ? { truststoreSecretKeys: truststore ? Object.keys(truststore.data ?? {}) : null } : {}),
    };
  }

  /** What a plan asked for: Secrets read (from the cache, or fresh from the API server), or certificates issued. */
  private async provide(
    observed: Observed,
    need: Plan & { action: 'read' | 'issue' | 'create' | 'request' },
    now: Date,
  ): Promise<Observed> {
    if (need.action === 'request') return { ...observed, certManager: await this.requestCertificates(observed, need) };
    if (need.action === 'issue') {
      const issued = [...observed.issued];
      for (const request of need.requests) {
        issued.push(await issueRequested(request, now));
        this.reached('commonName' in request ? 'ca-issued' : 'server-certificate-issued', observed.frontend);
      }
      return { ...observed, issued };
    }
    const secrets = new Map(observed.secrets);
    if (need.action === 'create') {
      for (const secret of need.secrets) {
        const stored = await this.applier.createOnce(this.owner(observed.frontend), secret);
        secrets.set(secret.metadata!.name!, { data: decode(stored?.data), fresh: true });
      }
      return { ...observed, secrets };
    }
    for (const name of need.secrets) {
      const read = await this.applier.read<k8s.V1Secret>(
        this.owner(observed.frontend),
        'v1',
        'Secret',
        name,
        need.fresh,
      );
      secrets.set(name, { data: decode(read.object?.data), fresh: read.fresh });
    }
    return { ...observed, secrets };
  }

  /**
   * Mode issuer: asks the API server (discovery, which every authenticated user may read) whether
   * it serves cert-manager's Certificates; if it does, applies the frontend's Certificates and
   * returns them as the server holds them, status included. Asked on every reconcile of such a
   * frontend, so a CRD installed later is found at the next retry or resync.
   */
  private async requestCertificates(
    observed: Observed,
    need: { certificates: CertManagerCertificate[] },
  ): Promise<CertManagerObserved> {
    const kind = OWNED_KINDS.find((k) => k.kind === 'Certificate')!;
    const served = (await this.apis.getAPIVersions()).groups.some(
      (g) => g.name === kind.group && g.versions.some((v) => v.version === kind.version),
    );
    if (!served) return { served: false };
    const result = await this.applier.apply(this.owner(observed.frontend), need.certificates);
    if (result.refused)
      throw new Error(`applying the cert-manager Certificates: ${result.refused.message}`, {
        cause: result.refused.error,
      });
    const certificates = new Map<string, CertManagerCertificate>();
    for (const object of result.applied.values())
      certificates.set(object.metadata!.name!, object as CertManagerCertificate);
    return { served: true, certificates };
  }

  /**
   * Writes the status once (only when it changed; with `resourceVersion`, only onto that version
   * of the frontend, else it is assessed again shortly) and records the outcome's Events.
   */
  private async report(
    frontend: Wso2Frontend,
    outcome: Outcome,
    cause?: unknown,
    resourceVersion?: string,
  ): Promise<WorkResult> {
    const { namespace = 'default', name } = frontend.metadata;
    if (outcome.certificates) this.options.onCertificates?.(namespace, name, outcome.certificates);
    // No sites (probes off, nothing known yet): their series go.
    this.options.onSites?.(namespace, name, outcome.findings.sites ?? []);
    const status = computeStatus(outcome.findings, frontend.status, this.now());
    this.options.onConditions?.(namespace, name, status.conditions ?? []);
    const stalled = status.conditions?.find((c) => c.type === 'Stalled' && c.status === 'True');
    if (stalled && !outcome.error) this.options.onFailed?.(namespace, name, stalled.reason);
    const write = await this.writeStatus(frontend, status, resourceVersion);
    const written = write === 'conflict' ? undefined : write;
    const changed = written !== undefined;
    if (written) {
      // One line per reconcile that changed something, saying what it is now and why.
      const ready = written.conditions?.find((c) => c.type === 'Ready');
      this.options.log('info', 'reconciled', {
        frontend: `${namespace}/${name}`,
        generation: written.observedGeneration,
        ready: ready?.status,
        reason: ready?.reason,
        detail: ready?.message,
        ...(written.configHash ? { configHash: written.configHash } : {}),
        events: outcome.events.map((e) => e.reason),
      });
    }
    for (const event of outcome.events) {
      if (changed || !event.onlyOnStatusChange)
        await this.options.events.record(frontend, event.type, event.reason, event.action, event.note);
    }
    if (outcome.error)
      throw new ReportedFailure(outcome.findings.configuration?.reason ?? 'ReconcileFailed', outcome.error, cause);
    if (write === 'conflict') return { requeueAfterMs: STATUS_CONFLICT_REQUEUE_MS };
    return outcome.requeueAfterMs ? { requeueAfterMs: outcome.requeueAfterMs } : undefined;
  }

  /**
   * Server-side apply on the status subresource, only when the status changed; returns what it
   * wrote, or 'conflict' when `resourceVersion` is no longer the frontend's.
   */
  private async writeStatus(
    frontend: Wso2Frontend,
    status: Wso2FrontendStatus,
    resourceVersion?: string,
  ): Promise<Wso2FrontendStatus | 'conflict' | undefined> {
    if (sameStatus(frontend.status, status)) return undefined;
    this.reached('status-computed', frontend);
    const { namespace = 'default', name } = frontend.metadata;
    try {
      const written = this.custom.patchNamespacedCustomObjectStatus(
        {
          group: API_GROUP,
          version: API_VERSION,
          namespace,
          plural: PLURAL,
          name,
          fieldManager: FIELD_MANAGER,
          force: true,
          body: {
            apiVersion: `${API_GROUP}/${API_VERSION}`,
            kind: KIND,
            metadata: { name, namespace, ...(resourceVersion ? { resourceVersion } : {}) },
            status,
          },
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
      );
      this.reached('status-write-in-flight', frontend, written);
      await written;
    } catch (error) {
      // Deleted since the cache saw it: nothing to report on, and what it owned is being collected.
      if (error instanceof k8s.ApiException && error.code === 404) return undefined;
      if (resourceVersion && error instanceof k8s.ApiException && error.code === 409) return 'conflict';
      throw error;
    }
    this.reached('status-written', frontend);
    return status;
  }

  private reached(point: ReconcilePoint, frontend: Wso2Frontend, inFlight?: Promise<unknown>): void {
    this.options.reached?.(point, `${frontend.metadata.namespace}/${frontend.metadata.name}`, inFlight);
  }

  private owner(frontend: Wso2Frontend) {
    return { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: KIND, metadata: frontend.metadata };
  }
}
