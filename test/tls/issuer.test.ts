// Self-signed issuance, checked by OpenSSL: a CA per frontend, server certificates it signs with
// every host name as a SAN, and the kubernetes.io/tls Secret layout.
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import {
  issueCa,
  issueRequested,
  issueServerCertificate,
  serverCertificateNames,
  tlsSecretData,
  caSecretData,
  type KeyAndCertificate,
} from '../../src/tls/issuer.js';
import type { KeySpec } from '../../src/tls/x509.js';
import { DAY, T0, at, openssl, scratch } from './tools.js';

const ATTIME = String(T0.getTime() / 1000 + 3600);
const HOSTS = ['api.am.wso2.com', 'gw.am.wso2.com'];
const EXTRA = ['localhost', '127.0.0.1', '::1'];

let ca: KeyAndCertificate;
let leaf: KeyAndCertificate;
const files = scratch('tls-issuer');
let caFile: string;
let leafFile: string;

beforeAll(() => {
  ca = issueCa('wso2-frontend default/apim', { now: T0 });
  leaf = issueServerCertificate(ca, [...HOSTS, ...EXTRA], { now: T0 });
  caFile = files.write('ca.pem', ca.certificatePem);
  leafFile = files.write('leaf.pem', leaf.certificatePem);
});
afterAll(() => files.remove());

/** `openssl x509 -ext`: the named extensions as OpenSSL prints them. */
function extensions(file: string): string {
  return openssl('x509', '-in', file, '-noout', '-ext', 'basicConstraints,keyUsage,extendedKeyUsage').output;
}

describe('the CA', () => {
  test('is a CA: basicConstraints CA:TRUE critical, keyUsage certificate and CRL signing, no extended key usage', () => {
    const text = extensions(caFile);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:TRUE/);
    expect(text).toMatch(/X509v3 Key Usage: critical\n\s+.*Certificate Sign, CRL Sign/);
    expect(text).not.toContain('Extended Key Usage');
  });

  test('is self-signed with SHA-256 over a 2048-bit RSA key and verifies as its own trust anchor', () => {
    const text = openssl('x509', '-in', caFile, '-noout', '-text').output;
    expect(text).toContain('Signature Algorithm: sha256WithRSAEncryption');
    expect(text).toContain('Public-Key: (2048 bit)');
    expect(text).toContain('Subject: CN = wso2-frontend default/apim');
    expect(text).toContain('Issuer: CN = wso2-frontend default/apim');
    expect(openssl('verify', '-attime', ATTIME, '-CAfile', caFile, caFile).output.trim()).toBe(`${caFile}: OK`);
  });

  test('is valid for 10 years from now by default', () => {
    expect(ca.notBefore).toEqual(T0);
    expect(ca.notAfter).toEqual(at(3650 * DAY));
    expect(openssl('x509', '-in', caFile, '-noout', '-startdate', '-enddate').output).toBe(
      'notBefore=Jan  1 00:00:00 2026 GMT\nnotAfter=Dec 30 00:00:00 2035 GMT\n',
    );
  });
});

describe('a server certificate', () => {
  test('is signed by the CA: openssl verify accepts the chain', () => {
    expect(openssl('verify', '-attime', ATTIME, '-CAfile', caFile, leafFile).output.trim()).toBe(`${leafFile}: OK`);
  });

  test('matches every host name and extra DNS name for openssl -checkhost', () => {
    for (const host of [...HOSTS, 'localhost']) {
      expect(openssl('x509', '-in', leafFile, '-noout', '-checkhost', host).output.trim()).toBe(
        `Hostname ${host} does match certificate`,
      );
    }
  });

  test('matches the extra IP addresses, IPv4 and IPv6, for openssl -checkip', () => {
    for (const ip of ['127.0.0.1', '::1']) {
      expect(openssl('x509', '-in', leafFile, '-noout', '-checkip', ip).output.trim()).toBe(
        `IP ${ip} does match certificate`,
      );
    }
  });

  test('matches no other name', () => {
    expect(openssl('x509', '-in', leafFile, '-noout', '-checkhost', 'store.am.wso2.com').output.trim()).toBe(
      'Hostname store.am.wso2.com does NOT match certificate',
    );
  });

  test('carries the first name as its common name and every name as a SAN', () => {
    const x509 = new X509Certificate(leaf.certificatePem);
    expect(x509.subject).toBe('CN=api.am.wso2.com');
    expect(x509.subjectAltName).toBe(
      'DNS:api.am.wso2.com, DNS:gw.am.wso2.com, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    );
  });

  test('is a server leaf: CA:FALSE critical, digitalSignature and keyEncipherment, serverAuth', () => {
    const text = extensions(leafFile);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:FALSE/);
    expect(text).toMatch(/X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment\n/);
    expect(text).toMatch(/X509v3 Extended Key Usage: \n\s+TLS Web Server Authentication\n/);
  });

  test('is valid for 90 days from now by default, and for the validity asked for', () => {
    expect([leaf.notBefore, leaf.notAfter]).toEqual([T0, at(90 * DAY)]);
    const short = issueServerCertificate(ca, HOSTS, { now: T0, validity: 7 * DAY });
    expect(new X509Certificate(short.certificatePem).validToDate).toEqual(at(7 * DAY));
  });

  test('never outlives its CA', () => {
    const shortCa = issueCa('short-lived', { now: T0, validity: 30 * DAY });
    const capped = issueServerCertificate(shortCa, HOSTS, { now: T0 });
    expect(capped.notAfter).toEqual(shortCa.notAfter);
    expect(new X509Certificate(capped.certificatePem).validToDate).toEqual(at(30 * DAY));
  });

  test('has a random serial number: two certificates for the same names differ', () => {
    const again = issueServerCertificate(ca, HOSTS, { now: T0 });
    const serial = (pem: string) => new X509Certificate(pem).serialNumber;
    expect(serial(again.certificatePem)).not.toBe(serial(leaf.certificatePem));
    expect(serial(again.certificatePem)).toMatch(/^[0-7][0-9A-F]{31}$/);
  });

  test('refuses a key of a kind the operator does not issue', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 1024,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    expect(() =>
      issueServerCertificate(ca, HOSTS, { now: T0, keyPair: { privateKeyPem: privateKey, publicKeyPem: publicKey } }),
    ).toThrow('the key must be RSA of 2048, 3072 or 4096 bits, or ECDSA on P-256 or P-384');
  });

  test('refuses an empty list of names', () => {
    expect(() => issueServerCertificate(ca, [], { now: T0 })).toThrow(
      'a server certificate needs at least one host name',
    );
  });

  test('lists a name once even when it is given twice in different case', () => {
    const cert = issueServerCertificate(ca, ['API.am.wso2.com', 'api.am.wso2.com'], { now: T0 });
    expect(new X509Certificate(cert.certificatePem).subjectAltName).toBe('DNS:API.am.wso2.com');
  });

  test('for a wildcard name matches exactly one label below it', () => {
    const wildcard = issueServerCertificate(ca, ['*.am.wso2.com'], { now: T0 });
    const file = files.write('wildcard.pem', wildcard.certificatePem);
    const check = (host: string) => openssl('x509', '-in', file, '-noout', '-checkhost', host).output.trim();
    expect(check('api.am.wso2.com')).toBe('Hostname api.am.wso2.com does match certificate');
    expect(check('a.b.am.wso2.com')).toBe('Hostname a.b.am.wso2.com does NOT match certificate');
  });
});

describe('the kubernetes.io/tls Secret data', () => {
  test('holds the leaf then the CA in tls.crt, the leaf key as PKCS#8 in tls.key, the CA in ca.crt', () => {
    const data = tlsSecretData(leaf, ca);
    expect(Object.keys(data)).toEqual(['tls.crt', 'tls.key', 'ca.crt']);
    expect(data['tls.crt']).toBe(leaf.certificatePem + ca.certificatePem);
    expect(data['tls.key']).toBe(leaf.privateKeyPem);
    expect(data['tls.key']).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
    expect(data['ca.crt']).toBe(ca.certificatePem);
  });

  test('uses LF line endings only, as kubectl and OpenSSL write them', () => {
    expect(Object.values(tlsSecretData(leaf, ca)).join('')).not.toContain('\r');
  });

  test('pairs tls.key with the leaf certificate: OpenSSL derives the same public key from both', () => {
    const keyFile = files.write('leaf.key', tlsSecretData(leaf, ca)['tls.key']);
    const fromCertificate = openssl('x509', '-in', leafFile, '-noout', '-pubkey').output;
    expect(openssl('pkey', '-in', keyFile, '-pubout').output).toBe(fromCertificate);
  });

  test('verifies as a chain with OpenSSL taking the CA from ca.crt and the leaf from tls.crt', () => {
    const data = tlsSecretData(leaf, ca);
    const chainFile = files.write('tls.crt', data['tls.crt']);
    const trustFile = files.write('ca.crt', data['ca.crt']);
    expect(openssl('verify', '-attime', ATTIME, '-CAfile', trustFile, chainFile).output.trim()).toBe(
      `${chainFile}: OK`,
    );
  });

  test('for the CA keeps the CA certificate and its own key', () => {
    expect(caSecretData(ca)).toEqual({
      'tls.crt': ca.certificatePem,
      'tls.key': ca.privateKeyPem,
      'ca.crt': ca.certificatePem,
    });
  });
});

describe('which names go into which certificate', () => {
  test('one certificate for every host, with the extra names once', () => {
    expect(serverCertificateNames(HOSTS, EXTRA, false)).toEqual([[...HOSTS, ...EXTRA]]);
  });

  test('one certificate per host, each with the extra names', () => {
    expect(serverCertificateNames(HOSTS, ['localhost'], true)).toEqual([
      ['api.am.wso2.com', 'localhost'],
      ['gw.am.wso2.com', 'localhost'],
    ]);
  });
});

describe('the key algorithm asked for', () => {
  const kinds: [KeySpec, string, string][] = [
    [{ algorithm: 'RSA', size: 3072 }, 'Public-Key: (3072 bit)', 'sha256WithRSAEncryption'],
    [{ algorithm: 'RSA', size: 4096 }, 'Public-Key: (4096 bit)', 'sha256WithRSAEncryption'],
    [{ algorithm: 'ECDSA', size: 256 }, 'NIST CURVE: P-256', 'ecdsa-with-SHA256'],
    [{ algorithm: 'ECDSA', size: 384 }, 'NIST CURVE: P-384', 'ecdsa-with-SHA384'],
  ];

  test.each(kinds)(
    '%j: the CA and its server certificate get that key; the chain verifies',
    (key, publicKey, signedWith) => {
      const kindCa = issueCa('wso2-frontend default/apim', { now: T0, key });
      const kindLeaf = issueServerCertificate(kindCa, HOSTS, { now: T0, key });
      const caPem = files.write(`ca-${key.algorithm}-${key.size}.pem`, kindCa.certificatePem);
      const leafPem = files.write(`leaf-${key.algorithm}-${key.size}.pem`, kindLeaf.certificatePem);
      for (const file of [caPem, leafPem]) {
        const text = openssl('x509', '-in', file, '-noout', '-text').output;
        expect(text).toContain(publicKey);
        expect(text).toContain(`Signature Algorithm: ${signedWith}`);
      }
      expect(openssl('verify', '-attime', ATTIME, '-CAfile', caPem, leafPem).output.trim()).toBe(`${leafPem}: OK`);
      const keyFile = files.write(`leaf-${key.algorithm}-${key.size}.key`, kindLeaf.privateKeyPem);
      expect(openssl('pkey', '-in', keyFile, '-pubout').output).toBe(
        openssl('x509', '-in', leafPem, '-noout', '-pubkey').output,
      );
    },
  );

  test('an ECDSA server certificate may only sign (ECDHE does the key exchange): no keyEncipherment', () => {
    const ecLeaf = issueServerCertificate(ca, HOSTS, { now: T0, key: { algorithm: 'ECDSA', size: 256 } });
    const text = extensions(files.write('ec-usage.pem', ecLeaf.certificatePem));
    expect(text).toMatch(/X509v3 Key Usage: critical\n\s+Digital Signature\n/);
  });

  test('mixed chains verify: an RSA CA signs an ECDSA certificate, an ECDSA CA an RSA one', () => {
    const ecCa = issueCa('ecdsa CA', { now: T0, key: { algorithm: 'ECDSA', size: 384 } });
    const pairs: [KeyAndCertificate, KeySpec, string][] = [
      [ca, { algorithm: 'ECDSA', size: 256 }, 'sha256WithRSAEncryption'],
      [ecCa, { algorithm: 'RSA', size: 2048 }, 'ecdsa-with-SHA384'],
    ];
    for (const [issuer, key, signedWith] of pairs) {
      const issued = issueServerCertificate(issuer, HOSTS, { now: T0, key });
      const leafPem = files.write(`mixed-${key.algorithm}.pem`, issued.certificatePem);
      const caPem = files.write(`mixed-${key.algorithm}-ca.pem`, issuer.certificatePem);
      expect(openssl('x509', '-in', leafPem, '-noout', '-text').output).toContain(`Signature Algorithm: ${signedWith}`);
      expect(openssl('verify', '-attime', ATTIME, '-CAfile', caPem, leafPem).output.trim()).toBe(`${leafPem}: OK`);
    }
  });

  test("a certificate's authority key identifier is its CA's subject key identifier, for RSA and ECDSA CAs", () => {
    const keyIds = (file: string) =>
      openssl('x509', '-in', file, '-noout', '-ext', 'subjectKeyIdentifier,authorityKeyIdentifier').output;
    for (const key of [undefined, { algorithm: 'ECDSA', size: 256 } as const]) {
      const issuer = key ? issueCa('ecdsa CA', { now: T0, key }) : ca;
      const skiOfCa = /Subject Key Identifier: ?\n\s+([0-9A-F:]+)/.exec(
        keyIds(files.write('ki-ca.pem', issuer.certificatePem)),
      )?.[1];
      const leafIds = keyIds(
        files.write('ki-leaf.pem', issueServerCertificate(issuer, HOSTS, { now: T0 }).certificatePem),
      );
      expect(skiOfCa).toMatch(/^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
      expect(leafIds).toMatch(new RegExp(`Authority Key Identifier: ?\\n\\s+(keyid:)?${skiOfCa}`));
    }
  });
});

test('a request from a plan is issued with the key it names', async () => {
  const key: KeySpec = { algorithm: 'ECDSA', size: 384 };
  const issuedCa = await issueRequested({ secretName: 'ca', description: 'the CA', key, commonName: 'shop CA' }, T0);
  const issuedLeaf = await issueRequested(
    { secretName: 'leaf', description: 'the certificate', key, ca: issuedCa.certificate, names: HOSTS },
    T0,
  );
  for (const { certificate } of [issuedCa, issuedLeaf]) {
    const publicKey = new X509Certificate(certificate.certificatePem).publicKey;
    expect([publicKey.asymmetricKeyType, publicKey.asymmetricKeyDetails?.namedCurve]).toEqual(['ec', 'secp384r1']);
  }
});
