// Building blocks for X.509 certificates: keys come from Node's native crypto (fast and
// CSPRNG-backed), node-forge assembles and signs the certificates.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

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
}

export interface Issuer {
  certificatePem: string;
  keyPair: KeyPair;
}

/** A positive serial number of 16 random bytes (RFC 5280 allows up to 20 octets). */
function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

function forgeAttributes(dn: DistinguishedName): forge.pki.CertificateField[] {
  return [
    { name: 'commonName', value: dn.commonName },
    ...(dn.organizations ?? []).map((o) => ({ name: 'organizationName', value: o })),
  ];
}

/** Signs a certificate with the issuer's key (or self-signs when no issuer is given). */
export function createCertificate(request: CertificateRequest, issuer?: Issuer): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(request.keyPair.publicKeyPem);
  cert.serialNumber = randomSerialHex();
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
    extensions.push({ name: 'authorityKeyIdentifier', keyIdentifier: issuerCert.generateSubjectKeyIdentifier().getBytes() });
  }
  if (!request.isCA && (request.serverAuth || request.clientAuth)) {
    extensions.push({ name: 'extKeyUsage', serverAuth: !!request.serverAuth, clientAuth: !!request.clientAuth });
  }
  if (request.subjectAltNames?.length) {
    extensions.push({
      name: 'subjectAltName',
      altNames: request.subjectAltNames.map((san) => ('dns' in san ? { type: 2, value: san.dns } : { type: 7, ip: san.ip })),
    });
  }
  cert.setExtensions(extensions);

  const signingKey = forge.pki.privateKeyFromPem((issuer ?? request).keyPair.privateKeyPem);
  cert.sign(signingKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}
