// The CA as Java's keytool sees it: a PKCS#12 truststore whose entries are trustedCertEntry.
import { X509Certificate } from 'node:crypto';
import { issueCa, type KeyAndCertificate } from '../../src/tls/issuer.js';
import { pkcs12Truststore } from '../../src/tls/truststore.js';
import { T0, run, scratch } from './tools.js';

let ca: KeyAndCertificate;
let nextCa: KeyAndCertificate;
const files = scratch('tls-truststore');

beforeAll(() => {
  ca = issueCa('wso2-frontend default/apim', { now: T0 });
  nextCa = issueCa('wso2-frontend default/apim', { now: T0 });
});
afterAll(() => files.remove());

const keytoolList = (file: string, password: string) =>
  run('keytool', ['-list', '-keystore', file, '-storetype', 'PKCS12', '-storepass', password]);
const sha256 = (pem: string) => new X509Certificate(pem).fingerprint256;

test('keytool lists the CA as a trustedCertEntry under its alias, with the CA fingerprint', () => {
  const file = files.write(
    'truststore.p12',
    pkcs12Truststore([{ alias: 'wso2-frontend-ca', certificatePem: ca.certificatePem }], 'wso2carbon'),
  );
  const listing = keytoolList(file, 'wso2carbon');
  expect(listing.status).toBe(0);
  expect(listing.output).toContain('Your keystore contains 1 entry');
  expect(listing.output).toMatch(/^wso2-frontend-ca, [^,]+, \d{4}, trustedCertEntry, $/m);
  expect(listing.output).toContain(`Certificate fingerprint (SHA-256): ${sha256(ca.certificatePem)}`);
});

test('holds the old and the new CA side by side during a CA rotation', () => {
  const file = files.write(
    'rotation.p12',
    pkcs12Truststore(
      [
        { alias: 'current', certificatePem: ca.certificatePem },
        { alias: 'next', certificatePem: nextCa.certificatePem },
      ],
      'changeit',
    ),
  );
  const output = keytoolList(file, 'changeit').output;
  expect(output).toContain('Your keystore contains 2 entries');
  expect(output).toMatch(
    new RegExp(
      `^current, .+, trustedCertEntry, \nCertificate fingerprint \\(SHA-256\\): ${sha256(ca.certificatePem)}$`,
      'm',
    ),
  );
  expect(output).toMatch(
    new RegExp(
      `^next, .+, trustedCertEntry, \nCertificate fingerprint \\(SHA-256\\): ${sha256(nextCa.certificatePem)}$`,
      'm',
    ),
  );
});

test('keytool refuses it with another password: the MAC is keyed by the password given', () => {
  const file = files.write(
    'password.p12',
    pkcs12Truststore([{ alias: 'ca', certificatePem: ca.certificatePem }], 'right'),
  );
  const listing = keytoolList(file, 'wrong');
  expect(listing.status).not.toBe(0);
  expect(listing.output).toContain('Integrity check failed');
});

test('is the same bytes every time for the same certificates and password, so re-rendering rewrites nothing', () => {
  const entries = [{ alias: 'ca', certificatePem: ca.certificatePem }];
  expect(pkcs12Truststore(entries, 'wso2carbon').equals(pkcs12Truststore(entries, 'wso2carbon'))).toBe(true);
  expect(pkcs12Truststore(entries, 'wso2carbon').equals(pkcs12Truststore(entries, 'other'))).toBe(false);
});

test('refuses aliases that Java would merge (aliases are case-insensitive)', () => {
  expect(() =>
    pkcs12Truststore(
      [
        { alias: 'CA', certificatePem: ca.certificatePem },
        { alias: 'ca', certificatePem: nextCa.certificatePem },
      ],
      'pw',
    ),
  ).toThrow('truststore aliases must be unique (case-insensitively): ca, ca');
});

test.each([256, 384] as const)(
  'an ECDSA P-%d CA is a trustedCertEntry too, and keytool -importcert takes its PEM',
  (size) => {
    const ecCa = issueCa('wso2-frontend ecdsa CA', { now: T0, key: { algorithm: 'ECDSA', size } });
    const file = files.write(
      `ecdsa-${size}.p12`,
      pkcs12Truststore([{ alias: 'lb-ca', certificatePem: ecCa.certificatePem }], 'pw'),
    );
    const listing = keytoolList(file, 'pw');
    expect(listing.status).toBe(0);
    expect(listing.output).toMatch(/^lb-ca, [^,]+, \d{4}, trustedCertEntry, $/m);
    expect(listing.output).toContain(`Certificate fingerprint (SHA-256): ${sha256(ecCa.certificatePem)}`);

    const imported = `${files.dir}/imported-${size}.p12`;
    const pem = files.write(`ecdsa-${size}.pem`, ecCa.certificatePem);
    const importing = run('keytool', [
      '-importcert',
      '-noprompt',
      '-alias',
      'lb-ca',
      '-file',
      pem,
      '-keystore',
      imported,
      '-storetype',
      'PKCS12',
      '-storepass',
      'changeit',
    ]);
    expect(importing.output).toContain('Certificate was added to keystore');
    expect(keytoolList(imported, 'changeit').output).toContain(
      `Certificate fingerprint (SHA-256): ${sha256(ecCa.certificatePem)}`,
    );
  },
);
