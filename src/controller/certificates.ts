// The certificate part of a plan: from the Secrets read and the certificates issued so far,
// either what is still needed (a Secret to read, or read again from the API server before
// issuing on it; a certificate to issue) or the settled outcome. Pure: issuing (random keys)
// and reading are done by the reconciler, which then plans again.
import { certificateFingerprint } from '../api/agent.js';
import type { Wso2Frontend } from '../api/schema.js';
import type { Topology } from '../model/topology.js';
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

/** What the certificate decisions still need before they settle. */
export type CertificateNeed =
  { action: 'read'; secrets: string[]; fresh: boolean } | { action: 'issue'; requests: IssueRequest[] };

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
}

export function planCertificates(
  frontend: Wso2Frontend,
  topology: Topology,
  secrets: ReadonlyMap<string, SecretRead>,
  issued: readonly IssuedCertificate[],
  now: Date,
): CertificateNeed | SettledCertificates {
  const settled: SettledCertificates = {
    verdict: { ok: true, reason: 'CertificatesValid', message: '' },
    secrets: [],
    kept: [],
    versions: [],
    served: new Map(),
    issued: issued.map((i) => i.description),
  };
  const secretNames =
    topology.tls.mode === 'secret'
      ? topology.certificates.map((c) => c.secretName!)
      : [caSecretName(frontend), ...topology.certificates.map((c) => certificateSecretName(frontend, c.name))];
  const unread = secretNames.filter((name) => !secrets.has(name) && !issued.some((i) => i.secretName === name));
  if (unread.length) return { action: 'read', secrets: unread, fresh: false };

  if (topology.tls.mode === 'secret') return planProvidedCertificates(frontend, topology, secrets, now, settled);

  // Anything but keep is decided again on what the API server holds now before it is issued.
  const stale: string[] = [];
  const requests: IssueRequest[] = [];
  const caName = caSecretName(frontend);
  settled.kept.push(caName);
  const issuedCa = issued.find((i) => i.secretName === caName);
  const renewals: Date[] = [];
  let ca: KeyAndCertificate;
  if (issuedCa) {
    ca = issuedCa.certificate;
    settled.secrets.push(certificateSecret(frontend, caName, caSecretData(ca)));
  } else {
    const read = secrets.get(caName)!;
    const decision = decideCa(now, read.data);
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
      data = tlsSecretData(leaf.certificate, ca);
      settled.served.set(name, leaf.certificate.notAfter);
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
): CertificateNeed | SettledCertificates {
  const failing: { certificate: Topology['certificates'][number]; problem: string }[] = [];
  for (const certificate of topology.certificates) {
    const source = certificate.secretName!;
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
      message: `${topology.certificates.length} provided certificate(s) cover their hosts`,
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
