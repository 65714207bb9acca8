// Certificates for a local preview of a frontend (`render --nginx-dir`, the tests, the
// benchmarks): a fresh CA (or the one given), and a server certificate per planned certificate as the operator's
// self-signed mode issues it (every host plus the extra SANs).
import {
  issueCa,
  issueServerCertificate,
  serverCertificateNames,
  tlsSecretData,
  type KeyAndCertificate,
  type TlsSecretData,
} from './issuer.js';
import type { KeySpec } from './x509.js';

export interface PreviewCertificates {
  ca: KeyAndCertificate;
  /** By certificate name. */
  servers: ReadonlyMap<string, TlsSecretData>;
}

export function issuePreviewCertificates(
  certificates: readonly { name: string; hosts: readonly string[] }[],
  tls: { extraSANs: readonly string[]; privateKey: KeySpec },
  now: Date,
  /** Kept from an earlier preview, so that what trusts it (the nodes' truststores) goes on trusting. */
  ca: KeyAndCertificate = issueCa('wso2-frontend local preview CA', { now, key: tls.privateKey }),
): PreviewCertificates {
  const key = tls.privateKey;
  const servers = new Map<string, TlsSecretData>();
  for (const { name, hosts } of certificates) {
    const [names] = serverCertificateNames(hosts, tls.extraSANs, false);
    servers.set(name, tlsSecretData(issueServerCertificate(ca, names!, { now, key }), ca));
  }
  return { ca, servers };
}
