// Certificate costs: issuing a CA plus a server certificate, and deciding renewal for many
// stored certificates (what a resync of 1000 frontends asks of the certificate code), and
// deciding once on each of 100,000 freshly issued ones: a rare serial number that Node could not
// read back made one of them in 65,536 "issue" instead of "keep" (test/tls/serial.test.ts).
import { issueCa, issueServerCertificate, tlsSecretData } from '../src/tls/issuer.js';
import { decideServerCertificate } from '../src/tls/renewal.js';
import { generateKeyPairOf, type KeySpec } from '../src/tls/x509.js';
import { ms, time } from './stats.js';

export function benchTls(): void {
  console.log('\nIssue a CA plus a server certificate (keys from Node crypto):');
  const keys: KeySpec[] = [
    { algorithm: 'ECDSA', size: 256 },
    { algorithm: 'ECDSA', size: 384 },
    { algorithm: 'RSA', size: 2048 },
    { algorithm: 'RSA', size: 3072 },
  ];
  for (const key of keys) {
    const runs = key.algorithm === 'RSA' && key.size > 2048 ? 20 : 40;
    const { p50, p99 } = time(
      () =>
        issueServerCertificate(issueCa('bench CA', { now: new Date(), key }), ['api.example.com', 'gw.example.com'], {
          now: new Date(),
          key,
        }),
      runs,
      2,
    );
    console.log(`  ${key.algorithm} ${key.size}: p50 ${ms(p50)}  p99 ${ms(p99)}  (${runs} runs)`);
  }
  const now = new Date();
  const ca = issueCa('bench CA', { now });
  const stored = Array.from({ length: 1000 }, (_, i) => {
    const names = [`site-${i}.example.com`];
    return { names, data: tlsSecretData(issueServerCertificate(ca, names, { now }), ca) };
  });
  const later = new Date(now.getTime() + 3600_000);
  const { p50 } = time(
    () => {
      for (const s of stored) {
        if (decideServerCertificate(later, s.data, s.names, { caCertificatePem: ca.certificatePem }).action !== 'keep')
          throw new Error('expected keep');
      }
    },
    5,
    1,
  );
  console.log(`  renewal decisions for 1000 stored certificates: ${ms(p50)} (p50 of 5 runs, all "keep")`);

  const count = 100_000;
  const key: KeySpec = { algorithm: 'ECDSA', size: 256 };
  const ecCa = issueCa('bench CA', { now, key });
  const keyPair = generateKeyPairOf(key);
  const names = ['api.example.com'];
  const started = process.hrtime.bigint();
  let notKept = 0;
  for (let i = 0; i < count; i++) {
    const leaf = issueServerCertificate(ecCa, names, { now, keyPair });
    const decision = decideServerCertificate(later, tlsSecretData(leaf, ecCa), names, {
      caCertificatePem: ecCa.certificatePem,
    });
    if (decision.action !== 'keep') notKept++;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(
    `  ${count} certificates issued (ECDSA P-256, one key, random serials) and decided an hour later: ` +
      `${count - notKept} kept, ${notKept} not (${seconds.toFixed(1)} s)`,
  );
  if (notKept) throw new Error(`${notKept} freshly issued certificates were not kept`);
}
