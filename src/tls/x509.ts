// Building blocks for X.509 certificates with RSA or ECDSA keys. Keys come from Node's native
// crypto (fast, CSPRNG-backed) and Node's crypto signs. node-forge only encodes: its certificate
// object reads and writes RSA keys alone, so the TBSCertificate is put together here from forge's
// DER encoder (names, extensions, dates) and the SubjectPublicKeyInfo exactly as Node exports it.
// @peculiar/x509 builds ECDSA certificates too, but only through WebCrypto, which is asynchronous:
// every caller that issues synchronously (render, the local control plane's PKI, test support)
// would have to change for no gain.
import {
  createHash,
  createPublicKey,
  generateKeyPair,
  generateKeyPairSync,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto';
import forge from 'node-forge';

// forge exports these; @types/node-forge does not declare them.
declare module 'node-forge' {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- augments node-forge's own pki namespace
  namespace pki {
    function certificateExtensionsToAsn1(extensions: object[]): asn1.Asn1;
  }
}

export interface KeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

/** The kinds of key the operator issues, as cert-manager names them (`privateKey.algorithm` and `size`). */
export type KeySpec = { algorithm: 'RSA'; size: 2048 | 3072 | 4096 } | { algorithm: 'ECDSA'; size: 256 | 384 };

export const DEFAULT_KEY: KeySpec = { algorithm: 'RSA', size: 2048 };

const CURVES = { 256: 'P-256', 384: 'P-384' } as const;

type KeyGeneration = { type: 'rsa'; modulusLength: number } | { type: 'ec'; namedCurve: string };

function keyGeneration(key: KeySpec): KeyGeneration {
  return key.algorithm === 'RSA'
    ? { type: 'rsa', modulusLength: key.size }
    : { type: 'ec', namedCurve: CURVES[key.size] };
}

const PEM_ENCODING = {
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
} as const;

export function generateKeyPairOf(key: KeySpec): KeyPair {
  const generation = keyGeneration(key);
  const { privateKey, publicKey } =
    generation.type === 'rsa'
      ? generateKeyPairSync('rsa', {
          modulusLength: generation.modulusLength,
          publicKeyEncoding: PEM_ENCODING.publicKeyEncoding,
          privateKeyEncoding: PEM_ENCODING.privateKeyEncoding,
        })
      : generateKeyPairSync('ec', {
          namedCurve: generation.namedCurve,
          publicKeyEncoding: PEM_ENCODING.publicKeyEncoding,
          privateKeyEncoding: PEM_ENCODING.privateKeyEncoding,
        });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

/**
 * The same key, generated on libuv's thread pool: a 2048-bit RSA key costs tens of milliseconds of
 * CPU, which the event loop (watches, health checks, other reconciles) does not wait for.
 */
export function generateKeyPairOfAsync(key: KeySpec): Promise<KeyPair> {
  const generation = keyGeneration(key);
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, publicKeyPem: string, privateKeyPem: string) =>
      error ? reject(error) : resolve({ privateKeyPem, publicKeyPem });
    if (generation.type === 'rsa')
      generateKeyPair('rsa', { modulusLength: generation.modulusLength, ...PEM_ENCODING }, done);
    else generateKeyPair('ec', { namedCurve: generation.namedCurve, ...PEM_ENCODING }, done);
  });
}

export function generateRsaKeyPair(bits: 2048 | 3072 | 4096 = 2048): KeyPair {
  return generateKeyPairOf({ algorithm: 'RSA', size: bits });
}

/** The kind of a key, read from its PEM (public or private), or undefined for kinds the operator does not issue. */
export function keySpecOf(pem: string): KeySpec | undefined {
  const key = createPublicKey(pem);
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'rsa') {
    const size = details?.modulusLength;
    return size === 2048 || size === 3072 || size === 4096 ? { algorithm: 'RSA', size } : undefined;
  }
  if (key.asymmetricKeyType === 'ec') {
    if (details?.namedCurve === 'prime256v1') return { algorithm: 'ECDSA', size: 256 };
    if (details?.namedCurve === 'secp384r1') return { algorithm: 'ECDSA', size: 384 };
  }
  return undefined;
}

export interface DistinguishedName {
  commonName: string;
  organizations?: string[];
}

export type SubjectAltName = { dns: string } | { ip: string };

export interface CertificateRequest {
  subject: DistinguishedName;
  keyPair: KeyPair;
  notBefore: Date;
  notAfter: Date;
  isCA: boolean;
  /** Extended key usages; a CA gets none. */
  serverAuth?: boolean;
  clientAuth?: boolean;
  subjectAltNames?: SubjectAltName[];
  /** The 16 random bytes of the serial number; fresh ones when omitted (tests pin them). */
  serialNumberBytes?: Uint8Array;
}

export interface Issuer {
  certificatePem: string;
  /** Only the private key signs; the public half is in the certificate. */
  keyPair: Pick<KeyPair, 'privateKeyPem'>;
}

/**
 * The serial number made of 16 random bytes (RFC 5280 allows up to 20 octets): positive, and with
 * a first byte in 0x40-0x7f so that its DER INTEGER is minimal whatever the other bytes. forge
 * drops at most one leading zero byte and OpenSSL refuses an INTEGER padded with more ("illegal
 * padding"): with only the sign bit cleared, one serial in 65,536 (00 00, then a byte below 0x80)
 * gave a certificate Node could not read back, and so a needless reissue (of the CA, even).
 */
export function serialNumberHex(random: Uint8Array): string {
  const bytes = Buffer.from(random);
  bytes[0] = (bytes[0]! & 0x3f) | 0x40;
  return bytes.toString('hex');
}

// UTF8String as RFC 5280 asks: forge's default PrintableString cannot hold a wildcard's '*'.
// (@types/node-forge types valueTagClass as a tag class; forge reads it as the tag type.)
const UTF8_STRING = forge.asn1.Type.UTF8 as number as forge.asn1.Class;

function forgeAttributes(dn: DistinguishedName): forge.pki.CertificateField[] {
  return [
    { name: 'commonName', value: dn.commonName, valueTagClass: UTF8_STRING },
    ...(dn.organizations ?? []).map((o) => ({ name: 'organizationName', value: o, valueTagClass: UTF8_STRING })),
  ];
}

const { asn1 } = forge;
const UNIVERSAL = asn1.Class.UNIVERSAL;
const der = (node: forge.asn1.Asn1) => Buffer.from(asn1.toDer(node).getBytes(), 'binary');
// Bit strings stay opaque: a subjectPublicKey must be hashed and copied as it is, never re-encoded.
const fromDer = (bytes: Buffer) =>
  asn1.fromDer(bytes.toString('binary'), { decodeBitStrings: false } as unknown as boolean);
const oid = (id: string) => asn1.create(UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(id).getBytes());

/**
 * The signature algorithm a key signs with: SHA-256 with RSA (any size, as before), ECDSA with the
 * hash that matches the curve (RFC 5480). ECDSA identifiers have no parameters (RFC 5758), RSA's a NULL.
 */
function signatureAlgorithm(privateKeyPem: string): { hash: string; identifier: forge.asn1.Asn1 } {
  const spec = keySpecOf(privateKeyPem);
  if (spec === undefined)
    throw new RangeError('the signing key must be RSA (2048, 3072, 4096 bits) or ECDSA (P-256, P-384)');
  if (spec.algorithm === 'RSA') {
    const identifier = asn1.create(UNIVERSAL, asn1.Type.SEQUENCE, true, [
      oid(forge.pki.oids.sha256WithRSAEncryption!),
      asn1.create(UNIVERSAL, asn1.Type.NULL, false, ''),
    ]);
    return { hash: 'sha256', identifier };
  }
  const [hash, id] = spec.size === 256 ? ['sha256', '1.2.840.10045.4.3.2'] : ['sha384', '1.2.840.10045.4.3.3'];
  return { hash, identifier: asn1.create(UNIVERSAL, asn1.Type.SEQUENCE, true, [oid(id)]) };
}

/** RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits (what forge computes for RSA keys). */
function keyIdentifier(spkiDer: Buffer): string {
  const subjectPublicKey = fromDer(spkiDer).value[1] as forge.asn1.Asn1;
  const bits = Buffer.from(subjectPublicKey.value as string, 'binary').subarray(1);
  return createHash('sha1').update(bits).digest('binary');
}

/** UTCTime up to 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5). */
function time(date: Date): forge.asn1.Asn1 {
  return date.getUTCFullYear() < 2050
    ? asn1.create(UNIVERSAL, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(date))
    : asn1.create(UNIVERSAL, asn1.Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(date));
}

/** The issuer's subject exactly as encoded in its certificate (any key type), and its key identifier. */
function issuerOf(certificatePem: string): { name: forge.asn1.Asn1; keyIdentifier: string } {
  const certificate = new X509Certificate(certificatePem);
  const tbs = fromDer(certificate.raw).value[0] as forge.asn1.Asn1;
  const fields = tbs.value as forge.asn1.Asn1[];
  const versioned = fields[0]!.tagClass === asn1.Class.CONTEXT_SPECIFIC ? 1 : 0;
  const spki = certificate.publicKey.export({ type: 'spki', format: 'der' });
  return { name: fields[4 + versioned]!, keyIdentifier: keyIdentifier(spki) };
}

/** Signs a certificate with the issuer's key (or self-signs when no issuer is given). */
export function createCertificate(request: CertificateRequest, issuer?: Issuer): string {
  const spkiDer = createPublicKey(request.keyPair.publicKeyPem).export({ type: 'spki', format: 'der' });
  const isEc = keySpecOf(request.keyPair.publicKeyPem)?.algorithm === 'ECDSA';
  const scratch = forge.pki.createCertificate();
  scratch.setSubject(forgeAttributes(request.subject));
  const subject = forge.pki.distinguishedNameToAsn1(scratch.subject);
  const issuing = issuer ? issuerOf(issuer.certificatePem) : undefined;

  const octets = (bytes: string) => asn1.create(UNIVERSAL, asn1.Type.OCTETSTRING, false, bytes);
  const extensions: object[] = [
    { name: 'basicConstraints', cA: request.isCA, critical: true },
    request.isCA
      ? { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }
      : // An ECDSA key cannot encipher: key exchange is ECDHE, the key only signs (RFC 8813).
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: !isEc, critical: true },
    { name: 'subjectKeyIdentifier', value: octets(keyIdentifier(spkiDer)) },
  ];
  if (issuing) {
    extensions.push({
      name: 'authorityKeyIdentifier',
      value: asn1.create(UNIVERSAL, asn1.Type.SEQUENCE, true, [
        asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, false, issuing.keyIdentifier),
      ]),
    });
  }
  if (!request.isCA && (request.serverAuth || request.clientAuth)) {
    extensions.push({ name: 'extKeyUsage', serverAuth: !!request.serverAuth, clientAuth: !!request.clientAuth });
  }
  if (request.subjectAltNames?.length) {
    extensions.push({
      name: 'subjectAltName',
      altNames: request.subjectAltNames.map((san) =>
        'dns' in san ? { type: 2, value: san.dns } : { type: 7, ip: san.ip },
      ),
    });
  }
  scratch.setExtensions(extensions);

  const signingKeyPem = (issuer ?? request).keyPair.privateKeyPem;
  const algorithm = signatureAlgorithm(signingKeyPem);
  const tbs = asn1.create(UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [
      asn1.create(UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(2).getBytes()),
    ]),
    asn1.create(
      UNIVERSAL,
      asn1.Type.INTEGER,
      false,
      forge.util.hexToBytes(serialNumberHex(request.serialNumberBytes ?? randomBytes(16))),
    ),
    algorithm.identifier,
    issuing?.name ?? subject,
    asn1.create(UNIVERSAL, asn1.Type.SEQUENCE, true, [time(request.notBefore), time(request.notAfter)]),
    subject,
    fromDer(spkiDer),
    forge.pki.certificateExtensionsToAsn1(scratch.extensions as object[]),
  ]);
  const signature = sign(algorithm.hash, der(tbs), signingKeyPem);
  const certificate = asn1.create(UNIVERSAL, asn1.Type.SEQUENCE, true, [
    tbs,
    algorithm.identifier,
    asn1.create(UNIVERSAL, asn1.Type.BITSTRING, false, String.fromCharCode(0) + signature.toString('binary')),
  ]);
  return new X509Certificate(der(certificate)).toString();
}
