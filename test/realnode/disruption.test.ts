// An NGINX pod deleted under load, with 2 replicas, on real pods: a normal delete with its grace
// period (as `kubectl delete pod` or a node drain does) while constant load goes through the NGINX
// Service's ClusterIP. The operator's PodDisruptionBudget selects exactly the NGINX pods and holds:
// an Eviction (policy/v1, the eviction subresource kubectl drain uses) of the other pod while the
// first is gone is refused with 429. Clients opening a connection per request see no failure; the
// frontend is Ready again with 2 NGINX pods Ready.
//
// Why no request fails: the pod is marked terminating at once, so its endpoint leaves the
// Service's EndpointSlice and kube-proxy sends no new connection to it, while the preStop pause
// (5 s, src/render/objects.ts) keeps NGINX serving the connections it has. Then SIGTERM makes the
// agent quit NGINX gracefully (SIGQUIT): NGINX closes its listening sockets, finishes requests in
// flight, answers them with `Connection: close` (it never keeps a connection alive while shutting
// down) and closes connections that stay idle beyond keepalive_min_timeout (3 s).
//
// What is asserted for kept-alive clients: a kept-alive connection to the stopping pod ends, and
// HTTP/1.1 lets a server close an idle kept-alive connection at any time (RFC 9112 9.3.1 and 9.6),
// so a request written at that very moment meets a closed connection before any byte of an answer
// (ECONNRESET or EPIPE on a reused socket). A client may resend such a request when it is
// idempotent (these are GETs), as Node's documentation says for `request.reusedSocket`; the
// kept-alive clients here resend once in exactly that case, and nothing else. Asserted: no request
// fails after that, and there is at most one such resend per kept-alive connection (each connection
// is closed once by the pod that stops; the new one goes to a pod that keeps running).
import * as k8s from '@kubernetes/client-node';
import type { Agent } from 'node:https';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { nginxName } from '../../src/render/objects.js';
import { createNamespace, eventually, kubeConfig, kubectl, watchEveryVersion } from '../support/cluster.js';
import { loadUntilStopped } from '../support/load.js';
import { conditionOf, example, installCrd, provideTlsSecrets, readFrontend, sitesOf } from '../support/resources.js';
import { core, onRealPods, request, startOperator, type RequestError, type Target } from '../support/real-pods.js';

const NAME = 'identity-7';
const KEEP_ALIVE_CLIENTS = 4;
const FRESH_CLIENTS = 2;

let operator: { stop: () => Promise<void> };
let namespace: string;
let resource: Wso2Frontend;
let target: Target;

const policy = () => kubeConfig().makeApiClient(k8s.PolicyV1Api);

async function nginxSelector(): Promise<string> {
  const deployment = await kubeConfig()
    .makeApiClient(k8s.AppsV1Api)
    .readNamespacedDeployment({ name: nginxName(resource), namespace });
  return Object.entries(deployment.spec!.selector.matchLabels!)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

async function nginxPods(): Promise<k8s.V1Pod[]> {
  return (await core().listNamespacedPod({ namespace, labelSelector: await nginxSelector() })).items;
}

const isReady = (pod: k8s.V1Pod) =>
  !pod.metadata?.deletionTimestamp && pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

function evict(name: string, dryRun = false) {
  return core().createNamespacedPodEviction({
    name,
    namespace,
    body: {
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name, namespace },
      ...(dryRun ? { deleteOptions: { dryRun: ['All'] } } : {}),
    },
  });
}

beforeAll(async () => {
  await installCrd();
  operator = await startOperator();
  namespace = await createNamespace('disruption');
  const base = example('is-7-managed.yaml');
  resource = onRealPods({ ...base, metadata: { ...base.metadata, namespace } });
  resource.spec.nginx = { ...resource.spec.nginx, replicas: 2 };
  resource.spec.backends.managed!.components!.worker!.replicas = 1;
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
}, 280_000);

afterAll(async () => {
  await operator?.stop();
  if (namespace) await core().deleteNamespace({ name: namespace });
});

test('the PodDisruptionBudget selects exactly the 2 NGINX pods and allows one disruption', async () => {
  const pdb = await policy().readNamespacedPodDisruptionBudget({ name: nginxName(resource), namespace });
  const service = await core().readNamespacedService({ name: nginxName(resource), namespace });
  expect(pdb.spec?.maxUnavailable).toBe(1);
  expect(pdb.spec?.selector?.matchLabels).toEqual(service.spec?.selector);
  const selected = await core().listNamespacedPod({
    namespace,
    labelSelector: Object.entries(pdb.spec!.selector!.matchLabels!)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  });
  expect(selected.items.map((p) => p.metadata!.name).sort()).toEqual(
    (await nginxPods()).map((p) => p.metadata!.name).sort(),
  );
  expect(selected.items.filter(isReady)).toHaveLength(2);
  await eventually('the budget counting 2 healthy NGINX pods', async () => {
    const { status } = await policy().readNamespacedPodDisruptionBudget({ name: nginxName(resource), namespace });
    return status?.currentHealthy === 2 && status.expectedPods === 2 && status.disruptionsAllowed === 1
      ? true
      : undefined;
  });
});

test('an NGINX pod deleted under load: the budget refuses evicting the other, new connections see no failure, Ready comes back', async () => {
  const before = (await nginxPods()).filter(isReady).map((p) => p.metadata!.name!);
  expect(before).toHaveLength(2);
  const [deleted, other] = before as [string, string];

  let resent = 0;
  const keepAlive = loadUntilStopped(
    async (agent: Agent | false) => {
      const send = async () => {
        const { status } = await request(target, agent);
        if (status !== 200) throw new Error(`status ${status}`);
      };
      try {
        await send();
      } catch (error) {
        const e = error as RequestError & { code?: string };
        const closedWhileIdle = e.beforeResponse && e.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE');
        if (!closedWhileIdle) throw error;
        resent++;
        await send();
      }
    },
    KEEP_ALIVE_CLIENTS,
    0,
  );
  const fresh = loadUntilStopped(
    async (agent) => {
      const { status } = await request(target, agent);
      if (status !== 200) throw new Error(`status ${status}`);
    },
    0,
    FRESH_CLIENTS,
  );
  // Every version of the NGINX pods, so that the deleted pod's last one (its containers' end) is seen.
  const lastSeen = new Map<string, k8s.V1Pod>();
  const stopWatch = await watchEveryVersion<k8s.V1Pod>(
    `/api/v1/namespaces/${namespace}/pods`,
    await nginxSelector(),
    (pod) => lastSeen.set(pod.metadata!.name!, pod),
  );
  let refusal: k8s.ApiException<unknown> | undefined;
  try {
    // Some load through both pods first.
    await eventually('requests served', () => (keepAlive.counts.ok > 50 && fresh.counts.ok > 20 ? true : undefined));
    await core().deleteNamespacedPod({ name: deleted, namespace });

    // Once the disruption controller counts the deleted pod out, evicting the other one must be
    // refused (the replacement is not Ready yet: the agent and NGINX take seconds to start).
    await eventually('the budget counting the deleted pod out', async () => {
      const pdb = await policy().readNamespacedPodDisruptionBudget({ name: nginxName(resource), namespace });
      const s = pdb.status;
      return s?.observedGeneration === pdb.metadata?.generation && s?.currentHealthy === 1 && s.disruptionsAllowed === 0
        ? true
        : undefined;
    });
    refusal = await evict(other).then(
      () => undefined,
      (error: unknown) => {
        if (error instanceof k8s.ApiException) return error as k8s.ApiException<unknown>;
        throw error;
      },
    );
    expect(refusal?.code).toBe(429);
    const body: unknown = refusal?.body;
    expect(typeof body === 'string' ? body : JSON.stringify(body)).toMatch(/disruption budget/);
    expect((await core().readNamespacedPod({ name: other, namespace })).metadata?.deletionTimestamp).toBeUndefined();

    await eventually(
      'the deleted pod gone, 2 NGINX pods Ready and the frontend Ready',
      async () => {
        const pods = await nginxPods();
        if (pods.some((p) => p.metadata!.name === deleted)) return undefined;
        if (pods.filter(isReady).length !== 2) return undefined;
        return conditionOf(await readFrontend(namespace, NAME), 'Ready')?.status === 'True' ? true : undefined;
      },
      240_000,
    );
    // The budget allows one disruption again (a dry run: the API server checks it, nothing is evicted).
    await eventually('the budget allowing one disruption again', async () => {
      const { status } = await policy().readNamespacedPodDisruptionBudget({ name: nginxName(resource), namespace });
      return status?.currentHealthy === 2 && status.disruptionsAllowed === 1 ? true : undefined;
    });
    await evict(other, true);
  } finally {
    stopWatch();
    const [k, f] = await Promise.all([keepAlive.stop(), fresh.stop()]);
    const summary = {
      fresh: { ok: f.ok, failed: f.failed, errors: Object.fromEntries(f.errors) },
      keepAlive: { ok: k.ok, failed: k.failed, resent, errors: Object.fromEntries(k.errors) },
    };
    console.log(`NGINX pod deleted under load: ${JSON.stringify(summary)}`);
    expect(summary.fresh.failed).toBe(0);
    expect(summary.keepAlive.failed).toBe(0);
    expect(resent).toBeLessThanOrEqual(KEEP_ALIVE_CLIENTS);
    expect(f.ok).toBeGreaterThan(50);
    expect(k.ok).toBeGreaterThan(100);
  }
  // The agent stopped on the stop signal, NGINX quit gracefully (exit 0), not killed at the end of
  // the grace period (137): the image's stop signal is one the agent, PID 1, handles.
  expect(lastSeen.get(deleted)?.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
    exitCode: 0,
    reason: 'Completed',
  });
  const after = (await nginxPods()).filter(isReady).map((p) => p.metadata!.name!);
  expect(after).toHaveLength(2);
  expect(after).toContain(other);
  expect(after).not.toContain(deleted);
}, 300_000);
