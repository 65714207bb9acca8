// Self-signed mode: each frontend gets its own CA, and the CA signs the server certificates that
// carry the frontend's public host names. No I/O and no clock: the caller passes `now` and stores
// what comes back in kubernetes.io/tls Secrets (the layout cert-manager uses). Keys and serial
// numbers are random, so issue only when a decision in renewal.ts says so.
import { isIP } from 'node:net';
import { uniqueNames } from './names.js';
import {
  createCertificate,
  DEFAULT_KEY,
  generateKeyPairOf,
  generateKeyPairOfAsync,
  keySpecOf,
  type KeyPair,
  type KeySpec,
  type SubjectAltName,
} from './x509.js';

export interface KeyAndCertificate {
  certificatePem: string;
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  notBefore: Date;
  notAfter: Date;
}

export interface IssueOptions {
  now: Date;
  /** The kind of key generated when no keyPair is given; default RSA 2048 (DEFAULT_KEY). */
  key?: KeySpec;
  /** Lifetime in milliseconds; default 10 years for a CA, 90 days for a server certificate. */
  validity?: number;
  /** A key generated beforehand (e.g. off the event loop with generateKeyPairOfAsync); one is generated when omitted. */
  keyPair?: KeyPair;
}

/**
 * The data of a kubernetes.io/tls Secret: the chain (leaf first), the leaf's key, and the CA.
 * A type alias, not an interface, so it can be passed where any Secret data is read.
 */
export type TlsSecretData = {
  'tls.crt': string;
  'tls.key': string;
  'ca.crt': string;
};

const DAY_MS = 24 * 3600 * 1000;
export const DEFAULT_CA_VALIDITY_MS = 3650 * DAY_MS;
export const DEFAULT_SERVER_VALIDITY_MS = 90 * DAY_MS;
/** The given key when it is of a kind the operator issues, else a new one of the kind asked for. */
function keyPairOf(options: IssueOptions): KeyPair {
  if (!options.keyPair) return generateKeyPairOf(options.key ?? DEFAULT_KEY);
  if (keySpecOf(options.keyPair.publicKeyPem) === undefined) {
    throw new RangeError('the key must be RSA of 2048, 3072 or 4096 bits, or ECDSA on P-256 or P-384');
  }
  return options.keyPair;
}

/** X.509 stores whole seconds: truncating here makes the dates returned equal those read back from the PEM. */
function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

function validityWindow(options: IssueOptions, defaultValidity: number): { notBefore: Date; notAfter: Date } {
  const validity = options.validity ?? defaultValidity;
  if (!Number.isFinite(validity) || validity < 1000) {
    throw new RangeError(`validity must be at least one second (in milliseconds), got ${validity}`);
  }
  const notBefore = wholeSeconds(options.now.getTime());
  return { notBefore, notAfter: wholeSeconds(notBefore.getTime() + validity) };
}

export function issueCa(commonName: string, options: IssueOptions): KeyAndCertificate {
  const { notBefore, notAfter } = validityWindow(options, DEFAULT_CA_VALIDITY_MS);
  const keyPair = keyPairOf(options);
  const certificatePem = createCertificate({ subject: { commonName }, keyPair, notBefore, notAfter, isCA: true });
  return { certificatePem, privateKeyPem: keyPair.privateKeyPem, notBefore, notAfter };
}

/**
 * A server certificate signed by `ca`, with every name as a SAN (IP addresses as iPAddress SANs)
 * and the first name as the common name. It never outlives the CA: clients reject the chain
 * once the CA has expired.
 */
export function issueServerCertificate(
  ca: KeyAndCertificate,
  names: string[],
  options: IssueOptions,
): KeyAndCertificate {
  const sans = uniqueNames(names);
  const commonName = sans[0];
  if (commonName === undefined) throw new RangeError('a server certificate needs at least one host name');
  const window = validityWindow(options, DEFAULT_SERVER_VALIDITY_MS);
  const notBefore = window.notBefore;
  const notAfter = window.notAfter > ca.notAfter ? ca.notAfter : window.notAfter;
  const keyPair = keyPairOf(options);
  const subjectAltNames: SubjectAltName[] = sans.map((name) => (isIP(name) ? { ip: name } : { dns: name }));
  const certificatePem = createCertificate(
    { subject: { commonName }, keyPair, notBefore, notAfter, isCA: false, serverAuth: true, subjectAltNames },
    { certificatePem: ca.certificatePem, keyPair: { privateKeyPem: ca.privateKeyPem } },
  );
  return { certificatePem, privateKeyPem: keyPair.privateKeyPem, notBefore, notAfter };
}

/** Which names go into which server certificate: extra names (e.g. `localhost`) go into every one. */
export function serverCertificateNames(
  hostNames: readonly string[],
  extraNames: readonly string[],
  perHost: boolean,
): string[][] {
  const hosts = uniqueNames(hostNames);
  return perHost ? hosts.map((host) => uniqueNames([host, ...extraNames])) : [uniqueNames([...hosts, ...extraNames])];
}

function pemBlock(pem: string): string {
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}

/** The Secret for a server certificate: `tls.crt` holds the leaf then the CA, so clients get the full chain. */
export function tlsSecretData(leaf: KeyAndCertificate, ca: KeyAndCertificate): TlsSecretData {
  return {
    'tls.crt': pemBlock(leaf.certificatePem) + pemBlock(ca.certificatePem),
    'tls.key': pemBlock(leaf.privateKeyPem),
    'ca.crt': pemBlock(ca.certificatePem),
  };
}

/** The Secret that keeps the CA and its key, so that renewals are signed by the CA nodes already trust. */
export function caSecretData(ca: KeyAndCertificate): TlsSecretData {
  return {
    'tls.crt': pemBlock(ca.certificatePem),
    'tls.key': pemBlock(ca.privateKeyPem),
    'ca.crt': pemBlock(ca.certificatePem),
  };
}

/** A certificate a renewal decision asked for: a CA, or a server certificate signed by `ca`. */
export type IssueRequest = {
  /** The Secret it is stored in. */
  secretName: string;
  /** What is issued and why, for the CertificateIssued Event. */
  description: string;
  /** The kind of key the new certificate gets. */
  key: KeySpec;
} & ({ commonName: string } | { ca: KeyAndCertificate; names: string[] });

export interface IssuedCertificate {
  secretName: string;
  description: string;
  certificate: KeyAndCertificate;
}

/** Issues what a request asks for, with a key generated off the event loop (the slow part). */
export async function issueRequested(request: IssueRequest, now: Date): Promise<IssuedCertificate> {
  const keyPair = await generateKeyPairOfAsync(request.key);
  const certificate =
    'commonName' in request
      ? issueCa(request.commonName, { now, keyPair })
      : issueServerCertificate(request.ca, request.names, { now, keyPair });
  return { secretName: request.secretName, description: request.description, certificate };
}
