// The certificates a local control plane needs: a cluster CA, the API server's serving
// certificate, an admin client certificate (group system:masters) and the service-account
// signing key pair. Written once per data directory, so a restart keeps every credential.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificate, generateRsaKeyPair } from '../tls/x509.js';

export type ControlPlanePki = {
  caCertFile: string;
  caKeyFile: string;
  servingCertFile: string;
  servingKeyFile: string;
  adminCertFile: string;
  adminKeyFile: string;
  serviceAccountKeyFile: string;
  serviceAccountPublicKeyFile: string;
};

const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

export function ensurePki(dir: string): ControlPlanePki {
  const pki: ControlPlanePki = {
    caCertFile: join(dir, 'ca.crt'),
    caKeyFile: join(dir, 'ca.key'),
    servingCertFile: join(dir, 'apiserver.crt'),
    servingKeyFile: join(dir, 'apiserver.key'),
    adminCertFile: join(dir, 'admin.crt'),
    adminKeyFile: join(dir, 'admin.key'),
    serviceAccountKeyFile: join(dir, 'sa.key'),
    serviceAccountPublicKeyFile: join(dir, 'sa.pub'),
  };
  if (Object.values(pki).every((file) => existsSync(file))) return pki;

  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + TEN_YEARS_MS);
  const caKeys = generateRsaKeyPair();
  const caCert = createCertificate({
    subject: { commonName: 'wso2-frontend-local-ca' },
    keyPair: caKeys,
    notBefore,
    notAfter,
    isCA: true,
  });
  const issuer = { certificatePem: caCert, keyPair: caKeys };

  const servingKeys = generateRsaKeyPair();
  const servingCert = createCertificate(
    {
      subject: { commonName: 'kube-apiserver' },
      keyPair: servingKeys,
      notBefore,
      notAfter,
      isCA: false,
      serverAuth: true,
      subjectAltNames: [
        { ip: '127.0.0.1' },
        { dns: 'localhost' },
        { dns: 'kubernetes' },
        { dns: 'kubernetes.default' },
        { dns: 'kubernetes.default.svc' },
      ],
    },
    issuer,
  );
  const adminKeys = generateRsaKeyPair();
  const adminCert = createCertificate(
    {
      subject: { commonName: 'admin', organizations: ['system:masters'] },
      keyPair: adminKeys,
      notBefore,
      notAfter,
      isCA: false,
      clientAuth: true,
    },
    issuer,
  );
  const saKeys = generateRsaKeyPair();

  const write = (file: string, content: string) => writeFileSync(file, content, { mode: 0o600 });
  write(pki.caCertFile, caCert);
  write(pki.caKeyFile, caKeys.privateKeyPem);
  write(pki.servingCertFile, servingCert);
  write(pki.servingKeyFile, servingKeys.privateKeyPem);
  write(pki.adminCertFile, adminCert);
  write(pki.adminKeyFile, adminKeys.privateKeyPem);
  write(pki.serviceAccountKeyFile, saKeys.privateKeyPem);
  write(pki.serviceAccountPublicKeyFile, saKeys.publicKeyPem);
  return pki;
}
