// In-place reload on real pods: a spec change, an endpoint change and a certificate rotation are
// each served by the NGINX pods (the agents report the new configuration hash) while their
// containers keep restartCount 0 and the pods keep their UIDs, and constant load through the
// NGINX Service (kept-alive connections and new ones) sees no failed request.
import { connect } from 'node:tls';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { nginxName } from '../../src/render/objects.js';
import { issueCa, issueServerCertificate, tlsSecretData } from '../../src/tls/issuer.js';
import { createNamespace, eventually, kubectl } from '../support/cluster.js';
import {
  conditionOf,
  example,
  installCrd,
  patchSpec,
  provideTlsSecrets,
  readFrontend,
  sitesOf,
} from '../support/resources.js';
import { constantLoad, core, onRealPods, startOperator, type Target } from '../support/real-pods.js';

let operator: { stop: () => Promise<void> };
let namespace: string;
let resource: Wso2Frontend;
let target: Target;
const NAME = 'identity-7';

async function nginxPods(): Promise<{ uid: string; restarts: number }[]> {
  const pods = await core().listNamespacedPod({
    namespace,
    labelSelector: `app.kubernetes.io/instance=${NAME},app.kubernetes.io/component=nginx`,
  });
  return pods.items
    .filter((p) => !p.metadata?.deletionTimestamp)
    .map((p) => ({
      uid: p.metadata!.uid!,
      restarts: (p.status?.containerStatuses ?? []).reduce((sum, c) => sum + c.restartCount, 0),
    }))
    .sort((a, b) => a.uid.localeCompare(b.uid));
}

/** Waits until the frontend is Ready with a configuration hash other than `previous`; returns the new hash. */
async function servedAfter(previous: string | undefined): Promise<string> {
  return eventually(
    'the new configuration served',
    async () => {
      const f = await readFrontend(namespace, NAME);
      const hash = f.status?.configHash;
      const served =
        conditionOf(f, 'ConfigurationServed')?.status === 'True' && conditionOf(f, 'Ready')?.status === 'True';
      return served && hash && hash !== previous ? hash : undefined;
    },
    120_000,
  );
}

function servedCertificateSerial(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: target.address, port: target.port, servername: target.host, rejectUnauthorized: false },
      () => {
        resolve(socket.getPeerX509Certificate()!.serialNumber);
        socket.end();
      },
    );
    socket.on('error', reject);
  });
}

beforeAll(async () => {
  await installCrd();
  operator = await startOperator();
  namespace = await createNamespace('reload');
  const base = example('is-7-managed.yaml');
  resource = onRealPods({ ...base, metadata: { ...base.metadata, namespace } });
  resource.spec.backends.managed!.components!.worker!.replicas = 2;
  await provideTlsSecrets(resource, namespace);
  await kubectl(['apply', '--server-side', '-n', namespace, '-f', '-'], JSON.stringify(resource));
  await eventually(
    'Ready',
    async () => (conditionOf(await readFrontend(namespace, NAME), 'Ready')?.status === 'True' ? true : undefined),
    240_000,
  );
  const service = await core().readNamespacedService({ name: nginxName(resource), namespace });
  const identity = sitesOf(resource).find((s) => s.name === 'identity')!;
  target = { address: service.spec!.clusterIP!, port: 443, host: identity.host };
}, 300_000);

afterAll(async () => {
  await operator?.stop();
  if (namespace) await core().deleteNamespace({ name: namespace });
});

test('a spec change, an endpoint change and a certificate rotation are served in place with no failed request', async () => {
  const podsBefore = await nginxPods();
  expect(podsBefore.length).toBeGreaterThanOrEqual(1);
  expect(podsBefore.every((p) => p.restarts === 0)).toBe(true);
  let hash = (await readFrontend(namespace, NAME)).status?.configHash;
  const load = constantLoad(target);
  try {
    // A spec change that only NGINX's configuration carries.
    await patchSpec(namespace, NAME, { nginx: { clientMaxBodySize: '64m' } });
    hash = await servedAfter(hash);

    // An endpoint change: a third WSO2 worker joins the upstream once it is ready.
    await patchSpec(namespace, NAME, { backends: { managed: { components: { worker: { replicas: 3 } } } } });
    await servedAfter(hash);

    // A certificate rotation: the user's Secret gets a certificate from another CA.
    const serialBefore = await servedCertificateSerial();
    const secretName = resource.spec.tls!.secretName!;
    const hosts = sitesOf(resource).map((s) => s.host);
    const ca = issueCa('rotated CA', { now: new Date() });
    await core().replaceNamespacedSecret({
      name: secretName,
      namespace,
      body: {
        metadata: { name: secretName },
        type: 'kubernetes.io/tls',
        stringData: tlsSecretData(issueServerCertificate(ca, hosts, { now: new Date() }), ca),
      },
    });
    await eventually('the rotated certificate served', async () =>
      (await servedCertificateSerial()) !== serialBefore ? true : undefined,
    );
  } finally {
    const counts = await load.stop();
    expect({ failed: counts.failed, errors: Object.fromEntries(counts.errors) }).toEqual({ failed: 0, errors: {} });
    expect(counts.ok).toBeGreaterThan(100);
  }
  expect(await nginxPods()).toEqual(podsBefore);
}, 400_000);
