// Building blocks for X.509 certificates: keys come from Node's native crypto (fast and
// CSPRNG-backed), node-forge assembles the certificates and Node's crypto signs them (forge's
// pure-JavaScript RSA takes up to a second per signature).
import { generateKeyPair, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import forge from 'node-forge';

// forge exports this; @types/node-forge does not declare it.
declare module 'node-forge' {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- augments node-forge's own pki namespace
  namespace pki {
    function getTBSCertificate(cert: Certificate): asn1.Asn1;
  }
}

export interface KeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

export function generateRsaKeyPair(bits = 2048): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: bits,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

/**
 * The same key, generated on libuv's thread pool: a 2048-bit key costs tens of milliseconds of
 * CPU, which the event loop (watches, health checks, other reconciles) does not wait for.
 */
export function generateRsaKeyPairAsync(bits = 2048): Promise<KeyPair> {
  return new Promise((resolve, reject) =>
    generateKeyPair(
      'rsa',
      {
        modulusLength: bits,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      },
      (error, publicKeyPem, privateKeyPem) => (error ? reject(error) : resolve({ privateKeyPem, publicKeyPem })),
    ),
  );
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

/** What forge's `cert.sign(key, sha256)` does, with the signature computed natively. */
function signSha256WithRsa(cert: forge.pki.Certificate, privateKeyPem: string): void {
  cert.md = forge.md.sha256.create();
  cert.signatureOid = cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption!;
  cert.tbsCertificate = forge.pki.getTBSCertificate(cert);
  const tbsDer = Buffer.from(forge.asn1.toDer(cert.tbsCertificate).getBytes(), 'binary');
  cert.signature = sign('sha256', tbsDer, privateKeyPem).toString('binary');
}

/** Signs a certificate with the issuer's key (or self-signs when no issuer is given). */
export function createCertificate(request: CertificateRequest, issuer?: Issuer): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(request.keyPair.publicKeyPem);
  cert.serialNumber = serialNumberHex(request.serialNumberBytes ?? randomBytes(16));
  cert.validity.notBefore = request.notBefore;
  cert.validity.notAfter = request.notAfter;
  cert.setSubject(forgeAttributes(request.subject));
  const issuerCert = issuer ? forge.pki.certificateFromPem(issuer.certificatePem) : undefined;
  cert.setIssuer(issuerCert ? issuerCert.subject.attributes : forgeAttributes(request.subject));

  const extensions: object[] = [
    { name: 'basicConstraints', cA: request.isCA, critical: true },
    request.isCA
      ? { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }
      : { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ];
  if (issuerCert) {
    extensions.push({
      name: 'authorityKeyIdentifier',
      keyIdentifier: issuerCert.generateSubjectKeyIdentifier().getBytes(),
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
  cert.setExtensions(extensions);

  signSha256WithRsa(cert, (issuer ?? request).keyPair.privateKeyPem);
  // forge ends PEM lines with CRLF; Node, OpenSSL and kubectl write LF, and stored PEM is compared byte for byte.
  return forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n');
}
