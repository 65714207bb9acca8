// Messages end up in status conditions and Events that anyone with read access sees: no path
// may put private key material in them, whatever the Secret holds.
import { createPrivateKey } from 'node:crypto';
import type { SecretStringData } from '../../src/tls/certificate.js';
import { caSecretData, issueCa, issueServerCertificate, tlsSecretData } from '../../src/tls/issuer.js';
import { checkProvidedCertificate } from '../../src/tls/provided.js';
import { decideCa, decideServerCertificate } from '../../src/tls/renewal.js';
import { DAY, T0, at } from './tools.js';

const NAMES = ['api.am.wso2.com', 'localhost'];

// Issued when the file loads: test.each needs the variants before any hook runs.
const ca = issueCa('wso2-frontend default/apim', { now: T0 });
const leaf = issueServerCertificate(ca, NAMES, { now: T0 });
const otherLeaf = issueServerCertificate(issueCa('another CA', { now: T0 }), NAMES, { now: T0 });

/** Every way a stored Secret can be, each holding key material somewhere (in tls.key, or in the wrong key). */
function storedVariants(): Record<string, SecretStringData> {
  const good = tlsSecretData(leaf, ca);
  const keyBody = leaf.privateKeyPem.split('\n').slice(1, -2).join('\n');
  return {
    valid: good,
    keyMismatch: { ...good, 'tls.key': otherLeaf.privateKeyPem },
    keyInCertificateField: { ...good, 'tls.crt': leaf.privateKeyPem },
    keyWithoutPemHeader: { ...good, 'tls.key': keyBody },
    damagedKey: { ...good, 'tls.key': leaf.privateKeyPem.replace(/\n(.{10})/, '\n$1!') },
    encryptedKey: {
      ...good,
      'tls.key': createPrivateKey(leaf.privateKeyPem)
        .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' })
        .toString(),
    },
    pkcs1Key: {
      ...good,
      'tls.key': createPrivateKey(leaf.privateKeyPem).export({ type: 'pkcs1', format: 'pem' }).toString(),
    },
    keyOnly: { 'tls.key': leaf.privateKeyPem },
    certificateOnly: { 'tls.crt': good['tls.crt'] },
    foreignCa: tlsSecretData(otherLeaf, ca),
  };
}

/** All messages the decisions and checks can produce for `data`, over times that hit every timing path. */
function messagesFor(data: SecretStringData): string[] {
  const times = [at(-1), T0, at(DAY), at(60 * DAY), at(90 * DAY + 1), at(4000 * DAY)];
  return times.flatMap((now) => {
    const server = [NAMES, ['store.am.wso2.com']].map((names) =>
      decideServerCertificate(now, data, names, { caCertificatePem: ca.certificatePem }),
    );
    const provided = checkProvidedCertificate(data, ['api.am.wso2.com', 'store.am.wso2.com'], now);
    return [
      ...server.map((d) => d.message),
      decideCa(now, data).message,
      provided.message,
      ...provided.problems.map((p) => p.message),
    ];
  });
}

/** Key material as it could leak: the PEM armour, or any line of base64 from a key. */
function keyFragments(): string[] {
  const keys = [leaf.privateKeyPem, otherLeaf.privateKeyPem, ca.privateKeyPem];
  return [
    'PRIVATE KEY',
    ...keys.flatMap((pem) => pem.split('\n').filter((line) => line.length >= 16 && !line.startsWith('-----'))),
  ];
}

test.each(Object.entries(storedVariants()))('no message contains private key material: %s', (_variant, data) => {
  const messages = messagesFor(data);
  expect(messages.length).toBeGreaterThan(0);
  const fragments = keyFragments();
  const leaks = messages.filter((message) => fragments.some((fragment) => message.includes(fragment)));
  expect(leaks).toEqual([]);
});

test('the paths covered include every reason the decisions and checks give', () => {
  const reasons = new Set<string>();
  for (const data of [...Object.values(storedVariants()), {}, caSecretData(ca)]) {
    for (const now of [at(-1), at(DAY), at(60 * DAY), at(90 * DAY + 1), at(4000 * DAY)]) {
      reasons.add(
        decideServerCertificate(now, data, ['store.am.wso2.com'], { caCertificatePem: ca.certificatePem }).reason,
      );
      reasons.add(decideServerCertificate(now, data, NAMES, { caCertificatePem: ca.certificatePem }).reason);
      reasons.add(decideCa(now, data).reason);
      checkProvidedCertificate(data, ['store.am.wso2.com'], now).problems.forEach((p) => reasons.add(p.reason));
    }
  }
  expect([...reasons].sort()).toEqual([
    'CertificateExpired',
    'CertificateMissing',
    'CertificateNotYetValid',
    'CertificateUnparseable',
    'CertificateValid',
    'HostNotCovered',
    'HostsChanged',
    'IssuerChanged',
    'KeyMismatch',
    'KeyMissing',
    'KeyUnparseable',
    'NotACertificateAuthority',
    'RenewalDue',
  ]);
});
