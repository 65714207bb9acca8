// The frontend's CA as the WSO2 init container hands it to Java: `keytool -importcert` of its PEM
// into a truststore (src/render/workloads.ts), for every key algorithm the CA may have.
import { X509Certificate } from 'node:crypto';
import { issueCa } from '../../src/tls/issuer.js';
import { T0, run, scratch } from './tools.js';

const files = scratch('tls-keytool');
afterAll(() => files.remove());

test.each([
  ['RSA 2048', undefined],
  ['ECDSA P-256', { algorithm: 'ECDSA', size: 256 }],
  ['ECDSA P-384', { algorithm: 'ECDSA', size: 384 }],
] as const)('keytool -importcert takes the PEM of an %s CA as a trusted certificate', (label, key) => {
  const ca = issueCa('wso2-frontend CA', { now: T0, ...(key ? { key } : {}) });
  const name = label.replace(/\W+/g, '-');
  const pem = files.write(`${name}.pem`, ca.certificatePem);
  const store = `${files.dir}/${name}.p12`;
  const password = ['-storetype', 'PKCS12', '-storepass', 'changeit'];
  const importing = run('keytool', [
    '-importcert',
    '-noprompt',
    '-alias',
    'lb-ca',
    '-file',
    pem,
    '-keystore',
    store,
    ...password,
  ]);
  expect(importing.output).toContain('Certificate was added to keystore');
  const listing = run('keytool', ['-list', '-keystore', store, ...password]);
  expect(listing.output).toMatch(/^lb-ca, [^,]+, \d{4}, trustedCertEntry, $/m);
  expect(listing.output).toContain(
    `Certificate fingerprint (SHA-256): ${new X509Certificate(ca.certificatePem).fingerprint256}`,
  );
});
