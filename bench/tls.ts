// Certificate costs: issuing a CA plus a server certificate, and deciding renewal for many
// stored certificates (what a resync of 1000 frontends asks of the certificate code).
import { issueCa, issueServerCertificate, tlsSecretData } from '../src/tls/issuer.js';
import { decideServerCertificate } from '../src/tls/renewal.js';
import { ms, time } from './stats.js';

export function benchTls(): void {
  console.log('\nIssue a CA plus a server certificate (RSA keys from Node crypto):');
  for (const keyBits of [2048, 3072]) {
    const runs = keyBits === 2048 ? 40 : 20;
    const { p50, p99 } = time(
      () =>
        issueServerCertificate(
          issueCa('bench CA', { now: new Date(), keyBits }),
          ['api.example.com', 'gw.example.com'],
          { now: new Date(), keyBits },
        ),
      runs,
      2,
    );
    console.log(`  ${keyBits} bits: p50 ${ms(p50)}  p99 ${ms(p99)}  (${runs} runs)`);
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
}
