// The certificates a local control plane needs: a cluster CA, the API server's serving
// certificate, an admin client certificate (group system:masters) and the service-account
// signing key pair. Written once per data directory, so a restart keeps every credential.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificate, generateRsaKeyPair, type CertificateRequest } from '../tls/x509.js';

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

/** The first address of the Service CIDR: the `kubernetes` Service. */
export const KUBERNETES_SERVICE_IP = '10.96.0.1';
/** The real node's address: the gateway of the pod network it makes (real-node.ts). */
export const REAL_NODE_IP = '10.245.0.1';

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
        { dns: 'kubernetes.default.svc.cluster.local' },
        // The `kubernetes` Service and the pod network's gateway, where pods on a real node reach it.
        { ip: KUBERNETES_SERVICE_IP },
        { ip: REAL_NODE_IP },
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

export type NodeCredentials = {
  /** The kubelet's client certificate (system:node:NAME in system:nodes) and its serving certificate. */
  kubeletCertFile: string;
  kubeletKeyFile: string;
  kubeletServingCertFile: string;
  kubeletServingKeyFile: string;
  /** kube-proxy's client certificate (system:kube-proxy, bound to system:node-proxier by default). */
  kubeProxyCertFile: string;
  kubeProxyKeyFile: string;
};

/** The real node's certificates, issued by the plane's CA once per directory: no bootstrap tokens, no CSR approval. */
export function ensureNodeCredentials(pki: ControlPlanePki, dir: string, nodeName: string): NodeCredentials {
  const files: NodeCredentials = {
    kubeletCertFile: join(dir, 'kubelet.crt'),
    kubeletKeyFile: join(dir, 'kubelet.key'),
    kubeletServingCertFile: join(dir, 'kubelet-serving.crt'),
    kubeletServingKeyFile: join(dir, 'kubelet-serving.key'),
    kubeProxyCertFile: join(dir, 'kube-proxy.crt'),
    kubeProxyKeyFile: join(dir, 'kube-proxy.key'),
  };
  if (Object.values(files).every((file) => existsSync(file))) return files;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const issuer = {
    certificatePem: readFileSync(pki.caCertFile, 'utf8'),
    keyPair: { privateKeyPem: readFileSync(pki.caKeyFile, 'utf8') },
  };
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + TEN_YEARS_MS);
  const issue = (
    certFile: string,
    keyFile: string,
    request: Pick<CertificateRequest, 'subject' | 'clientAuth' | 'serverAuth' | 'subjectAltNames'>,
  ) => {
    const keyPair = generateRsaKeyPair();
    const cert = createCertificate({ ...request, keyPair, notBefore, notAfter, isCA: false }, issuer);
    writeFileSync(certFile, cert, { mode: 0o600 });
    writeFileSync(keyFile, keyPair.privateKeyPem, { mode: 0o600 });
  };
  issue(files.kubeletCertFile, files.kubeletKeyFile, {
    subject: { commonName: `system:node:${nodeName}`, organizations: ['system:nodes'] },
    clientAuth: true,
  });
  issue(files.kubeletServingCertFile, files.kubeletServingKeyFile, {
    subject: { commonName: nodeName },
    serverAuth: true,
    subjectAltNames: [{ ip: REAL_NODE_IP }, { dns: nodeName }],
  });
  issue(files.kubeProxyCertFile, files.kubeProxyKeyFile, {
    subject: { commonName: 'system:kube-proxy' },
    clientAuth: true,
  });
  return files;
}
