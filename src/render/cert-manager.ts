// Mode issuer: one cert-manager Certificate (cert-manager.io/v1) per certificate the frontend
// serves. cert-manager writes the signed certificate into `issuedSecretName`; the controller checks
// that Secret like a user's and serves a copy of it (certificateSecretName), so NGINX never reads
// a Secret the operator did not validate.
import type { KubernetesObject } from '@kubernetes/client-node';
import { CERT_MANAGER_GROUP, type Wso2Frontend } from '../api/schema.js';
import type { CertificatePlan, Topology } from '../model/topology.js';
import { certificateSecretName } from './objects.js';
import { meta, TLS_COMPONENT } from './ownership.js';

export const CERT_MANAGER_VERSION = 'v1';

/** The subset of cert-manager's Certificate the operator writes and reads. */
export interface CertManagerCertificate extends KubernetesObject {
  spec: {
    secretName: string;
    dnsNames: string[];
    issuerRef: { name: string; kind: string; group: string };
    privateKey: { algorithm: 'RSA' | 'ECDSA'; size: number; rotationPolicy: 'Always' };
  };
  status?: {
    conditions?: { type: string; status: string; reason?: string; message?: string; observedGeneration?: number }[];
    notAfter?: string;
    renewalTime?: string;
  };
}

/** The Certificate's name: the name of the Secret NGINX serves, as cert-manager's Ingress shim names one after its Secret. */
export const certManagerCertificateName = (frontend: Wso2Frontend, plan: CertificatePlan) =>
  certificateSecretName(frontend, plan.name);

/** The Secret cert-manager writes (and renews) the certificate into; the operator only reads it. */
export const issuedSecretName = (frontend: Wso2Frontend, plan: CertificatePlan) =>
  certificateSecretName(frontend, `${plan.name}-issued`);

export function certManagerCertificate(
  frontend: Wso2Frontend,
  topology: Topology,
  plan: CertificatePlan,
): CertManagerCertificate {
  const issuerRef = topology.tls.issuerRef!;
  return {
    apiVersion: `${CERT_MANAGER_GROUP}/${CERT_MANAGER_VERSION}`,
    kind: 'Certificate',
    metadata: meta(frontend, certManagerCertificateName(frontend, plan), TLS_COMPONENT),
    spec: {
      secretName: issuedSecretName(frontend, plan),
      dnsNames: [...plan.hosts],
      issuerRef: { name: issuerRef.name, kind: issuerRef.kind, group: issuerRef.group },
      // A new key on each renewal, as cert-manager defaults to since v1.18.
      privateKey: { ...topology.tls.privateKey, rotationPolicy: 'Always' },
    },
  };
}
