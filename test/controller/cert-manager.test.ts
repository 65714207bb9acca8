// tls.mode issuer against the real API server with cert-manager's real Certificate CRD
// (test/fixtures/cert-manager, v1.21.2). The cert-manager controller itself is not run here (too
// big to build from the Go module proxy within the test budget): the test plays its part as
// cert-manager documents it, writing the kubernetes.io/tls Secret named by spec.secretName
// (tls.crt with the chain, tls.key, ca.crt) and then the Certificate's status (Ready, notAfter,
// renewalTime, revision) through the status subresource.
//
// The file starts without cert-manager installed: CertificatesReady=False (CertManagerMissing)
// while another frontend in the namespace still becomes Ready; the CRD is installed in the
// middle, and the operator picks the Certificates up by itself (it asks again every
// CERT_MANAGER_RETRY_MS while the kind is not served, and on every resync).
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { CERT_MANAGER_RETRY_MS } from '../../src/controller/certificates.js';
import { createOperator } from '../../src/controller/setup.js';
import type { Controller } from '../../src/controller/runtime/controller.js';
import type { OperatorMetrics } from '../../src/controller/observability.js';
import { reconciles } from '../support/prometheus.js';
import type { CertManagerCertificate } from '../../src/render/cert-manager.js';
import { issueCa, issueServerCertificate, tlsSecretData, type TlsSecretData } from '../../src/tls/issuer.js';
import { createNamespace, eventually, eventuallyEvents, kubeConfig, kubectl } from '../support/cluster.js';
import { conditionOf, example, frontendOnce, installCrd, patchSpec, readFrontend } from '../support/resources.js';

const CERT_MANAGER_CRD = 'test/fixtures/cert-manager/cert-manager.io_certificates.yaml';
const NAME = 'ei';
const CERTIFICATE = `${NAME}-tls-frontend`;
/** The Secret cert-manager writes; the operator serves its checked copy, CERTIFICATE (a Secret of that name). */
const ISSUED = `${NAME}-tls-frontend-issued`;

let namespace: string;
let controller: Controller<Wso2Frontend>;
let metrics: OperatorMetrics;
const applied: string[] = [];
let hosts: string[];
const core = () => kubeConfig().makeApiClient(k8s.CoreV1Api);
const custom = () => kubeConfig().makeApiClient(k8s.CustomObjectsApi);
const certificates = { group: 'cert-manager.io', version: 'v1', plural: 'certificates' };
const ca = issueCa('Test ACME CA', { now: new Date() });

const readCertificate = async (): Promise<CertManagerCertificate> =>
  (await custom().getNamespacedCustomObject({
    ...certificates,
    namespace,
    name: CERTIFICATE,
  })) as CertManagerCertificate;

const decoded = (secret: k8s.V1Secret) =>
  Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
const served = async () => decoded(await core().readNamespacedSecret({ name: CERTIFICATE, namespace }));

/** What cert-manager does when it has issued: the Secret first, then the Certificate's status. */
async function actAsCertManager(revision: number): Promise<TlsSecretData> {
  const now = new Date();
  const leaf = issueServerCertificate(ca, hosts, { now });
  const data = tlsSecretData(leaf, ca);
  const body: k8s.V1Secret = {
    metadata: {
      name: ISSUED,
      annotations: {
        'cert-manager.io/certificate-name': CERTIFICATE,
        'cert-manager.io/issuer-name': 'letsencrypt',
        'cert-manager.io/issuer-kind': 'ClusterIssuer',
        'cert-manager.io/issuer-group': 'cert-manager.io',
      },
    },
    type: 'kubernetes.io/tls',
    stringData: data,
  };
  try {
    await core().replaceNamespacedSecret({ name: ISSUED, namespace, body });
  } catch {
    await core().createNamespacedSecret({ namespace, body });
  }
  const certificate = await readCertificate();
  const renewal = new Date(leaf.notBefore.getTime() + ((leaf.notAfter.getTime() - leaf.notBefore.getTime()) * 2) / 3);
  await kubectl(
    [
      'patch',
      'certificates.cert-manager.io',
      CERTIFICATE,
      '-n',
      namespace,
      '--subresource=status',
      '--type=merge',
      '-p',
    ].concat(
      JSON.stringify({
        status: {
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'Ready',
              message: 'Certificate is up to date and has not expired',
              observedGeneration: certificate.metadata!.generation,
              lastTransitionTime: now.toISOString().replace(/\.\d+Z$/, 'Z'),
            },
          ],
          notBefore: leaf.notBefore.toISOString().replace(/\.\d+Z$/, 'Z'),
          notAfter: leaf.notAfter.toISOString().replace(/\.\d+Z$/, 'Z'),
          renewalTime: renewal.toISOString().replace(/\.\d+Z$/, 'Z'),
          revision,
        },
      }),
    ),
  );
  return data;
}

beforeAll(async () => {
  await installCrd();
  namespace = await createNamespace('cert-manager');
  ({ controller, metrics } = createOperator({
    kubeConfig: kubeConfig(),
    namespaces: [namespace],
    resyncPeriodMs: 1500,
    // Every object the operator writes, in order (debug lines of the applier).
    logger: (_level, message, fields) => {
      if (message === 'applied') applied.push(String(fields.object));
    },
  }));
  await controller.start();
  const resource = example('ei-cluster.yaml');
  resource.spec.tls = { mode: 'issuer', issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer' } };
  await kubectl(['apply', '-n', namespace, '-f', '-'], yaml.dump(resource));
  hosts = (await frontendOnce('its URLs', namespace, NAME, (f) => f.status?.urls !== undefined))
    .status!.urls!.split(',')
    .map((url) => new URL(url).hostname);
});

afterAll(async () => {
  await controller?.stop();
});

describe('before cert-manager is installed', () => {
  test('CertificatesReady=False with reason CertManagerMissing, as a Warning Event, and nothing is applied', async () => {
    const f = await frontendOnce(
      'CertManagerMissing',
      namespace,
      NAME,
      (f) => conditionOf(f, 'CertificatesReady')?.reason === 'CertManagerMissing',
    );
    expect(conditionOf(f, 'CertificatesReady')?.status).toBe('False');
    expect(conditionOf(f, 'CertificatesReady')?.message).toContain(
      'the API server does not serve certificates.cert-manager.io/v1: install cert-manager',
    );
    expect(conditionOf(f, 'Ready')?.status).toBe('False');
    expect(conditionOf(f, 'Accepted')?.status).toBe('True');
    const events = await eventuallyEvents(namespace, 'CertManagerMissing', NAME);
    expect(events[0]).toMatchObject({ type: 'Warning' });
    const owned = await kubectl([
      'get',
      'configmap,secret,deployment',
      '-n',
      namespace,
      '-l',
      `app.kubernetes.io/instance=${NAME}`,
      '-o',
      'name',
    ]);
    expect(owned.trim()).toBe('');
  });

  test('another frontend in the namespace, self-signed, still becomes Ready', async () => {
    const other = example('ei-cluster.yaml');
    other.metadata.name = 'ei-self-signed';
    await kubectl(['apply', '-n', namespace, '-f', '-'], yaml.dump(other));
    await kubectl(['wait', '--for=condition=Ready', 'wso2frontend/ei-self-signed', '-n', namespace, '--timeout=90s']);
    await kubectl(['delete', 'wso2frontend/ei-self-signed', '-n', namespace, '--wait=false']);
  });
});

describe('once the Certificate CRD is installed', () => {
  beforeAll(async () => {
    await kubectl(['apply', '--server-side', '--field-manager=wso2-frontend-tests', '-f', CERT_MANAGER_CRD]);
    await kubectl(['wait', '--for=condition=Established', 'crd/certificates.cert-manager.io', '--timeout=60s']);
  });

  test('the operator creates one Certificate by itself: hosts as dnsNames, the issuer, the key, the Secret to write', async () => {
    const certificate = await eventually(
      'the Certificate',
      () => readCertificate().catch(() => undefined),
      CERT_MANAGER_RETRY_MS + 30_000,
    );
    const f = await readFrontend(namespace, NAME);
    expect(certificate.spec).toEqual({
      secretName: ISSUED,
      dnsNames: hosts,
      issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer', group: 'cert-manager.io' },
      privateKey: { algorithm: 'RSA', size: 2048, rotationPolicy: 'Always' },
    });
    expect(certificate.metadata?.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Wso2Frontend', uid: f.metadata.uid, controller: true }),
    ]);
  });

  test('until cert-manager has issued, CertificatesReady=False (CertificateNotReady) and Reconciling', async () => {
    const f = await frontendOnce(
      'CertificateNotReady',
      namespace,
      NAME,
      (f) => conditionOf(f, 'CertificatesReady')?.reason === 'CertificateNotReady',
    );
    expect(conditionOf(f, 'CertificatesReady')?.message).toContain(
      `cert-manager Certificate ${CERTIFICATE} is not Ready (not issued yet)`,
    );
    expect(conditionOf(f, 'Reconciling')?.status).toBe('True');
  });

  test('once cert-manager has written the Secret and Ready, the frontend is Ready and NGINX serves a checked copy', async () => {
    const issued = await actAsCertManager(1);
    await kubectl(['wait', '--for=condition=Ready', `wso2frontend/${NAME}`, '-n', namespace, '--timeout=90s']);
    const f = await readFrontend(namespace, NAME);
    expect(conditionOf(f, 'CertificatesReady')).toMatchObject({
      status: 'True',
      reason: 'CertificatesValid',
      message: '1 certificate(s) issued by ClusterIssuer letsencrypt cover their hosts',
    });
    expect(await served()).toEqual(issued);
    const leafNotAfter = new Date(f.status!.certificateNotAfter!);
    expect(leafNotAfter.getTime()).toBeGreaterThan(Date.now() + 80 * 86_400_000);
  });

  test('a renewal (a new certificate in the Secret) is served in place: the NGINX pods do not roll', async () => {
    const apps = kubeConfig().makeApiClient(k8s.AppsV1Api);
    const deployment = await apps.readNamespacedDeployment({ name: `${NAME}-nginx`, namespace });
    const before = (await readFrontend(namespace, NAME)).status!.configHash!;
    const renewed = await actAsCertManager(2);
    await eventually('the renewed certificate to be served', async () =>
      (await served())['tls.crt'] === renewed['tls.crt'] ? true : undefined,
    );
    await eventually('a new configuration hash', async () => {
      const f = await readFrontend(namespace, NAME);
      return f.status?.configHash && f.status.configHash !== before ? true : undefined;
    });
    expect(await served()).toEqual(renewed);
    const after = await apps.readNamespacedDeployment({ name: `${NAME}-nginx`, namespace });
    expect(after.spec!.template).toEqual(deployment.spec!.template);
    expect(after.metadata!.generation).toBe(deployment.metadata!.generation);
  });

  test('a resync of the Ready frontend writes nothing: the Certificate is read back, not applied again', async () => {
    // The status cert-manager wrote last is newer than the operator's last apply: the first
    // reconcile after it applies once more (anything but its own write may be drift), then no more.
    const first = await reconciles(metrics);
    await eventually('two reconciles after the last status write', async () =>
      (await reconciles(metrics)) >= first + 2 ? true : undefined,
    );
    const certificate = await readCertificate();
    const start = await reconciles(metrics);
    const writes = applied.length;
    await eventually('two resyncs to reconcile it', async () =>
      (await reconciles(metrics)) >= start + 2 ? true : undefined,
    );
    expect(applied.slice(writes)).toEqual([]);
    expect((await readCertificate()).metadata?.resourceVersion).toBe(certificate.metadata?.resourceVersion);
  });

  test('an issuer that fails is reported from the Certificate, and NGINX keeps serving the copy', async () => {
    const copy = await served();
    await kubectl(
      [
        'patch',
        'certificates.cert-manager.io',
        CERTIFICATE,
        '-n',
        namespace,
        '--subresource=status',
        '--type=json',
        '-p',
      ].concat(
        JSON.stringify([
          {
            op: 'replace',
            path: '/status/conditions/0',
            value: {
              type: 'Ready',
              status: 'False',
              reason: 'Failed',
              message: 'The certificate request has failed to complete and will be retried',
              lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
            },
          },
        ]),
      ),
    );
    const f = await frontendOnce(
      'CertificateNotReady',
      namespace,
      NAME,
      (f) => conditionOf(f, 'CertificatesReady')?.reason === 'CertificateNotReady',
    );
    expect(conditionOf(f, 'CertificatesReady')?.message).toBe(
      `cert-manager Certificate ${CERTIFICATE} is not Ready (Failed: The certificate request has failed to complete and will be retried)`,
    );
    expect(await served()).toEqual(copy);
  });

  test('switching to tls.mode self-signed prunes the Certificate', async () => {
    await patchSpec(namespace, NAME, { tls: { mode: 'self-signed', issuerRef: null } });
    await kubectl(['wait', '--for=condition=Ready', `wso2frontend/${NAME}`, '-n', namespace, '--timeout=90s']);
    await eventually('the Certificate to be pruned', () =>
      readCertificate().then(
        () => undefined,
        () => true,
      ),
    );
  });
});
