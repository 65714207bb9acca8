// User-provided mode: the Secret the user names is checked, never changed, and every problem
// that would make clients fail is reported with a reason and a message.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  issueServerCertificate,
  tlsSecretData,
  type KeyAndCertificate,
  type TlsSecretData,
} from '../../src/tls/issuer.js';
import { checkProvidedCertificate } from '../../src/tls/provided.js';
import { DAY, T0, at, issuedAtT0, openssl, scratch } from './tools.js';

const HOSTS = ['api.am.wso2.com', 'gw.am.wso2.com'];

let ca: KeyAndCertificate;
let leaf: KeyAndCertificate;
let secret: TlsSecretData;
let serial: string;

beforeAll(() => {
  ({ ca, leaf, secret } = issuedAtT0('cert-manager CA', HOSTS));
  serial = new X509Certificate(leaf.certificatePem).serialNumber;
});

const described = () => `certificate "CN=api.am.wso2.com" (serial ${serial})`;

/** A certificate made by OpenSSL as a user would, with its key; `extra` adds `req` options. */
function opensslCertificate(extra: string[]): { 'tls.crt': string; 'tls.key': string } {
  const files = scratch('tls-provided');
  try {
    const [crt, key] = [`${files.dir}/tls.crt`, `${files.dir}/tls.key`];
    const made = openssl(
      'req',
      '-x509',
      '-nodes',
      '-subj',
      '/CN=api.am.wso2.com',
      '-days',
      '30',
      '-keyout',
      key,
      '-out',
      crt,
      ...extra,
    );
    if (made.status !== 0) throw new Error(made.output);
    return { 'tls.crt': readFileSync(crt, 'utf8'), 'tls.key': readFileSync(key, 'utf8') };
  } finally {
    files.remove();
  }
}

/** A moment inside a certificate's validity, read from the certificate itself. */
const dayAfterIssue = (data: { 'tls.crt': string }) =>
  new Date(new X509Certificate(data['tls.crt']).validFromDate.getTime() + DAY);

test('a certificate covering every host, with its key, within its validity, is valid and reports notAfter', () => {
  expect(checkProvidedCertificate(secret, HOSTS, at(DAY))).toEqual({
    reason: 'CertificateValid',
    message: `the ${described()} is valid until 2026-04-01T00:00:00.000Z and covers api.am.wso2.com, gw.am.wso2.com`,
    problems: [],
    notBefore: T0,
    notAfter: at(90 * DAY),
  });
});

test('an ECDSA certificate made by OpenSSL is read and checked like an RSA one', () => {
  const ecdsa = opensslCertificate([
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-addext',
    'subjectAltName=DNS:api.am.wso2.com',
  ]);
  expect(checkProvidedCertificate(ecdsa, ['api.am.wso2.com'], dayAfterIssue(ecdsa)).reason).toBe('CertificateValid');
});

test('a wildcard covers exactly one label: not the parent domain, not two labels down', () => {
  const wildcard = tlsSecretData(issueServerCertificate(ca, ['*.am.wso2.com'], { now: T0 }), ca);
  const check = checkProvidedCertificate(wildcard, ['api.am.wso2.com', 'am.wso2.com', 'a.b.am.wso2.com'], at(DAY));
  expect(check.problems.map((p) => [p.reason, p.message.replace(/ \(serial [0-9A-F]+\)/, '')])).toEqual([
    [
      'HostNotCovered',
      'the certificate "CN=*.am.wso2.com" does not cover host am.wso2.com: its names are *.am.wso2.com',
    ],
    [
      'HostNotCovered',
      'the certificate "CN=*.am.wso2.com" does not cover host a.b.am.wso2.com: its names are *.am.wso2.com',
    ],
  ]);
});

test('a host written in another case is covered', () => {
  expect(checkProvidedCertificate(secret, ['API.AM.WSO2.COM'], at(DAY)).reason).toBe('CertificateValid');
});

test('an IP address host is covered by an IP SAN only', () => {
  const withIp = tlsSecretData(issueServerCertificate(ca, ['api.am.wso2.com', '192.0.2.10'], { now: T0 }), ca);
  expect(checkProvidedCertificate(withIp, ['192.0.2.10'], at(DAY)).reason).toBe('CertificateValid');
  expect(checkProvidedCertificate(withIp, ['192.0.2.11'], at(DAY)).reason).toBe('HostNotCovered');
});

test('a certificate whose only name is its common name covers no host, as browsers and Java see it', () => {
  const cnOnly = opensslCertificate(['-newkey', 'rsa:2048']);
  expect(checkProvidedCertificate(cnOnly, ['api.am.wso2.com'], dayAfterIssue(cnOnly)).problems).toEqual([
    {
      reason: 'HostNotCovered',
      message: expect.stringMatching(
        /^the certificate "CN=api.am.wso2.com" \(serial [0-9A-F]+\) does not cover host api.am.wso2.com: it has no DNS or IP subject alternative names$/,
      ),
    },
  ]);
});

test('an uncovered host is reported with the names the certificate has', () => {
  expect(checkProvidedCertificate(secret, [...HOSTS, 'store.am.wso2.com'], at(DAY))).toMatchObject({
    reason: 'HostNotCovered',
    message: `the ${described()} does not cover host store.am.wso2.com: its names are api.am.wso2.com, gw.am.wso2.com`,
    notAfter: at(90 * DAY),
  });
});

test('is still valid exactly at notAfter and expired one millisecond later', () => {
  expect(checkProvidedCertificate(secret, HOSTS, at(90 * DAY)).reason).toBe('CertificateValid');
  expect(checkProvidedCertificate(secret, HOSTS, at(90 * DAY + 1))).toEqual({
    reason: 'CertificateExpired',
    message: `the ${described()} expired at 2026-04-01T00:00:00.000Z`,
    problems: [{ reason: 'CertificateExpired', message: `the ${described()} expired at 2026-04-01T00:00:00.000Z` }],
    notBefore: T0,
    notAfter: at(90 * DAY),
  });
});

test('is valid from notBefore and reported as not yet valid one millisecond earlier', () => {
  expect(checkProvidedCertificate(secret, HOSTS, T0).reason).toBe('CertificateValid');
  expect(checkProvidedCertificate(secret, HOSTS, at(-1)).problems).toEqual([
    { reason: 'CertificateNotYetValid', message: `the ${described()} is valid only from 2026-01-01T00:00:00.000Z` },
  ]);
});

test('a Secret without tls.crt and tls.key reports both, and no dates', () => {
  expect(checkProvidedCertificate({}, HOSTS, T0)).toEqual({
    reason: 'CertificateMissing',
    message: 'tls.crt is missing or empty; tls.key is missing or empty',
    problems: [
      { reason: 'CertificateMissing', message: 'tls.crt is missing or empty' },
      { reason: 'KeyMissing', message: 'tls.key is missing or empty' },
    ],
  });
});

test('unparseable tls.crt and tls.key are both reported', () => {
  expect(
    checkProvidedCertificate({ 'tls.crt': 'hello', 'tls.key': 'world' }, HOSTS, T0).problems.map((p) => p.reason),
  ).toEqual(['CertificateUnparseable', 'KeyUnparseable']);
});

test('a key for another certificate is a mismatch', () => {
  const other = issueServerCertificate(ca, HOSTS, { now: T0 });
  expect(checkProvidedCertificate({ ...secret, 'tls.key': other.privateKeyPem }, HOSTS, at(DAY)).problems).toEqual([
    { reason: 'KeyMismatch', message: `tls.key is not the private key of the ${described()} in tls.crt` },
  ]);
});

test('a chain in the wrong order (CA first) is a mismatch that says so and names where the key belongs', () => {
  const reversed = { ...secret, 'tls.crt': `${ca.certificatePem}${leaf.certificatePem}` };
  const check = checkProvidedCertificate(reversed, HOSTS, at(DAY));
  expect(check.reason).toBe('KeyMismatch');
  expect(check.problems[0]!.message).toBe(
    `tls.crt lists its certificates in the wrong order: tls.key belongs to certificate 2 of 2 (${described()}), which must come first, then the intermediates; the first is the certificate "CN=cert-manager CA" (serial ${new X509Certificate(ca.certificatePem).serialNumber})`,
  );
});

test("the CA's key with the chain in the right order is a plain mismatch, not an order problem", () => {
  expect(checkProvidedCertificate({ ...secret, 'tls.key': ca.privateKeyPem }, HOSTS, at(DAY)).problems).toEqual([
    { reason: 'KeyMismatch', message: `tls.key is not the private key of the ${described()} in tls.crt` },
  ]);
});

test('a 1 MiB PEM block that is no certificate is unparseable, and the message does not repeat it', () => {
  const huge = `-----BEGIN CERTIFICATE-----\n${'QUFB\n'.repeat(256 * 1024)}-----END CERTIFICATE-----\n`;
  expect(huge.length).toBeGreaterThan(1024 * 1024);
  const check = checkProvidedCertificate({ ...secret, 'tls.crt': huge }, HOSTS, at(DAY));
  expect(check.problems).toEqual([
    {
      reason: 'CertificateUnparseable',
      message: 'tls.crt does not hold PEM X.509 certificates ("-----BEGIN CERTIFICATE-----" blocks, leaf first)',
    },
  ]);
});

test('a good certificate followed by 1 MiB of other text is read as the certificate it holds', () => {
  const padded = { ...secret, 'tls.crt': `${secret['tls.crt']}${'# note\n'.repeat(150_000)}` };
  expect(checkProvidedCertificate(padded, HOSTS, at(DAY)).reason).toBe('CertificateValid');
});

test('a PKCS#1 RSA key is accepted', () => {
  const pkcs1 = createPrivateKey(leaf.privateKeyPem).export({ type: 'pkcs1', format: 'pem' }).toString();
  expect(pkcs1).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
  expect(checkProvidedCertificate({ ...secret, 'tls.key': pkcs1 }, HOSTS, at(DAY)).reason).toBe('CertificateValid');
});

test('an encrypted key is reported as unparseable: NGINX could not load it without a passphrase', () => {
  const encrypted = createPrivateKey(leaf.privateKeyPem)
    .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' })
    .toString();
  expect(checkProvidedCertificate({ ...secret, 'tls.key': encrypted }, HOSTS, at(DAY)).problems).toEqual([
    {
      reason: 'KeyUnparseable',
      message: 'tls.key does not hold an unencrypted PEM private key (PKCS#8, PKCS#1 or SEC1)',
    },
  ]);
});

test('every problem is reported at once, with the first as the reason', () => {
  const other = issueServerCertificate(ca, HOSTS, { now: T0 });
  const check = checkProvidedCertificate(
    { ...secret, 'tls.key': other.privateKeyPem },
    ['store.am.wso2.com'],
    at(91 * DAY),
  );
  expect(check.reason).toBe('KeyMismatch');
  expect(check.problems.map((p) => p.reason)).toEqual(['KeyMismatch', 'CertificateExpired', 'HostNotCovered']);
  expect(check.message).toBe(check.problems.map((p) => p.message).join('; '));
});
