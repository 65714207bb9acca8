// Reconcile one Wso2Frontend: validate, settle its certificates, render and apply what it
// owns with server-side apply, prune what it no longer needs, and report status and Events.
// The decisions come from the pure layers (model, render, tls, status); this file only reads,
// writes and reports.
import { createHash } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { certificateFingerprint } from '../api/agent.js';
import { API_GROUP, API_VERSION, KIND, PLURAL, type Wso2Frontend, type Wso2FrontendStatus } from '../api/schema.js';
import { formatProblem } from '../api/validate.js';
import { buildTopology, serviceDnsNames, type ObservedEndpoints, type Topology } from '../model/topology.js';
import { validateSpec } from '../model/validate.js';
import type { Role } from '../model/catalog.js';
import { caSecretName, certificateSecretName, desiredObjects, labelsFor, nginxName } from '../render/objects.js';
import { wso2Workloads } from '../render/workloads.js';
import {
  caSecretData,
  issueCa,
  issueServerCertificate,
  serverCertificateNames,
  tlsSecretData,
  type KeyAndCertificate,
} from '../tls/issuer.js';
import { generateRsaKeyPairAsync } from '../tls/x509.js';
import { checkProvidedCertificate } from '../tls/provided.js';
import { decideCa, decideServerCertificate } from '../tls/renewal.js';
import { parseKey, type Logger } from './runtime/controller.js';
import type { WorkResult } from './runtime/workqueue.js';
import { EventRecorder } from './events.js';
import { computeStatus, sameStatus, type Findings, type Verdict } from './status.js';

export const FIELD_MANAGER = 'wso2-frontend-operator';

/** Every kind the operator may own, for pruning. */
const OWNED_KINDS = [
  { apiVersion: 'v1', kind: 'ConfigMap' },
  { apiVersion: 'v1', kind: 'Secret' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' },
] as const;

/** Renewal is re-checked at least this often, so a long renewal time never outgrows a timer. */
const MAX_REQUEUE_MS = 12 * 3600 * 1000;

type Data = Record<string, string>;
const decode = (data: Record<string, string> | undefined): Data | undefined =>
  data && Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
const encode = (data: Data) =>
  Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));

interface CertificateOutcome {
  verdict: Verdict;
  /** Secrets to write now (issued or renewed, and current leaves). */
  secrets: k8s.V1Secret[];
  /** Every Secret the frontend keeps, written now or not: pruning must spare them. */
  kept: string[];
  /** Identities of the served certificates, in the configuration hash so a new one rolls NGINX. */
  versions: string[];
  notAfter?: Date;
  /** notAfter of every served certificate, by Secret name (for the expiry metric). */
  served: Map<string, Date>;
  renewAt?: Date;
  issued: string[];
}

/** Reads of what the controller watches, served from its informer caches. */
export interface WatchedCache {
  get<T extends k8s.KubernetesObject>(kind: string, namespace: string, name: string): T | undefined;
  list<T extends k8s.KubernetesObject>(kind: string, namespace: string): T[];
  watches(kind: string, namespace: string): boolean;
}

/** What the last apply of one object sent and got back, to skip applies that would change nothing. */
interface AppliedRecord {
  hash: string;
  resourceVersion: string;
}

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
  now?: () => Date;
}

export class FrontendReconciler {
  private readonly objects: k8s.KubernetesObjectApi;
  private readonly core: k8s.CoreV1Api;
  private readonly discovery: k8s.DiscoveryV1Api;
  private readonly custom: k8s.CustomObjectsApi;
  private readonly now: () => Date;
  /** Per frontend key, per owned object: the last apply (see applyIfChanged). */
  private readonly applied = new Map<string, Map<string, AppliedRecord>>();
  /** Per frontend key: the desired set its last prune left, so an unchanged set is not scanned again. */
  private readonly pruned = new Map<string, string>();

  constructor(private readonly options: ReconcilerOptions) {
    this.objects = k8s.KubernetesObjectApi.makeApiClient(options.kubeConfig);
    this.core = options.kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.discovery = options.kubeConfig.makeApiClient(k8s.DiscoveryV1Api);
    this.custom = options.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    this.now = options.now ?? (() => new Date());
  }

  async reconcile(key: string): Promise<WorkResult> {
    const frontend = this.options.get(key);
    // Gone: what it owned is garbage-collected through the owner references.
    if (!frontend) {
      this.applied.delete(key);
      this.pruned.delete(key);
      const { namespace = '', name } = parseKey(key);
      this.options.onCertificates?.(namespace, name, new Map());
      return;
    }
    try {
      return await this.reconcileFrontend(frontend);
    } catch (error) {
      await this.options.events.record(
        frontend,
        'Warning',
        'ReconcileFailed',
        'Reconcile',
        `reconcile failed and will be retried: ${describeApiError(error)}`,
      );
      throw error;
    }
  }

  private async reconcileFrontend(frontend: Wso2Frontend): Promise<WorkResult> {
    const generation = frontend.metadata.generation ?? 0;
    const validation = validateSpec(frontend.spec);
    if (!validation.ok) {
      // Nothing owned is touched: whatever works keeps working until the spec is fixed.
      const message = validation.problems.map(formatProblem).join('; ');
      const served = frontend.status?.configHash ? { configHash: frontend.status.configHash } : {};
      const changed = await this.writeStatus(frontend, {
        generation,
        accepted: { ok: false, reason: 'InvalidSpec', message },
        ...served,
      });
      if (changed) await this.options.events.record(frontend, 'Warning', 'InvalidSpec', 'Validate', message);
      return;
    }
    const accepted: Verdict = { ok: true, reason: 'Valid', message: 'the spec is valid' };
    const observed = await this.observeEndpoints(frontend);
    const topology = buildTopology(validation.spec, observed);

    const certificates = await this.settleCertificates(frontend, topology);
    this.options.onCertificates?.(frontend.metadata.namespace!, frontend.metadata.name, certificates.served);
    const findings: Findings = {
      generation,
      accepted,
      certificates: certificates.verdict,
      urls: publicUrls(topology),
      ...(certificates.notAfter ? { certificateNotAfter: certificates.notAfter } : {}),
      // Until a new configuration is applied, the one served is the one the status names.
      ...(frontend.status?.configHash ? { configHash: frontend.status.configHash } : {}),
    };
    if (!certificates.verdict.ok) {
      await this.writeStatus(frontend, findings);
      return;
    }

    const desired = [
      ...desiredObjects(frontend, topology, certificates.versions),
      ...wso2Workloads(frontend, topology),
    ];
    const applied = new Map<string, k8s.KubernetesObject>();
    let current: k8s.KubernetesObject | undefined;
    try {
      for (const secret of certificates.secrets) {
        current = secret;
        await this.applyIfChanged(frontend, secret);
      }
      // One Event per reconcile, however many certificates it issued (a new frontend gets its CA and a certificate at once).
      if (certificates.issued.length)
        await this.options.events.record(
          frontend,
          'Normal',
          'CertificateIssued',
          'Issue',
          `issued ${certificates.issued.join('; ')}`,
        );
      for (const object of desired) {
        current = object;
        applied.set(`${object.kind}/${object.metadata!.name}`, await this.applyIfChanged(frontend, object));
      }
    } catch (error) {
      // Say on the resource what the API server refused (a full NodePort range, a quota, an
      // admission webhook); the reconcile is retried with backoff.
      const message = `${current!.kind} ${current!.metadata!.name}: ${describeApiError(error)}`;
      await this.writeStatus(frontend, {
        ...findings,
        configuration: { ok: false, reason: 'ApplyFailed', message, waiting: true },
      });
      throw new Error(message, { cause: error });
    }
    await this.prune(frontend, new Set([...applied.keys(), ...certificates.kept.map((name) => `Secret/${name}`)]));

    const deployment = applied.get(`Deployment/${nginxName(frontend)}`) as k8s.V1Deployment;
    const configHash = deployment.spec?.template.metadata?.annotations?.['wso2-frontend.dev/config-hash'];
    findings.configuration = rollout(deployment);
    findings.backends = backendsAvailable(topology);
    if (configHash) findings.configHash = configHash;
    const previousHash = frontend.status?.configHash;
    const wasReady = frontend.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    await this.writeStatus(frontend, findings);
    if (configHash && configHash !== previousHash) {
      await this.options.events.record(
        frontend,
        'Normal',
        'ConfigurationUpdated',
        'Render',
        `NGINX configuration ${configHash} applied`,
      );
    }
    const ready = findings.configuration.ok && findings.backends.ok;
    if (ready && !wasReady)
      await this.options.events.record(
        frontend,
        'Normal',
        'Ready',
        'Reconcile',
        `serving ${findings.urls?.join(', ')}`,
      );
    return certificates.renewAt
      ? {
          requeueAfterMs: Math.max(
            1000,
            Math.min(MAX_REQUEUE_MS, certificates.renewAt.getTime() - this.now().getTime()),
          ),
        }
      : undefined;
  }

  /** Ready endpoints of the operator-run pods, by role, from the role Services' EndpointSlices. */
  private async observeEndpoints(frontend: Wso2Frontend): Promise<ObservedEndpoints> {
    if (frontend.spec.backends.external) return {};
    const namespace = frontend.metadata.namespace!;
    const instance = 'app.kubernetes.io/instance';
    const slices = this.options.cache?.watches('EndpointSlice', namespace)
      ? this.options.cache
          .list<k8s.V1EndpointSlice>('EndpointSlice', namespace)
          .filter((s) => s.metadata?.labels?.[instance] === frontend.metadata.name)
      : (
          await this.discovery.listNamespacedEndpointSlice({
            namespace,
            labelSelector: `${instance}=${frontend.metadata.name}`,
          })
        ).items;
    const observed: ObservedEndpoints = {};
    // Sorted, so the rendered upstreams do not change with the order the cache returns slices in.
    slices.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
    for (const slice of slices) {
      const role = slice.metadata?.labels?.['app.kubernetes.io/component'] as Role | undefined;
      if (!role || role === ('nginx' as Role)) continue;
      const ready = (slice.endpoints ?? []).filter((e) => e.conditions?.ready && !e.conditions.terminating);
      const service = slice.metadata?.labels?.['kubernetes.io/service-name'];
      observed[role] = [
        ...(observed[role] ?? []),
        ...ready.flatMap((e) =>
          e.addresses.map((address) => ({
            pod: e.targetRef?.name ?? address,
            address,
            // The names a pod may redirect to, rewritten to the public host.
            hostnames: serviceDnsNames(service, namespace, e.hostname),
          })),
        ),
      ];
    }
    return observed;
  }

  /**
   * A Secret's data from the cache, or from the API server when the cache does not hold it or
   * has not yet seen the operator's own last write of it. `fresh` skips the cache: a certificate
   * is issued only on what the API server says now.
   */
  private async readSecretData(
    frontend: Wso2Frontend,
    name: string,
  ): Promise<{ data: Data | undefined; fresh: boolean }> {
    const namespace = frontend.metadata.namespace!;
    const cached = this.options.cache?.get<k8s.V1Secret>('Secret', namespace, name);
    const written = this.applied.get(`${namespace}/${frontend.metadata.name}`)?.get(`Secret/${name}`);
    if (cached && (!written || written.resourceVersion === cached.metadata?.resourceVersion))
      return { data: decode(cached.data), fresh: false };
    return { data: await this.readFreshSecretData(namespace, name), fresh: true };
  }

  private async readFreshSecretData(namespace: string, name: string): Promise<Data | undefined> {
    try {
      return decode((await this.core.readNamespacedSecret({ name, namespace })).data);
    } catch (error) {
      if (error instanceof k8s.ApiException && error.code === 404) return undefined;
      throw error;
    }
  }

  /**
   * A decision on a Secret's data, from the cache when it says keep; anything else (issue,
   * renew) is decided again on what the API server holds now, unless that is what was read.
   */
  private async decideOnSecret<D extends { action: string }>(
    frontend: Wso2Frontend,
    name: string,
    decide: (data: Data | undefined) => D,
  ): Promise<{ decision: D; data: Data | undefined }> {
    const first = await this.readSecretData(frontend, name);
    const decision = decide(first.data);
    if (decision.action === 'keep' || first.fresh) return { decision, data: first.data };
    const data = await this.readFreshSecretData(frontend.metadata.namespace!, name);
    return { decision: decide(data), data };
  }

  private secret(frontend: Wso2Frontend, name: string, data: Data): k8s.V1Secret {
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: { name, namespace: frontend.metadata.namespace!, labels: labelsFor(frontend, 'tls') },
      data: encode(data),
    };
  }

  /** Self-signed: keep, renew or issue the CA and each certificate; user Secrets: check them. */
  private async settleCertificates(frontend: Wso2Frontend, topology: Topology): Promise<CertificateOutcome> {
    const now = this.now();
    const outcome: CertificateOutcome = {
      verdict: { ok: true, reason: 'CertificatesValid', message: '' },
      secrets: [],
      kept: [],
      versions: [],
      issued: [],
      served: new Map(),
    };
    const earliest = (a: Date | undefined, b: Date) => (a && a < b ? a : b);

    if (topology.tls.mode === 'secret') {
      const problems: string[] = [];
      for (const plan of topology.certificates) {
        const { data } = await this.readSecretData(frontend, plan.secretName!);
        const check = checkProvidedCertificate(data ?? {}, plan.hosts, now);
        if (check.problems.length) problems.push(`Secret ${plan.secretName}: ${check.message}`);
        if (check.notAfter) {
          outcome.notAfter = earliest(outcome.notAfter, check.notAfter);
          outcome.served.set(plan.secretName!, check.notAfter);
        }
        if (data?.['tls.crt']) outcome.versions.push(certificateFingerprint(data['tls.crt']));
      }
      outcome.verdict = problems.length
        ? { ok: false, reason: 'CertificateInvalid', message: problems.join('; ') }
        : {
            ok: true,
            reason: 'CertificatesValid',
            message: `${topology.certificates.length} provided certificate(s) cover their hosts`,
          };
      return outcome;
    }

    const caName = caSecretName(frontend);
    outcome.kept.push(caName);
    const { decision: caDecision } = await this.decideOnSecret(frontend, caName, (data) => decideCa(now, data));
    let ca: KeyAndCertificate;
    if (caDecision.action === 'keep') {
      ca = caDecision.ca;
    } else {
      ca = issueCa(`${frontend.metadata.name} frontend CA`, { now, keyPair: await generateRsaKeyPairAsync() });
      outcome.secrets.push(this.secret(frontend, caName, caSecretData(ca)));
      outcome.issued.push(`the frontend CA (${caDecision.message})`);
    }
    for (const plan of topology.certificates) {
      const name = certificateSecretName(frontend, plan.name);
      const [names] = serverCertificateNames(plan.hosts, topology.tls.extraSANs, false);
      const { decision, data: stored } = await this.decideOnSecret(frontend, name, (data) =>
        decideServerCertificate(now, data, names!, { caCertificatePem: ca.certificatePem }),
      );
      let data = stored;
      if (decision.action === 'keep') {
        outcome.renewAt = earliest(outcome.renewAt, decision.renewAt);
        outcome.notAfter = earliest(outcome.notAfter, decision.notAfter);
        outcome.served.set(name, decision.notAfter);
      } else {
        const leaf = issueServerCertificate(ca, names!, { now, keyPair: await generateRsaKeyPairAsync() });
        data = tlsSecretData(leaf, ca);
        outcome.notAfter = earliest(outcome.notAfter, leaf.notAfter);
        outcome.served.set(name, leaf.notAfter);
        outcome.issued.push(`the certificate for ${plan.hosts.join(', ')} (${decision.message})`);
      }
      outcome.secrets.push(this.secret(frontend, name, data!));
      outcome.kept.push(name);
      outcome.versions.push(certificateFingerprint(data!['tls.crt']!));
    }
    outcome.verdict = {
      ok: true,
      reason: 'CertificatesValid',
      message: `${topology.certificates.length} certificate(s) issued by the frontend CA`,
    };
    return outcome;
  }

  /**
   * Applies `object` unless the last apply of exactly this content got back the resourceVersion
   * the cache holds now: then nobody has changed it since, and the apply would change nothing.
   * Any other writer (a user's edit, a controller's status update) changes the resourceVersion,
   * so drift is still put back on the next reconcile. A resync of unchanged resources therefore
   * sends no requests at all.
   */
  private async applyIfChanged<T extends k8s.KubernetesObject>(frontend: Wso2Frontend, object: T): Promise<T> {
    const namespace = frontend.metadata.namespace!;
    const id = `${object.kind}/${object.metadata!.name}`;
    const hash = createHash('sha256')
      .update(JSON.stringify(object))
      .update(frontend.metadata.uid ?? '')
      .digest('hex');
    const frontendKey = `${namespace}/${frontend.metadata.name}`;
    const records = this.applied.get(frontendKey) ?? new Map<string, AppliedRecord>();
    this.applied.set(frontendKey, records);
    const record = records.get(id);
    const cached = this.options.cache?.get<T>(object.kind!, namespace, object.metadata!.name!);
    if (record && cached && record.hash === hash && cached.metadata?.resourceVersion === record.resourceVersion)
      return cached;
    const result = await this.apply(frontend, object);
    records.set(id, { hash, resourceVersion: result.metadata?.resourceVersion ?? '' });
    return result;
  }

  private async apply<T extends k8s.KubernetesObject>(frontend: Wso2Frontend, object: T): Promise<T> {
    const owned = {
      ...object,
      metadata: {
        ...object.metadata,
        ownerReferences: [
          {
            apiVersion: `${API_GROUP}/${API_VERSION}`,
            kind: KIND,
            name: frontend.metadata.name,
            uid: frontend.metadata.uid!,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
    };
    return this.objects.patch(owned, undefined, undefined, FIELD_MANAGER, true, k8s.PatchStrategy.ServerSideApply);
  }

  /**
   * Deletes owned objects that are no longer desired (a host removed, a pattern changed). Only
   * the operator creates objects it owns, so once a desired set has been pruned, nothing is left
   * to prune until the set changes; the first reconcile after a start always scans.
   */
  private async prune(frontend: Wso2Frontend, desired: Set<string>): Promise<void> {
    const frontendKey = `${frontend.metadata.namespace}/${frontend.metadata.name}`;
    const desiredKey = `${frontend.metadata.uid} ${[...desired].sort().join(' ')}`;
    if (this.pruned.get(frontendKey) === desiredKey) return;
    await this.pruneUnwanted(frontend, desired);
    this.pruned.set(frontendKey, desiredKey);
  }

  private async pruneUnwanted(frontend: Wso2Frontend, desired: Set<string>): Promise<void> {
    const selector = `app.kubernetes.io/instance=${frontend.metadata.name},app.kubernetes.io/managed-by=wso2-frontend-operator`;
    const namespace = frontend.metadata.namespace!;
    for (const { apiVersion, kind } of OWNED_KINDS) {
      const items = this.options.cache?.watches(kind, namespace)
        ? this.options.cache.list(kind, namespace)
        : (await this.objects.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, selector))
            .items;
      const candidates = new Set(
        items
          .filter((o) => o.metadata?.ownerReferences?.some((r) => r.uid === frontend.metadata.uid && r.controller))
          .map((o) => o.metadata!.name!),
      );
      // What this process applied counts too: the cache may not have seen it yet, and the prune
      // memo would otherwise skip it for good.
      for (const id of this.applied.get(`${namespace}/${frontend.metadata.name}`)?.keys() ?? []) {
        if (id.startsWith(`${kind}/`)) candidates.add(id.slice(kind.length + 1));
      }
      for (const name of candidates) {
        if (desired.has(`${kind}/${name}`)) continue;
        try {
          await this.objects.delete({ apiVersion, kind, metadata: { name, namespace } });
        } catch (error) {
          // Already gone (the cache had not seen the deletion yet).
          if (!(error instanceof k8s.ApiException && error.code === 404)) throw error;
        }
        this.applied.get(`${namespace}/${frontend.metadata.name}`)?.delete(`${kind}/${name}`);
        this.options.log('info', 'pruned', { frontend: frontend.metadata.name, kind, name });
      }
    }
  }

  /** Writes the status (server-side apply on the status subresource) only when it changed; says whether it did. */
  private async writeStatus(frontend: Wso2Frontend, findings: Findings): Promise<boolean> {
    const status: Wso2FrontendStatus = computeStatus(findings, frontend.status, this.now());
    if (sameStatus(frontend.status, status)) return false;
    const { namespace = 'default', name } = frontend.metadata;
    try {
      await this.custom.patchNamespacedCustomObjectStatus(
        {
          group: API_GROUP,
          version: API_VERSION,
          namespace,
          plural: PLURAL,
          name,
          fieldManager: FIELD_MANAGER,
          force: true,
          body: { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: KIND, metadata: { name, namespace }, status },
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
      );
    } catch (error) {
      // Deleted since the cache saw it: nothing to report on, and what it owned is being collected.
      if (error instanceof k8s.ApiException && error.code === 404) return false;
      throw error;
    }
    return true;
  }
}

/** The API server's own message for a refused request ("422 Service "x" is invalid: ..."), else the error's text. */
export function describeApiError(error: unknown): string {
  if (error instanceof k8s.ApiException) {
    try {
      const status = JSON.parse(error.body as string) as { message?: string };
      if (status.message) return `${error.code} ${status.message}`;
    } catch {
      // not a Status object
    }
    return `HTTP ${error.code}`;
  }
  return error instanceof Error ? error.message : String(error);
}

function publicUrls(topology: Topology): string[] {
  const port = topology.ports.https === 443 ? '' : `:${topology.ports.https}`;
  return topology.sites.map((s) => `https://${s.host}${port}/`);
}

/** NGINX serves the current configuration when every replica runs the current pod template. */
function rollout(deployment: k8s.V1Deployment): Verdict {
  const wanted = deployment.spec?.replicas ?? 1;
  const s = deployment.status ?? {};
  const current = (s.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 0);
  const updated = s.updatedReplicas ?? 0;
  const available = s.availableReplicas ?? 0;
  if (current && updated >= wanted && available >= wanted && (s.replicas ?? 0) <= wanted) {
    return { ok: true, reason: 'Served', message: `${available} NGINX replica(s) serve the current configuration` };
  }
  return {
    ok: false,
    reason: 'RollingOut',
    message: `${Math.min(updated, available)} of ${wanted} NGINX replica(s) serve the current configuration`,
    waiting: true,
  };
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
