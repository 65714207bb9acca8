// Reading a kubernetes.io/tls Secret back: the chain in tls.crt (leaf first), the key in tls.key
// and the CA in ca.crt. Node's X.509 parser reads RSA and ECDSA certificates alike (forge reads
// only RSA, and user-provided certificates are often ECDSA). Every message here is written from
// public facts only: parser errors are never passed on, so key material cannot leak into a status.
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import type { KeyAndCertificate } from './issuer.js';
import { canonicalName } from './names.js';

/** Secret data as the controller reads it: values already base64-decoded. */
export type SecretStringData = Readonly<Record<string, string | undefined>>;

/** Why a stored certificate cannot be used at all. */
export type ReadProblemReason =
  'CertificateMissing' | 'KeyMissing' | 'CertificateUnparseable' | 'KeyUnparseable' | 'KeyMismatch';

/** Why a certificate is kept, (re)issued or rejected; usable as a Kubernetes condition reason. */
export type CertificateReason =
  | ReadProblemReason
  | 'CertificateValid'
  | 'NotACertificateAuthority'
  | 'IssuerChanged'
  | 'HostsChanged'
  | 'HostNotCovered'
  | 'CertificateNotYetValid'
  | 'RenewalDue'
  | 'CertificateExpired';

export interface CertificateProblem<Reason extends CertificateReason = CertificateReason> {
  reason: Reason;
  message: string;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

export type Read<T> = { ok: true; value: T } | { ok: false; problem: CertificateProblem<ReadProblemReason> };

export interface CertificateChain {
  /** The first certificate: the one the key belongs to. */
  leaf: X509Certificate;
  leafPem: string;
  /** Every certificate in order, the leaf included. */
  certificates: X509Certificate[];
}

export function readCertificateChain(pem: string | undefined, key = 'tls.crt'): Read<CertificateChain> {
  if (pem === undefined || pem.trim() === '') {
    return { ok: false, problem: { reason: 'CertificateMissing', message: `${key} is missing or empty` } };
  }
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  const unparseable: CertificateProblem<ReadProblemReason> = {
    reason: 'CertificateUnparseable',
    message: `${key} does not hold PEM X.509 certificates ("-----BEGIN CERTIFICATE-----" blocks, leaf first)`,
  };
  if (blocks.length === 0) return { ok: false, problem: unparseable };
  try {
    const certificates = blocks.map((block) => new X509Certificate(block));
    return { ok: true, value: { leaf: certificates[0]!, leafPem: `${blocks[0]!}\n`, certificates } };
  } catch {
    return { ok: false, problem: unparseable };
  }
}

export function readPrivateKey(pem: string | undefined, key = 'tls.key'): Read<KeyObject> {
  if (pem === undefined || pem.trim() === '') {
    return { ok: false, problem: { reason: 'KeyMissing', message: `${key} is missing or empty` } };
  }
  try {
    return { ok: true, value: createPrivateKey({ key: pem, format: 'pem' }) };
  } catch {
    return {
      ok: false,
      problem: {
        reason: 'KeyUnparseable',
        message: `${key} does not hold an unencrypted PEM private key (PKCS#8, PKCS#1 or SEC1)`,
      },
    };
  }
}

export function keyMatches(certificate: X509Certificate, key: KeyObject): boolean {
  try {
    return certificate.checkPrivateKey(key);
  } catch {
    return false;
  }
}

/** The subject on one line, as `CN=..., O=...` (Node separates the parts with newlines). */
export function subjectOf(certificate: X509Certificate): string {
  return certificate.subject.replace(/\n/g, ', ');
}

/** A short, public description of a certificate for messages. */
export function describeCertificate(certificate: X509Certificate): string {
  return `certificate "${subjectOf(certificate)}" (serial ${certificate.serialNumber})`;
}

export function validityOf(certificate: X509Certificate): { notBefore: Date; notAfter: Date } {
  return { notBefore: certificate.validFromDate, notAfter: certificate.validToDate };
}

// Node prints SANs as `DNS:a, IP Address:1.2.3.4`, quoting (JSON) any value with special characters.
const SAN_ENTRY = /(DNS|IP Address|[A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;

/** The DNS and IP SANs of a certificate, in canonical form (lower-case DNS, expanded IPv6). */
export function subjectAltNames(certificate: X509Certificate): string[] {
  const names: string[] = [];
  for (const [, type, raw = ''] of (certificate.subjectAltName ?? '').matchAll(SAN_ENTRY)) {
    if (type !== 'DNS' && type !== 'IP Address') continue;
    const value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    names.push(canonicalName(value));
  }
  return names;
}

/** Whether a certificate covers a host name the way a TLS client checks it: SANs only, `*` for one whole label. */
export function coversName(certificate: X509Certificate, name: string): boolean {
  if (isIP(name) !== 0) return certificate.checkIP(name) !== undefined;
  return (
    certificate.checkHost(name, { subject: 'never', partialWildcards: false, singleLabelSubdomains: false }) !==
    undefined
  );
}

/** The parsed content of a kubernetes.io/tls Secret whose certificate and key belong together. */
export interface StoredTls {
  /** The leaf (first certificate of tls.crt) with its key, as issued. */
  certificate: KeyAndCertificate;
  leaf: X509Certificate;
  chain: X509Certificate[];
  /** ca.crt, when present and parseable. */
  ca: X509Certificate | undefined;
  /** The leaf's DNS and IP SANs, canonical. */
  names: string[];
}

/**
 * Reads Secret data back into the certificate and key it stores, or every problem that stops it:
 * missing or unparseable certificate or key, or a key that belongs to another certificate.
 */
type ParsedTls = { ok: true; stored: StoredTls } | { ok: false; problems: CertificateProblem<ReadProblemReason>[] };

/**
 * The last Secrets parsed, by a digest of their content, least recently used first: every
 * reconcile of a frontend decides on its CA and certificates again (a new frontend gets a burst
 * of them as its objects appear), and parsing keys and certificates was the largest operator-owned
 * item of a reconcile's CPU profile. The results are never changed by their readers.
 */
const parsedTls = new Map<string, ParsedTls>();
const PARSED_TLS_LIMIT = 512;

export function parseTlsSecretData(data: SecretStringData): ParsedTls {
  const digest = createHash('sha256')
    .update(JSON.stringify([data['tls.crt'], data['tls.key'], data['ca.crt']]))
    .digest('hex');
  const known = parsedTls.get(digest);
  if (known) {
    parsedTls.delete(digest);
    parsedTls.set(digest, known);
    return known;
  }
  const parsed = parseTls(data);
  parsedTls.set(digest, parsed);
  if (parsedTls.size > PARSED_TLS_LIMIT) parsedTls.delete(parsedTls.keys().next().value!);
  return parsed;
}

function parseTls(data: SecretStringData): ParsedTls {
  const chain = readCertificateChain(data['tls.crt']);
  const key = readPrivateKey(data['tls.key']);
  const problems = [chain, key].flatMap((read) => (read.ok ? [] : [read.problem]));
  if (!chain.ok || !key.ok) return { ok: false, problems };
  const { leaf, leafPem, certificates } = chain.value;
  if (!keyMatches(leaf, key.value)) {
    return {
      ok: false,
      problems: [
        {
          reason: 'KeyMismatch',
          message: `tls.key is not the private key of the ${describeCertificate(leaf)} in tls.crt`,
        },
      ],
    };
  }
  const ca = readCertificateChain(data['ca.crt'], 'ca.crt');
  return {
    ok: true,
    stored: {
      certificate: { certificatePem: leafPem, privateKeyPem: data['tls.key']!, ...validityOf(leaf) },
      leaf,
      chain: certificates,
      ca: ca.ok ? ca.value.leaf : undefined,
      names: subjectAltNames(leaf),
    },
  };
}
