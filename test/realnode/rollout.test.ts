// A zero-downtime rollout of WSO2 pods on real pods: an image change rolls the two Identity Server
// workers (a Deployment: a new pod joins before an old one goes, each old pod is drained from
// NGINX before its container stops) under constant load through the NGINX Service, from
// kept-alive clients and clients opening a connection per request, and no request fails. Clients
// holding NGINX's affinity cookie stay on their node until that pod is terminating, then move
// once, to a node they keep. POSTs run beside them: NGINX never resends one a node received, so
// a node that stopped before NGINX stopped sending to it would fail them.
import { Agent } from 'node:https';
import * as k8s from '@kubernetes/client-node';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { nginxName } from '../../src/render/objects.js';
import { createNamespace, eventually, kubeConfig, kubectl, watchEveryVersion } from '../support/cluster.js';
import {
  conditionOf,
  example,
  installCrd,
  patchSpec,
  provideTlsSecrets,
  readFrontend,
  sitesOf,
} from '../support/resources.js';
import { loadUntilStopped } from '../support/load.js';
import { constantLoad, core, onRealPods, request, startOperator, type Target } from '../support/real-pods.js';

let operator: { stop: () => Promise<void> };
let namespace: string;
let resource: Wso2Frontend;
let target: Target;
const NAME = 'identity-7';
const WORKERS = `app.kubernetes.io/instance=${NAME},app.kubernetes.io/component=worker`;

beforeAll(async () => {
  await installCrd();
  operator = await startOperator();
  namespace = await createNamespace('rollout');
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

const workerPods = async () => (await core().listNamespacedPod({ namespace, labelSelector: WORKERS })).items;

/** A client that keeps the cookies NGINX and the node set, as a browser does, and notes which node answered each request. */
function cookieClient(agent: Agent | false) {
  const jar = new Map<string, string>();
  const answers: { node: string; at: number }[] = [];
  const errors: string[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
        const response = await request(target, agent, cookie ? { cookie } : {});
        if (response.status !== 200) throw new Error(`status ${response.status}`);
        for (const line of response.headers['set-cookie'] ?? []) {
          const [pair] = line.split(';');
          const at = pair!.indexOf('=');
          jar.set(pair!.slice(0, at).trim(), pair!.slice(at + 1));
        }
        answers.push({ node: (JSON.parse(response.body) as { node: string }).node, at: Date.now() });
      } catch (error) {
        errors.push((error as Error).message);
      }
    }
  })();
  return {
    answers,
    errors,
    async stop() {
      stopped = true;
      await loop;
      if (agent) agent.destroy();
    },
  };
}

/** The nodes a client was on, in order, each with when it first answered. */
function stays(answers: { node: string; at: number }[]): { node: string; from: number }[] {
  const result: { node: string; from: number }[] = [];
  for (const { node, at } of answers) if (result.at(-1)?.node !== node) result.push({ node, from: at });
  return result;
}

test('an image change rolls the workers under load with no failed request; a cookie client moves only when its pod terminates, and once', async () => {
  const before = await workerPods();
  expect(before).toHaveLength(2);
  const oldPods = new Set(before.map((p) => p.metadata!.name!));
  // The image the workers run, now named by its digest as well: a new pod template, the same program.
  const imageID = before[0]!.status!.containerStatuses!.find((c) => c.name === 'wso2')!.imageID;
  const digest = /@(sha256:[0-9a-f]{64})$/.exec(imageID)?.[1];
  if (!digest) throw new Error(`the kubelet reports no registry digest for the WSO2 image: ${imageID}`);
  const image = `${resource.spec.backends.managed!.image}@${digest}`;

  // When each worker pod was first seen terminating, as the EndpointSlice controller and the operator see it.
  const terminatingSince = new Map<string, number>();
  const stopWatch = await watchEveryVersion<k8s.V1Pod>(`/api/v1/namespaces/${namespace}/pods`, WORKERS, (pod) => {
    if (pod.metadata?.deletionTimestamp && !terminatingSince.has(pod.metadata.name!))
      terminatingSince.set(pod.metadata.name!, Date.now());
  });
  const load = constantLoad(target);
  // A login form's POST, on kept-alive connections and new ones.
  const posts = loadUntilStopped(
    async (agent) => {
      const { status, body } = await request(target, agent, {}, 'username=admin&password=admin');
      if (status !== 200) throw new Error(`status ${status}`);
      const { method } = JSON.parse(body) as { method: string };
      if (method !== 'POST') throw new Error(`the node got a ${method}`);
    },
    2,
    1,
  );
  const clients = [
    ...Array.from({ length: 2 }, () => cookieClient(new Agent({ keepAlive: true, maxSockets: 1 }))),
    ...Array.from({ length: 2 }, () => cookieClient(false)),
  ];
  let counts;
  let postCounts;
  let patchedAt = 0;
  let rolledAt = 0;
  try {
    await eventually('every cookie client answered', () =>
      clients.every((c) => c.answers.length > 0) ? true : undefined,
    );
    patchedAt = Date.now();
    await patchSpec(namespace, NAME, { backends: { managed: { components: { worker: { image } } } } });
    const apps = kubeConfig().makeApiClient(k8s.AppsV1Api);
    // Done: both workers run the new template and every old pod is gone, its drain and shutdown over.
    await eventually(
      'the rollout done and the old pods gone',
      async () => {
        const deployment = await apps.readNamespacedDeployment({ name: `${NAME}-worker`, namespace });
        const s = deployment.status ?? {};
        const rolled =
          (s.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 0) &&
          s.updatedReplicas === 2 &&
          s.availableReplicas === 2 &&
          s.replicas === 2;
        const pods = await workerPods();
        return rolled && pods.length === 2 && pods.every((p) => !oldPods.has(p.metadata!.name!)) ? pods : undefined;
      },
      300_000,
    );
    rolledAt = Date.now();
    // The new workers serve the cookie clients before the load stops.
    await eventually('every cookie client on a new pod', () =>
      clients.every((c) => !oldPods.has(c.answers.at(-1)?.node ?? '')) ? true : undefined,
    );
  } finally {
    counts = await load.stop();
    postCounts = await posts.stop();
    await Promise.all(clients.map((c) => c.stop()));
    stopWatch();
  }
  expect({ failed: counts.failed, errors: Object.fromEntries(counts.errors) }).toEqual({ failed: 0, errors: {} });
  expect(counts.ok).toBeGreaterThan(100);
  expect({ failed: postCounts.failed, errors: Object.fromEntries(postCounts.errors) }).toEqual({
    failed: 0,
    errors: {},
  });
  expect(postCounts.ok).toBeGreaterThan(50);
  expect(clients.map((c) => c.errors)).toEqual(clients.map(() => []));

  const moves = clients.flatMap((c) => {
    const path = stays(c.answers);
    return path.slice(1).map((s, i) => s.from - (terminatingSince.get(path[i]!.node) ?? NaN));
  });
  console.log(
    `WSO2 rollout of 2 workers: ${counts.ok} GETs and ${postCounts.ok} POSTs, ${counts.failed + postCounts.failed} failed, ${((rolledAt - patchedAt) / 1000).toFixed(1)} s from the change to the old pods gone; cookie clients moved ${moves.length} times, ${moves.map((ms) => `${ms} ms`).join(', ')} after their pod began terminating`,
  );
  const after = await workerPods();
  expect(after.map((p) => p.spec!.containers.find((c) => c.name === 'wso2')!.image)).toEqual([image, image]);
  for (const client of clients) {
    const path = stays(client.answers);
    const story = JSON.stringify({ path, terminatingSince: Object.fromEntries(terminatingSince) });
    // It started on an old pod, which is gone, so it moved; it never went back to a node it left.
    expect({ moved: path.length > 1, story }).toEqual({ moved: true, story });
    expect({ distinct: new Set(path.map((s) => s.node)).size, story }).toEqual({ distinct: path.length, story });
    // Each move: away from a pod that was terminating by then, to the node of the next stay.
    for (let i = 0; i + 1 < path.length; i++) {
      const left = path[i]!;
      const since = terminatingSince.get(left.node);
      expect({
        left: left.node,
        oldPod: oldPods.has(left.node),
        terminatingFirst: since !== undefined && since <= path[i + 1]!.from,
        story,
      }).toEqual({
        left: left.node,
        oldPod: true,
        terminatingFirst: true,
        story,
      });
    }
    expect(oldPods.has(path.at(-1)!.node)).toBe(false);
  }
}, 600_000);
