// The certificate part of a plan: from the Secrets read and the certificates issued so far,
// either what is still needed (a Secret to read, or read again from the API server before
// issuing on it; a certificate to issue) or the settled outcome. Pure: issuing (random keys)
// and reading are done by the reconciler, which then plans again.
import { certificateFingerprint } from '../api/agent.js';
import type { Wso2Frontend } from '../api/schema.js';
import { oneLine } from '../api/text.js';
import type { CertificatePlan, Topology } from '../model/topology.js';
import {
  certManagerCertificate,
  certManagerCertificateName,
  issuedSecretName,
  type CertManagerCertificate,
} from '../render/cert-manager.js';
import { caSecretName, certificateSecret, certificateSecretName } from '../render/objects.js';
import {
  caSecretData,
  serverCertificateNames,
  tlsSecretData,
  type IssuedCertificate,
  type IssueRequest,
  type KeyAndCertificate,
} from '../tls/issuer.js';
import { earliest } from '../tls/expiry.js';
import { checkProvidedCertificate } from '../tls/provided.js';
import { decideCa, decideServerCertificate } from '../tls/renewal.js';
import type { V1Secret } from '@kubernetes/client-node';
import type { Verdict } from './status.js';

export type SecretData = Record<string, string>;

/** A Secret's decoded data as read (undefined: there is none), and whether it came from the API server rather than a cache. */
export interface SecretRead {
  data: SecretData | undefined;
  fresh: boolean;
}

/**
 * Mode issuer: whether the API server serves cert-manager's Certificate kind and, when it does,
 * the frontend's Certificates as the API server holds them after applying them (by name).
 */
export type CertManagerObserved =
  { served: false } | { served: true; certificates: ReadonlyMap<string, CertManagerCertificate> };

/** How often a frontend waiting for cert-manager (its CRD, or a Certificate to become Ready) looks again. */
export const CERT_MANAGER_RETRY_MS = 10_000;

/** How much later than a reconcile's start another writer's CA may have been issued, and still be taken as it is. */
const CREATED_ELSEWHERE_SKEW_MS = 5 * 60_000;

/** What the certificate decisions still need before they settle. */
export type CertificateNeed =
  | { action: 'read'; secrets: string[]; fresh: boolean }
  | { action: 'issue'; requests: IssueRequest[] }
  /**
   * Create these Secrets only if none of their name exists (never server-side apply them), then
   * read them fresh: what the API server holds is used, the issued content or another writer's.
   */
  | { action: 'create'; secrets: V1Secret[] }
  | { action: 'request'; certificates: CertManagerCertificate[] };

export interface SettledCertificates {
  verdict: Verdict;
  /** Secrets to apply: issued or renewed ones, and the current server certificates. */
  secrets: V1Secret[];
  /** Every Secret the frontend keeps, applied now or not: pruning must spare them. */
  kept: string[];
  /** Identities of the served certificates, in the configuration hash so a new one rolls NGINX. */
  versions: string[];
  /** The earliest notAfter of the served certificates. */
  notAfter?: Date;
  /** notAfter of every served certificate, by Secret name (for the expiry metric). */
  served: Map<string, Date>;
  /** The earliest renewal time of the kept certificates. */
  renewAt?: Date;
  /** What was issued in this reconcile, for the CertificateIssued Event. */
  issued: string[];
  /** Other owned objects to keep (mode issuer: the Certificates), by objectId. */
  keptObjects: string[];
  /** Look again after this long, although nothing watched may change (waiting for cert-manager). */
  retryAfterMs?: number;
}

export function planCertificates(
  frontend: Wso2Frontend,
  topology: Topology,
  secrets: ReadonlyMap<string, SecretRead>,
  issued: readonly IssuedCertificate[],
  now: Date,
  certManager?: CertManagerObserved,
): CertificateNeed | SettledCertificates {
  const settled: SettledCertificates = {
    verdict: { ok: true, reason: 'CertificatesValid', message: '' },
    secrets: [],
    kept: [],
    versions: [],
    served: new Map(),
    issued: issued.map((i) => i.description),
    keptObjects: [],
  };
  if (topology.tls.mode === 'issuer')
    return planIssuedCertificates(frontend, topology, secrets, now, settled, certManager);
  const secretNames =
    topology.tls.mode === 'secret'
      ? topology.certificates.map((c) => c.secretName!)
      : [caSecretName(frontend), ...topology.certificates.map((c) => certificateSecretName(frontend, c.name))];
  const unread = secretNames.filter((name) => !secrets.has(name) && !issued.some((i) => i.secretName === name));
  if (unread.length) return { action: 'read', secrets: unread, fresh: false };

  if (topology.tls.mode === 'secret')
    return planProvidedCertificates(frontend, topology, secrets, now, settled, (c) => c.secretName!);

  // Anything but keep is decided again on what the API server holds now before it is issued.
  const stale: string[] = [];
  const requests: IssueRequest[] = [];
  const creates: V1Secret[] = [];
  const caName = caSecretName(frontend);
  settled.kept.push(caName);
  const issuedCa = issued.find((i) => i.secretName === caName);
  const renewals: Date[] = [];
  let ca: KeyAndCertificate;
  const read = secrets.get(caName)!;
  let decision = decideCa(now, read.data);
  if (issuedCa) {
    const caSecret = certificateSecret(frontend, caName, caSecretData(issuedCa.certificate));
    // A new CA is created, never applied: two writers that both found none (two operators by
    // mistake) would each apply their own, and certificates signed by the overwritten one would
    // chain to a CA that no longer exists. The first create wins; everyone uses what it stored.
    if (!read.data) return { action: 'create', secrets: [caSecret] };
    // Another writer may have issued the stored CA after this reconcile began (its notBefore is
    // later than `now`): still the one CA, not a reason to replace it.
    if (decision.action !== 'keep') decision = decideCa(new Date(now.getTime() + CREATED_ELSEWHERE_SKEW_MS), read.data);
    if (decision.action === 'keep') {
      ca = decision.ca;
      // Another writer's CA won the create: this reconcile issued no CA after all.
      if (ca.certificatePem !== issuedCa.certificate.certificatePem)
        settled.issued = settled.issued.filter((description) => description !== issuedCa.description);
    } else {
      // Renewal of a stored CA that is no longer usable: the issued one replaces it.
      ca = issuedCa.certificate;
      settled.secrets.push(caSecret);
    }
  } else {
    if (decision.action !== 'keep') {
      if (!read.fresh) return { action: 'read', secrets: [caName], fresh: true };
      const description = `the frontend CA (${decision.message})`;
      return {
        action: 'issue',
        requests: [
          {
            secretName: caName,
            description,
            key: topology.tls.privateKey,
            commonName: `${frontend.metadata.name} frontend CA`,
          },
        ],
      };
    }
    ca = decision.ca;
  }

  for (const certificate of topology.certificates) {
    const name = certificateSecretName(frontend, certificate.name);
    const [names] = serverCertificateNames(certificate.hosts, topology.tls.extraSANs, false);
    const leaf = issued.find((i) => i.secretName === name);
    let data: SecretData;
    if (leaf) {
      const mine = tlsSecretData(leaf.certificate, ca);
      const stored = secrets.get(name)?.data;
      // Created once too, like the CA: two writers would otherwise each serve their own in turn.
      if (!stored) {
        creates.push(certificateSecret(frontend, name, mine));
        continue;
      }
      const theirs =
        stored['tls.crt'] === mine['tls.crt']
          ? undefined
          : decideServerCertificate(new Date(now.getTime() + CREATED_ELSEWHERE_SKEW_MS), stored, names!, {
              caCertificatePem: ca.certificatePem,
            });
      if (theirs?.action === 'keep') {
        // Another writer's create won: it is served, and this reconcile issued nothing for it.
        data = stored;
        renewals.push(theirs.renewAt);
        settled.served.set(name, theirs.notAfter);
        settled.issued = settled.issued.filter((description) => description !== leaf.description);
      } else {
        data = mine;
        settled.served.set(name, leaf.certificate.notAfter);
      }
    } else {
      const read = secrets.get(name)!;
      const decision = decideServerCertificate(now, read.data, names!, { caCertificatePem: ca.certificatePem });
      if (decision.action !== 'keep') {
        if (!read.fresh) stale.push(name);
        else
          requests.push({
            secretName: name,
            description: `the certificate for ${certificate.hosts.join(', ')} (${decision.message})`,
            key: topology.tls.privateKey,
            ca,
            names: names!,
          });
        continue;
      }
      data = read.data!;
      renewals.push(decision.renewAt);
      settled.served.set(name, decision.notAfter);
    }
    settled.secrets.push(certificateSecret(frontend, name, data));
    settled.kept.push(name);
    settled.versions.push(certificateFingerprint(data['tls.crt']!));
  }
  if (stale.length) return { action: 'read', secrets: stale, fresh: true };
  if (requests.length) return { action: 'issue', requests };
  if (creates.length) return { action: 'create', secrets: creates };
  settled.notAfter = earliest(settled.served.values());
  settled.renewAt = earliest(renewals);
  settled.verdict = {
    ok: true,
    reason: 'CertificatesValid',
    message: `${topology.certificates.length} certificate(s) issued by the frontend CA`,
  };
  return settled;
}

/** The keys NGINX and the WSO2 pods read from a served copy of a user's Secret. */
const COPIED_KEYS = ['tls.crt', 'tls.key', 'ca.crt'] as const;

/**
 * Mode secret: NGINX serves a copy of each user Secret in a Secret the operator owns, written only
 * from a Secret that passed every check. A user Secret that fails a check is reported and never
 * copied, so NGINX keeps the last good copy (a restart or reload reads that, not the bad edit).
 */
function planProvidedCertificates(
  frontend: Wso2Frontend,
  topology: Topology,
  secrets: ReadonlyMap<string, SecretRead>,
  now: Date,
  settled: SettledCertificates,
  sourceOf: (certificate: CertificatePlan) => string,
): CertificateNeed | SettledCertificates {
  const failing: { certificate: CertificatePlan; problem: string }[] = [];
  for (const certificate of topology.certificates) {
    const source = sourceOf(certificate);
    const { data } = secrets.get(source)!;
    const check = data && checkProvidedCertificate(data, certificate.hosts, now);
    if (check?.notAfter) settled.served.set(source, check.notAfter);
    if (!data || !check || check.problems.length) {
      failing.push({
        certificate,
        problem: data ? `Secret ${source}: ${check!.message}` : `Secret ${source} not found`,
      });
      continue;
    }
    const copy = certificateSecretName(frontend, certificate.name);
    const copied = Object.fromEntries(COPIED_KEYS.flatMap((key) => (data[key] ? [[key, data[key]]] : [])));
    settled.secrets.push(certificateSecret(frontend, copy, copied));
    settled.kept.push(copy);
    settled.versions.push(certificateFingerprint(data['tls.crt']!));
  }
  settled.notAfter = earliest(settled.served.values());
  if (!failing.length) {
    settled.verdict = {
      ok: true,
      reason: 'CertificatesValid',
      message:
        topology.tls.mode === 'issuer'
          ? `${topology.certificates.length} certificate(s) issued by ${describeIssuer(topology)} cover their hosts`
          : `${topology.certificates.length} provided certificate(s) cover their hosts`,
    };
    return settled;
  }
  // Say what NGINX serves instead: the last good copy, if there is one.
  const copies = failing.map(({ certificate }) => certificateSecretName(frontend, certificate.name));
  const unread = copies.filter((name) => !secrets.has(name));
  if (unread.length) return { action: 'read', secrets: unread, fresh: false };
  const problems = failing.map(({ certificate, problem }, i) => {
    const copy = secrets.get(copies[i]!)!.data;
    // A new frontend (or one that served another certificate until now): nothing owned changes either.
    if (!copy) return `${problem}; no good copy of it was made yet, so nothing is served from it until it is fixed`;
    const check = checkProvidedCertificate(copy, certificate.hosts, now);
    return check.problems.length
      ? `${problem}; NGINX keeps the last good copy (Secret ${copies[i]}), which no longer passes either: ${check.message}`
      : `${problem}; NGINX keeps serving the last good copy (Secret ${copies[i]}, valid until ${check.notAfter!.toISOString()})`;
  });
  settled.verdict = { ok: false, reason: 'CertificateInvalid', message: problems.join('; ') };
  return settled;
}

const describeIssuer = (topology: Topology) => {
  const ref = topology.tls.issuerRef!;
  return `${ref.kind} ${ref.name}${ref.group === 'cert-manager.io' ? '' : ` (${ref.group})`}`;
};

/**
 * Mode issuer: the frontend's Certificates are applied first (the reconciler does it when asked
 * with `request`, so cert-manager can start issuing even while nothing else may be applied yet).
 * Then each Secret cert-manager wrote is checked and copied exactly like a user's Secret (mode
 * secret), and CertificatesReady says whether every Certificate is Ready.
 */
function planIssuedCertificates(
  frontend: Wso2Frontend,
  topology: Topology,
  secrets: ReadonlyMap<string, SecretRead>,
  now: Date,
  settled: SettledCertificates,
  certManager: CertManagerObserved | undefined,
): CertificateNeed | SettledCertificates {
  if (!certManager)
    return {
      action: 'request',
      certificates: topology.certificates.map((plan) => certManagerCertificate(frontend, topology, plan)),
    };
  if (!certManager.served) {
    settled.verdict = {
      ok: false,
      reason: 'CertManagerMissing',
      message: `tls.mode issuer needs cert-manager, but the API server does not serve certificates.cert-manager.io/v1: install cert-manager (its CRDs), or choose tls.mode self-signed or secret; the operator looks again every ${CERT_MANAGER_RETRY_MS / 1000} s`,
    };
    settled.retryAfterMs = CERT_MANAGER_RETRY_MS;
    return settled;
  }
  const unread = topology.certificates
    .map((plan) => issuedSecretName(frontend, plan))
    .filter((name) => !secrets.has(name));
  if (unread.length) return { action: 'read', secrets: unread, fresh: false };
  settled.keptObjects = topology.certificates.map(
    (plan) => `Certificate/${certManagerCertificateName(frontend, plan)}`,
  );

  const notReady = topology.certificates.flatMap((plan) => {
    const name = certManagerCertificateName(frontend, plan);
    const certificate = certManager.certificates.get(name);
    const ready = certificate?.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status === 'True' && (ready.observedGeneration ?? 0) >= (certificate?.metadata?.generation ?? 0))
      return [];
    const why = ready
      ? // cert-manager's words (often several lines, e.g. an issuer's error), as one bounded line.
        `${oneLine(ready.reason ?? ready.status, 64)}${ready.message ? `: ${oneLine(ready.message, 300)}` : ''}`
      : 'not issued yet';
    return [`cert-manager Certificate ${name} is not Ready (${why})`];
  });
  const checked = planProvidedCertificates(frontend, topology, secrets, now, settled, (plan) =>
    issuedSecretName(frontend, plan),
  );
  if ('action' in checked || !notReady.length) return checked;
  // Not Ready: issuing, or the issuer refused. A copy that passed its checks is still served meanwhile.
  checked.verdict = {
    ok: false,
    reason: 'CertificateNotReady',
    message: `${notReady.join('; ')}${checked.verdict.ok ? '' : `; ${checked.verdict.message}`}`,
    waiting: true,
  };
  checked.retryAfterMs = CERT_MANAGER_RETRY_MS;
  return checked;
}
