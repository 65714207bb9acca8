// Plays cert-manager's part where its controller is not run (too big to build here within the
// test budget): the Certificate CRD is cert-manager's own (test/fixtures/cert-manager), and the
// issuance is written as cert-manager documents it, the kubernetes.io/tls Secret named by
// spec.secretName (tls.crt with the chain, tls.key, ca.crt) first, then the Certificate's status
// (Ready, notBefore, notAfter, renewalTime at 2/3 of the lifetime, revision) through the status
// subresource.
import * as k8s from '@kubernetes/client-node';
import type { CertManagerCertificate } from '../../src/render/cert-manager.js';
import {
  issueServerCertificate,
  tlsSecretData,
  type KeyAndCertificate,
  type TlsSecretData,
} from '../../src/tls/issuer.js';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { buildTopology } from '../../src/model/topology.js';
import { validateSpec } from '../../src/model/validate.js';
import { certificateSecretName } from '../../src/render/objects.js';
import { issueCa } from '../../src/tls/issuer.js';
import { eventually, kubeConfig, kubectl } from './cluster.js';

export const CERT_MANAGER_CRD = 'test/fixtures/cert-manager/cert-manager.io_certificates.yaml';
const CERTIFICATES = { group: 'cert-manager.io', version: 'v1', plural: 'certificates' };

/** Installs cert-manager's Certificate CRD and waits until the API server serves it. */
export async function installCertManagerCrd(): Promise<void> {
  await kubectl(['apply', '--server-side', '--field-manager=wso2-frontend-tests', '-f', CERT_MANAGER_CRD]);
  await kubectl(['wait', '--for=condition=Established', 'crd/certificates.cert-manager.io', '--timeout=60s']);
}

export async function readCertificate(namespace: string, name: string): Promise<CertManagerCertificate> {
  return (await kubeConfig()
    .makeApiClient(k8s.CustomObjectsApi)
    .getNamespacedCustomObject({ ...CERTIFICATES, namespace, name })) as CertManagerCertificate;
}

const rfc3339 = (date: Date) => date.toISOString().replace(/\.\d+Z$/, 'Z');

/** Issues a certificate for the Certificate's dnsNames, signed by `ca`, as cert-manager stores it; returns the Secret's data. */
export async function issueAsCertManager(
  namespace: string,
  name: string,
  ca: KeyAndCertificate,
  revision: number,
): Promise<TlsSecretData> {
  const certificate = await readCertificate(namespace, name);
  const now = new Date();
  const leaf = issueServerCertificate(ca, certificate.spec.dnsNames, { now });
  const data = tlsSecretData(leaf, ca);
  const { issuerRef, secretName } = certificate.spec;
  const body: k8s.V1Secret = {
    metadata: {
      name: secretName,
      annotations: {
        'cert-manager.io/certificate-name': name,
        'cert-manager.io/issuer-name': issuerRef.name,
        'cert-manager.io/issuer-kind': issuerRef.kind,
        'cert-manager.io/issuer-group': issuerRef.group,
      },
    },
    type: 'kubernetes.io/tls',
    stringData: data,
  };
  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  try {
    await core.replaceNamespacedSecret({ name: secretName, namespace, body });
  } catch (error) {
    if (!(error instanceof k8s.ApiException && error.code === 404)) throw error;
    await core.createNamespacedSecret({ namespace, body });
  }
  const lifetime = leaf.notAfter.getTime() - leaf.notBefore.getTime();
  await setCertificateStatus(namespace, name, {
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'Ready',
        message: 'Certificate is up to date and has not expired',
        observedGeneration: certificate.metadata!.generation,
        lastTransitionTime: rfc3339(now),
      },
    ],
    notBefore: rfc3339(leaf.notBefore),
    notAfter: rfc3339(leaf.notAfter),
    renewalTime: rfc3339(new Date(leaf.notBefore.getTime() + (lifetime * 2) / 3)),
    revision,
  });
  return data;
}

/** Sets the Certificate's Ready condition to False, as cert-manager does when an issuance fails. */
export async function failAsCertManager(
  namespace: string,
  name: string,
  reason: string,
  message: string,
): Promise<void> {
  const certificate = await readCertificate(namespace, name);
  await setCertificateStatus(namespace, name, {
    ...certificate.status,
    conditions: [
      {
        type: 'Ready',
        status: 'False',
        reason,
        message,
        observedGeneration: certificate.metadata!.generation,
        lastTransitionTime: rfc3339(new Date()),
      },
    ],
  });
}

async function setCertificateStatus(namespace: string, name: string, status: Record<string, unknown>): Promise<void> {
  await kubectl([
    'patch',
    'certificates.cert-manager.io',
    name,
    '-n',
    namespace,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status }),
  ]);
}

/**
 * Plays cert-manager for every frontend with tls.mode issuer among `resources`: waits for each
 * Certificate the operator creates, then issues it under one CA, as cert-manager would.
 */
export async function issueForIssuerFrontends(namespace: string, resources: readonly Wso2Frontend[]): Promise<void> {
  const ca = issueCa('issuer CA', { now: new Date() });
  for (const resource of resources.filter((r) => r.spec.tls?.mode === 'issuer')) {
    const result = validateSpec(resource.spec);
    if (!result.ok) throw new Error(`${resource.metadata.name} is not valid`);
    for (const { name } of buildTopology(result.spec).certificates) {
      const certificate = certificateSecretName(resource, name);
      await eventually(`the Certificate ${certificate}`, () =>
        readCertificate(namespace, certificate).then(
          () => true,
          () => undefined,
        ),
      );
      await issueAsCertManager(namespace, certificate, ca, 1);
    }
  }
}
