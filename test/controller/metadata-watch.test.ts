// The operator watches the users' Secrets (to notice a cert-manager renewal) without ever being
// sent their data: it lists and watches PartialObjectMetadata. Proven with the API server's own
// metrics on a private control plane (so no other test's requests are counted): the bytes of the
// Secret LIST responses and watch events it served while the operator started and a Secret changed.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { createOperator } from '../../src/controller/setup.js';
import type { Controller } from '../../src/controller/runtime/controller.js';
import { LocalControlPlane } from '../../src/localcluster/control-plane.js';
import { eventually } from '../support/cluster.js';
import { parseMetrics, sumOf } from '../support/prometheus.js';
import { CRD_FILE } from '../support/resources.js';

const SECRETS = 20;
const SECRET_BYTES = 100_000;

let plane: LocalControlPlane;
let core: k8s.CoreV1Api;
let controller: Controller<Wso2Frontend> | undefined;
/** The API server's Secret figures before the test Secrets were created. */
let created: Awaited<ReturnType<typeof secretBytes>>;

const kubectl = async (...args: string[]) =>
  (await promisify(execFile)('kubectl', ['--kubeconfig', plane.kubeconfigPath, ...args], { maxBuffer: 64 << 20 }))
    .stdout;

/** Bytes the API server has sent for Secrets: LIST response bodies and watch events. */
async function secretBytes(): Promise<{ listed: number; lists: number; watched: number; events: number }> {
  const samples = parseMetrics(await kubectl('get', '--raw', '/metrics'));
  const secrets = { resource: 'secrets', group: '' };
  return {
    listed: sumOf(samples, 'apiserver_response_sizes_sum', { ...secrets, verb: 'LIST' }),
    lists: sumOf(samples, 'apiserver_response_sizes_count', { ...secrets, verb: 'LIST' }),
    watched: sumOf(samples, 'apiserver_watch_events_sizes_sum', secrets),
    events: sumOf(samples, 'apiserver_watch_events_sizes_count', secrets),
  };
}

// Random, so that the API server's gzip cannot shrink it.
const secret = (name: string): k8s.V1Secret => ({
  metadata: { name },
  stringData: { 'tls.crt': randomBytes((SECRET_BYTES * 3) / 4).toString('base64') },
});

beforeAll(async () => {
  plane = await LocalControlPlane.start({ workloads: false });
  core = plane.kubeConfig().makeApiClient(k8s.CoreV1Api);
  await kubectl('apply', '--server-side', '-f', CRD_FILE);
  await kubectl('wait', '--for=condition=Established', 'crd/wso2frontends.wso2-frontend.dev', '--timeout=60s');
  await kubectl('create', 'namespace', 'empty');
  created = await secretBytes();
  for (let i = 0; i < SECRETS; i++) await core.createNamespacedSecret({ namespace: 'default', body: secret(`s${i}`) });
});

afterAll(async () => {
  await controller?.stop();
  await plane?.stop();
});

test('the API server sends the operator no Secret data, in its lists or its watch', async () => {
  const before = await secretBytes();
  // 'empty' holds no Secret: an empty PartialObjectMetadataList (items: null) lists too.
  ({ controller } = createOperator({
    kubeConfig: plane.kubeConfig(),
    namespaces: ['default', 'empty'],
    identity: 'test',
  }));
  await controller.start();
  expect(controller.cachedList('Secret/user', 'empty')).toEqual([]);
  const listed = await secretBytes();
  expect(listed.lists - before.lists).toBeGreaterThanOrEqual(1);
  // 20 Secrets of 100 kB each; their metadata is about 1 kB.
  expect(listed.listed - before.listed).toBeLessThan(SECRET_BYTES / 10);

  // kube-apiserver's own Secret informers (service account tokens) get every Secret in full: what
  // they cost per Secret shows in the events of the 20 new Secrets (same size as the renewed one).
  const internal = (listed.watched - created.watched) / SECRETS;
  const renewed = await core.replaceNamespacedSecret({ name: 's0', namespace: 'default', body: secret('s0') });
  const watched = await eventually('the operator and the internal informers to get the renewed Secret', async () => {
    const now = await secretBytes();
    const cached = controller!.cached('Secret/user', 'default', 's0');
    return cached?.metadata?.resourceVersion === renewed.metadata!.resourceVersion &&
      now.watched - listed.watched >= internal - SECRET_BYTES / 10
      ? now
      : undefined;
  });
  expect(controller.cached('Secret/user', 'default', 's0')?.kind).toBe('PartialObjectMetadata');
  // Had the operator been sent the data, that would be another 100 kB.
  expect(internal).toBeGreaterThan(SECRET_BYTES);
  expect(watched.watched - listed.watched - internal).toBeLessThan(SECRET_BYTES / 10);

  // The same metrics count the data when a client asks for it (kubectl get secrets -o json).
  await kubectl('get', 'secrets', '-n', 'default', '-o', 'json');
  expect((await secretBytes()).listed - watched.listed).toBeGreaterThan((SECRETS * SECRET_BYTES) / 2);
});
