// An API server outage (issue 17, fault 2), on a private control plane so that the other test
// files keep theirs: kube-apiserver stopped for 30 s and etcd restarted meanwhile, once while the
// operator process is idle and once while it reconciles a batch of new frontends. A spec change
// made right before the outage is applied after it, every frontend ends Ready with the one CA it
// had, nothing owned is duplicated or lost, a frontend nobody touched keeps its Ready condition
// (same lastTransitionTime), and the requests the operator sends while nothing answers stay
// bounded (its informers and work queue back off): the rates are printed.
import { X509Certificate } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { LocalControlPlane } from '../../src/localcluster/control-plane.js';
import { createNamespace, eventually, kubeConfig, kubectl, sleep } from '../support/cluster.js';
import { OperatorProcess } from '../support/operator-process.js';
import { expectOwnedLikeControl } from '../support/owned.js';
import { sumOf } from '../support/prometheus.js';
import {
  apimFrontendManifest,
  conditionOf,
  installCrd,
  patchSpec,
  readFrontend,
  settledFrontend,
} from '../support/resources.js';

const OUTAGE_MS = 30_000;
const IDLE = ['alpha', 'bravo'];
const BUSY = ['charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];
const CONTROL = 'control';
/**
 * Requests the operator may send in a 30 s outage: its 14 informers each retry a list with
 * backoff (200 ms doubling: 8 attempts in 30 s) and the work queue retries each failed
 * reconcile with backoff too. A client that retried without backoff would send thousands.
 */
const MAX_REQUESTS_PER_OUTAGE = 400;

let plane: LocalControlPlane;
let operator: OperatorProcess;
let namespace: string;

const apiRequests = async () => sumOf(await operator.metrics(), 'wso2_frontend_api_requests_total');
const reconciles = async () => sumOf(await operator.metrics(), 'wso2_frontend_reconcile_total');

async function frontends(): Promise<Wso2Frontend[]> {
  return (
    JSON.parse(await kubectl(['get', 'wso2frontends', '-n', namespace, '-o', 'json'])) as { items: Wso2Frontend[] }
  ).items;
}

/** Every frontend Ready for its latest generation, and the operator no longer reconciling (sampled 2 s apart). */
async function converged(): Promise<void> {
  let last = -1;
  await eventually(
    'every frontend Ready for its generation and the operator quiet',
    async () => {
      const all = (await frontends()).every(settledFrontend);
      const total = await reconciles();
      const quiet = all && total === last;
      last = total;
      if (!quiet) await sleep(2000);
      return quiet ? true : undefined;
    },
    180_000,
  );
}

const secretCertificate = async (name: string) => {
  const secret = await kubeConfig().makeApiClient(k8s.CoreV1Api).readNamespacedSecret({ name, namespace });
  return new X509Certificate(Buffer.from(secret.data!['tls.crt']!, 'base64'));
};

/** The CA fingerprint of every frontend that has a CA Secret now. */
async function caFingerprints(): Promise<Map<string, string>> {
  const list = await kubeConfig()
    .makeApiClient(k8s.CoreV1Api)
    .listNamespacedSecret({ namespace, labelSelector: 'app.kubernetes.io/component=tls' });
  const found = new Map<string, string>();
  for (const secret of list.items) {
    const name = secret.metadata!.name!;
    if (!name.endsWith('-tls-ca')) continue;
    found.set(name, new X509Certificate(Buffer.from(secret.data!['tls.crt']!, 'base64')).fingerprint256);
  }
  return found;
}

interface OutageFigures {
  requests: number;
  seconds: number;
}

/** kube-apiserver down for OUTAGE_MS, etcd restarted meanwhile; the operator's requests while nothing answered. */
async function outage(): Promise<OutageFigures> {
  const before = await apiRequests();
  const start = Date.now();
  await plane.stopApiServer();
  await plane.restartEtcd();
  // The outage itself lasts a fixed time; nothing is asserted on it but the operator's own count.
  await sleep(Math.max(0, OUTAGE_MS - (Date.now() - start)));
  expect(operator.running).toBe(true);
  const requests = (await apiRequests()) - before;
  const seconds = (Date.now() - start) / 1000;
  await plane.startApiServer();
  return { requests, seconds };
}

/** The operator's requests from the API server's return until everything converged. */
async function recovery(): Promise<OutageFigures> {
  const before = await apiRequests();
  const start = Date.now();
  await converged();
  return { requests: (await apiRequests()) - before, seconds: (Date.now() - start) / 1000 };
}

function report(what: string, during: OutageFigures, after: OutageFigures): void {
  const rate = (f: OutageFigures) => (f.requests / f.seconds).toFixed(1);
  console.log(
    `${what}: ${during.requests} operator API requests in the ${during.seconds.toFixed(1)} s outage (${rate(during)}/s); ` +
      `${after.requests} in the ${after.seconds.toFixed(1)} s until converged (${rate(after)}/s)`,
  );
}

async function expectCertificatesChainToCa(names: string[]): Promise<void> {
  for (const name of names) {
    const ca = await secretCertificate(`${name}-tls-ca`);
    const leaf = await secretCertificate(`${name}-tls-frontend`);
    expect({ name, signedByCa: leaf.checkIssued(ca) && leaf.verify(ca.publicKey) }).toEqual({
      name,
      signedByCa: true,
    });
  }
}

beforeAll(async () => {
  plane = await LocalControlPlane.start();
  // kubectl, the support helpers and the operator process all use this private plane.
  process.env.KUBECONFIG = plane.kubeconfigPath;
  await installCrd();
  namespace = await createNamespace('outage');
  operator = await OperatorProcess.start(['--namespace', namespace, '--health-port', '0']);
  await kubectl(['apply', '-n', namespace, '-f', '-'], IDLE.map(apimFrontendManifest).join('---\n'));
  await converged();
}, 240_000);

afterAll(async () => {
  await operator?.stop();
  await plane?.stop();
});

afterEach(() => {
  if (operator && !operator.running) throw new Error(`the operator exited:\n${operator.text().slice(-4000)}`);
});

test('idle: a spec change made right before the outage is applied after it; an untouched frontend keeps Ready', async () => {
  const untouched = conditionOf(await readFrontend(namespace, 'bravo'), 'Ready')!;
  const cas = await caFingerprints();
  const host = 'gw-alpha-during-outage.example.com';
  await patchSpec(namespace, 'alpha', { sites: { gateway: { host } } });

  const during = await outage();
  const after = await recovery();
  report('idle outage', during, after);

  const alpha = await readFrontend(namespace, 'alpha');
  expect(alpha.status?.observedGeneration).toBe(alpha.metadata.generation);
  expect((await secretCertificate('alpha-tls-frontend')).subjectAltName).toContain(`DNS:${host}`);
  expect(conditionOf(await readFrontend(namespace, 'bravo'), 'Ready')).toEqual(untouched);
  expect(await caFingerprints()).toEqual(cas);
  await expectCertificatesChainToCa(IDLE);
  // Counted also when nothing answered: the informers kept trying, with backoff.
  expect(during.requests).toBeGreaterThan(0);
  expect(during.requests).toBeLessThanOrEqual(MAX_REQUESTS_PER_OUTAGE);
}, 300_000);

test('busy: frontends applied and a spec changed just before the outage all end Ready, with one CA each and nothing lost', async () => {
  const reconcilesBefore = await reconciles();
  await kubectl(['apply', '-n', namespace, '-f', '-'], BUSY.map(apimFrontendManifest).join('---\n'));
  const host = 'gw-bravo-busy.example.com';
  await patchSpec(namespace, 'bravo', { sites: { gateway: { host } } });
  // The outage starts while the batch is being reconciled: some done, some not yet Ready.
  await eventually('the operator to be reconciling the batch', async () =>
    (await reconciles()) > reconcilesBefore ? true : undefined,
  );
  const unsettledAtOutage = (await frontends()).filter((f) => !settledFrontend(f)).map((f) => f.metadata.name);
  const casBefore = await caFingerprints();

  const during = await outage();
  const after = await recovery();
  report(`busy outage (${unsettledAtOutage.length} frontends not yet Ready when it began)`, during, after);

  expect(unsettledAtOutage.length).toBeGreaterThan(0);
  expect((await secretCertificate('bravo-tls-frontend')).subjectAltName).toContain(`DNS:${host}`);
  // A CA that existed before the outage is the one there now; every frontend has one.
  const casAfter = await caFingerprints();
  for (const [name, fingerprint] of casBefore)
    expect({ name, fingerprint: casAfter.get(name) }).toEqual({ name, fingerprint });
  expect([...casAfter.keys()].sort()).toEqual([...IDLE, ...BUSY].map((n) => `${n}-tls-ca`).sort());
  await expectCertificatesChainToCa([...IDLE, ...BUSY]);
  expect(during.requests).toBeLessThanOrEqual(MAX_REQUESTS_PER_OUTAGE);

  await kubectl(['apply', '-n', namespace, '-f', '-'], apimFrontendManifest(CONTROL));
  await converged();
  await expectOwnedLikeControl(namespace, [...IDLE, ...BUSY], CONTROL);
}, 300_000);
