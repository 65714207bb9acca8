// tls.mode issuer against the real API server with cert-manager's real Certificate CRD
// (test/fixtures/cert-manager, v1.21.2). The cert-manager controller itself is not run here (too
// big to build from the Go module proxy within the test budget): test/support/cert-manager.ts
// plays its part as cert-manager documents it, the Secret first, then the Certificate's status.
//
// The file starts without cert-manager installed: CertificatesReady=False (CertManagerMissing)
// while another frontend in the namespace still becomes Ready; the CRD is installed in the
// middle, and the operator picks the Certificates up by itself (it asks again every
// CERT_MANAGER_RETRY_MS while the kind is not served, and on every resync). Last, end to end with
// the operator as a process, kwok running the NGINX pod and the reload agent serving it with
// Debian's NGINX (test/support/served-frontend.ts): what cert-manager issued is what NGINX
// presents, and a renewal is presented by the same NGINX master in the same pod. All in one file,
// in this order, because installing the CRD is for the whole control plane.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { CERT_MANAGER_RETRY_MS } from '../../src/controller/certificates.js';
import { createOperator } from '../../src/controller/setup.js';
import type { Controller } from '../../src/controller/runtime/controller.js';
import { send } from '../support/client.js';
import { FakeWso2Node } from '../support/fake-wso2.js';
import { OperatorProcess } from '../support/operator-process.js';
import { createRealAgentsNamespace, ServedFrontend } from '../support/served-frontend.js';
import type { OperatorMetrics } from '../../src/controller/observability.js';
import { reconciles } from '../support/prometheus.js';
import { issueCa } from '../../src/tls/issuer.js';
import {
  failAsCertManager,
  installCertManagerCrd,
  issueAsCertManager,
  readCertificate,
} from '../support/cert-manager.js';
import { createNamespace, eventually, eventuallyEvents, kubeConfig, kubectl } from '../support/cluster.js';
import { conditionOf, example, frontendOnce, installCrd, patchSpec, readFrontend } from '../support/resources.js';

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
const ca = issueCa('Test ACME CA', { now: new Date() });
const certificateNow = () => readCertificate(namespace, CERTIFICATE);
const actAsCertManager = (revision: number) => issueAsCertManager(namespace, CERTIFICATE, ca, revision);

const decoded = (secret: k8s.V1Secret) =>
  Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
const served = async () => decoded(await core().readNamespacedSecret({ name: CERTIFICATE, namespace }));

beforeAll(async () => {
  await installCrd();
  // This file starts on a cluster without cert-manager; the files that play cert-manager for the
  // issuer example (examples, rbac) install its Certificate CRD in the run's shared control plane,
  // and Jest may run them first.
  await kubectl(['delete', 'crd', 'certificates.cert-manager.io', '--ignore-not-found', '--wait=true']);
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
  beforeAll(installCertManagerCrd);

  test('the operator creates one Certificate by itself: hosts as dnsNames, the issuer, the key, the Secret to write', async () => {
    const certificate = await eventually(
      'the Certificate',
      () => certificateNow().catch(() => undefined),
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
    const certificate = await certificateNow();
    const start = await reconciles(metrics);
    const writes = applied.length;
    await eventually('two resyncs to reconcile it', async () =>
      (await reconciles(metrics)) >= start + 2 ? true : undefined,
    );
    expect(applied.slice(writes)).toEqual([]);
    expect((await certificateNow()).metadata?.resourceVersion).toBe(certificate.metadata?.resourceVersion);
  });

  test('an issuer that fails is reported from the Certificate, and NGINX keeps serving the copy', async () => {
    const copy = await served();
    await failAsCertManager(
      namespace,
      CERTIFICATE,
      'Failed',
      'The certificate request has failed to complete and will be retried',
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
      certificateNow().then(
        () => undefined,
        () => true,
      ),
    );
  });
});

describe('served by real NGINX through the reload agent (the operator as a process)', () => {
  const SERVED = 'acme';
  const SERVED_CERTIFICATE = `${SERVED}-tls-frontend`;
  let servedNamespace: string;
  const PORTAL = 'api.am.wso2.com';
  const nodes = [new FakeWso2Node('node-1', '127.0.64.1', { https: [9443, 8243], http: [8280] })];

  let dir: string;
  let operator: OperatorProcess;
  let frontend: ServedFrontend;

  const fingerprint = (data: Record<string, string>) => new X509Certificate(data['tls.crt']!).fingerprint256;

  let issued: Record<string, string>;

  beforeAll(async () => {
    servedNamespace = await createRealAgentsNamespace(core(), 'acme');
    for (const node of nodes) await node.start();
    dir = mkdtempSync(join(tmpdir(), 'wso2-frontend-acme-'));
    const resource: Wso2Frontend = example('apim-single.yaml');
    resource.metadata = { name: SERVED, namespace: servedNamespace };
    resource.spec.backends = { managed: {} };
    resource.spec.tls = { mode: 'issuer', issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer' } };
    resource.spec.nginx = { replicas: 1, service: { type: 'ClusterIP' } };
    operator = await OperatorProcess.start(['--namespace', servedNamespace, '--health-port', '0']);
    await kubectl(['apply', '--server-side', '-f', '-'], yaml.dump(resource));
    await eventually(
      'the operator to request the Certificate',
      () => readCertificate(servedNamespace, SERVED_CERTIFICATE).catch(() => undefined),
      CERT_MANAGER_RETRY_MS + 30_000,
    );
    issued = await issueAsCertManager(servedNamespace, SERVED_CERTIFICATE, ca, 1);
    frontend = await ServedFrontend.start({ kubeConfig: kubeConfig(), resource, nodes, dir, wso2Pods: 1 });
  }, 180_000);

  afterAll(async () => {
    await frontend?.stop();
    await operator?.stop();
    for (const node of nodes) await node.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await core()
      .deleteNamespace({ name: servedNamespace })
      .catch(() => undefined);
  });

  let masterPid: number | undefined;

  test('NGINX presents the certificate cert-manager issued, and routes to the WSO2 pod', async () => {
    await kubectl(['wait', '--for=condition=Ready', `wso2frontend/${SERVED}`, '-n', servedNamespace, '--timeout=90s']);
    expect(await frontend.presentedCertificate(PORTAL, ca.certificatePem)).toBe(fingerprint(issued));
    masterPid = frontend.agent.masterPid();
    expect(masterPid).toBeGreaterThan(0);
    const response = await send({
      scheme: 'https',
      port: frontend.https,
      host: PORTAL,
      path: '/',
      ca: ca.certificatePem,
    });
    expect(response.answer).toMatchObject({ node: 'node-1', port: 9443 });
  });

  test('a renewal is presented by the same NGINX master in the same pod', async () => {
    const renewed = await issueAsCertManager(servedNamespace, SERVED_CERTIFICATE, ca, 2);
    await eventually('NGINX to present the renewed certificate', async () =>
      (await frontend.presentedCertificate(PORTAL, ca.certificatePem)) === fingerprint(renewed) ? true : undefined,
    );
    expect(frontend.agent.masterPid()).toBe(masterPid);
    const pods = await core().listNamespacedPod({
      namespace: servedNamespace,
      labelSelector: 'app.kubernetes.io/component=nginx',
    });
    expect(pods.items.map((p) => p.metadata!.uid)).toEqual([frontend.nginxPod.metadata!.uid]);
    const f = await readFrontend(servedNamespace, SERVED);
    expect(conditionOf(f, 'CertificatesReady')?.status).toBe('True');
  });
});
