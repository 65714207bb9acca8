// When a self-signed frontend's certificates must be (re)issued. Pure decisions from the clock and
// what is stored: the controller issues, stores and reports what they decide. A restart or a
// re-render changes neither input, so it never causes a reissue.
import { X509Certificate } from 'node:crypto';
import {
  describeCertificate,
  parseTlsSecretData,
  subjectOf,
  type ReadProblemReason,
  type SecretStringData,
  type StoredTls,
} from './certificate.js';
import type { KeyAndCertificate } from './issuer.js';
import { nameDifference } from './names.js';

/**
 * When to renew: `renewBefore` ms before notAfter, or at 2/3 of the lifetime when it is not given
 * or not shorter than the lifetime (cert-manager's rule).
 */
export function renewalTime(notBefore: Date, notAfter: Date, renewBefore?: number): Date {
  const lifetime = notAfter.getTime() - notBefore.getTime();
  if (renewBefore !== undefined && !(renewBefore >= 0)) {
    throw new RangeError(`renewBefore must be a duration of zero or more milliseconds, got ${renewBefore}`);
  }
  const before = renewBefore !== undefined && renewBefore < lifetime ? renewBefore : Math.floor(lifetime / 3);
  return new Date(notAfter.getTime() - before);
}

export interface RenewalOptions {
  /** How long before notAfter to renew, in ms; default a third of the lifetime. */
  renewBefore?: number;
}

export interface ServerCertificateOptions extends RenewalOptions {
  /** The certificate of the frontend's current CA: the stored leaf must be signed by it. */
  caCertificatePem: string;
}

interface Timed {
  notAfter: Date;
  renewAt: Date;
}

/** The stored certificate stays: nothing to write. */
export type Keep = { action: 'keep'; reason: 'CertificateValid'; message: string } & Timed;
/** The stored certificate is sound but due (or past) its renewal time. */
export type Renew = { action: 'renew'; reason: 'RenewalDue' | 'CertificateExpired'; message: string } & Timed;
/** There is no usable certificate, or it no longer fits what is wanted. */
export type Issue =
  | {
      action: 'issue';
      reason: ReadProblemReason | 'NotACertificateAuthority' | 'IssuerChanged' | 'CertificateNotYetValid';
      message: string;
    }
  | { action: 'issue'; reason: 'HostsChanged'; message: string; added: string[]; removed: string[] };

export type ServerCertificateDecision = Keep | Renew | Issue;
export type CaDecision = (Keep & { ca: KeyAndCertificate }) | Renew | Issue;

function iso(date: Date): string {
  return date.toISOString();
}

/** Reads the stored certificate and rejects what no client would accept whatever the names. */
function readStored(
  now: Date,
  stored: SecretStringData | undefined,
  what: string,
): { ok: true; stored: StoredTls } | { ok: false; decision: Issue } {
  if (stored === undefined) {
    return {
      ok: false,
      decision: { action: 'issue', reason: 'CertificateMissing', message: `no ${what} is stored yet` },
    };
  }
  const parsed = parseTlsSecretData(stored);
  if (!parsed.ok) {
    // The first problem names the decision; the message lists them all.
    const reason = parsed.problems[0]!.reason;
    const message = `the stored ${what} is unusable: ${parsed.problems.map((p) => p.message).join('; ')}`;
    return { ok: false, decision: { action: 'issue', reason, message } };
  }
  const { notBefore } = parsed.stored.certificate;
  if (now < notBefore) {
    return {
      ok: false,
      decision: {
        action: 'issue',
        reason: 'CertificateNotYetValid',
        message: `the stored ${what} is valid only from ${iso(notBefore)}, after now (${iso(now)}): the clock went back`,
      },
    };
  }
  return { ok: true, stored: parsed.stored };
}

function timing(now: Date, stored: StoredTls, what: string, options: RenewalOptions): Keep | Renew {
  const { notBefore, notAfter } = stored.certificate;
  const renewAt = renewalTime(notBefore, notAfter, options.renewBefore);
  if (now > notAfter) {
    return {
      action: 'renew',
      reason: 'CertificateExpired',
      message: `the ${what} expired at ${iso(notAfter)}`,
      notAfter,
      renewAt,
    };
  }
  if (now >= renewAt) {
    return {
      action: 'renew',
      reason: 'RenewalDue',
      message: `the ${what} was due for renewal at ${iso(renewAt)}; it expires at ${iso(notAfter)}`,
      notAfter,
      renewAt,
    };
  }
  return {
    action: 'keep',
    reason: 'CertificateValid',
    message: `the ${what} is valid until ${iso(notAfter)}, renewal at ${iso(renewAt)}`,
    notAfter,
    renewAt,
  };
}

/**
 * What to do with the frontend's CA, stored as a kubernetes.io/tls Secret (see caSecretData). When
 * it is kept, the decision carries it so that server certificates can be signed; when it is
 * (re)issued, every server certificate follows (decideServerCertificate reports IssuerChanged).
 */
export function decideCa(now: Date, stored: SecretStringData | undefined, options: RenewalOptions = {}): CaDecision {
  const read = readStored(now, stored, 'CA certificate');
  if (!read.ok) return read.decision;
  const { leaf, certificate } = read.stored;
  if (!leaf.ca) {
    return {
      action: 'issue',
      reason: 'NotACertificateAuthority',
      message: `the stored ${describeCertificate(leaf)} is not a CA (basicConstraints CA:TRUE is missing)`,
    };
  }
  const decision = timing(now, read.stored, 'CA certificate', options);
  return decision.action === 'keep' ? { ...decision, ca: certificate } : decision;
}

/**
 * What to do with a server certificate stored as a kubernetes.io/tls Secret (see tlsSecretData)
 * that must carry exactly `names` (host names and extra SANs) and be signed by the current CA.
 */
export function decideServerCertificate(
  now: Date,
  stored: SecretStringData | undefined,
  names: readonly string[],
  options: ServerCertificateOptions,
): ServerCertificateDecision {
  const read = readStored(now, stored, 'server certificate');
  if (!read.ok) return read.decision;
  const { leaf, ca, names: present } = read.stored;
  const currentCa = new X509Certificate(options.caCertificatePem);
  const signedByCurrentCa = leaf.checkIssued(currentCa) && leaf.verify(currentCa.publicKey);
  if (!signedByCurrentCa || ca?.fingerprint256 !== currentCa.fingerprint256) {
    return {
      action: 'issue',
      reason: 'IssuerChanged',
      message: `the stored ${describeCertificate(leaf)} or its ca.crt is not from the current CA "${subjectOf(currentCa)}" (serial ${currentCa.serialNumber})`,
    };
  }
  const { added, removed } = nameDifference(names, present);
  if (added.length > 0 || removed.length > 0) {
    const changes = [
      added.length > 0 ? `added ${added.join(', ')}` : '',
      removed.length > 0 ? `removed ${removed.join(', ')}` : '',
    ];
    return {
      action: 'issue',
      reason: 'HostsChanged',
      message: `the host names changed: ${changes.filter(Boolean).join('; ')}`,
      added,
      removed,
    };
  }
  return timing(now, read.stored, 'server certificate', options);
}
