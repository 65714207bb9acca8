// spec.networkPolicy with the operator and the real control plane. The local plane has no CNI, so
// nothing enforces the policies; what is proven is what a CNI would enforce: the policies the
// operator owns are accepted as rendered, and each of their label selectors, evaluated by the API
// server against the real pods (kwok runs them), selects exactly the pods it means: its own role's
// (or NGINX's) pods, this frontend's NGINX or WSO2 pods as peers, never a neighbour frontend's
// pods in the same namespace, and only the named namespace for the metrics port. Turning it off
// prunes them.
import * as yaml from 'js-yaml';
import type { V1LabelSelector } from '@kubernetes/client-node';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { createOperator } from '../../src/controller/setup.js';
import type { Controller } from '../../src/controller/runtime/controller.js';
import { networkPolicies, type NetworkPolicy } from '../../src/render/network-policy.js';
import { createNamespace, eventually, kubeConfig, kubectl } from '../support/cluster.js';
import { topologyOf } from '../support/frontend.js';
import {
  example,
  installCrd,
  patchSpec,
  provideBaseConfig,
  provideTlsSecrets,
  readFrontend,
} from '../support/resources.js';

const NAME = 'apim-distributed';
const NEIGHBOUR = 'identity-7';
const ROLES = ['control-plane', 'gateway', 'traffic-manager'];

let namespace: string;
let monitoring: string;
let controller: Controller<Wso2Frontend>;

/** A LabelSelector as a `-l` selector string, so the API server evaluates it. */
function selectorString(selector: V1LabelSelector): string {
  const labels = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  const expressions = (selector.matchExpressions ?? []).map((e) => {
    if (e.operator !== 'In') throw new Error(`selectorString: operator ${e.operator} not handled`);
    return `${e.key} in (${e.values!.join(',')})`;
  });
  return [...labels, ...expressions].join(',');
}

const podsSelectedBy = async (selector: V1LabelSelector): Promise<string[]> =>
  (await kubectl(['get', 'pods', '-n', namespace, '-l', selectorString(selector), '-o', 'name']))
    .split('\n')
    .filter(Boolean)
    .map((name) => name.replace('pod/', ''))
    .sort();

const allPods = async () =>
  (await kubectl(['get', 'pods', '-n', namespace, '-o', 'name']))
    .split('\n')
    .filter(Boolean)
    .map((name) => name.replace('pod/', ''))
    .sort();

/** Pods by the workload that made them: `<frontend>-<component>-...`. */
const podsOf = (pods: string[], frontend: string, component: string) =>
  pods.filter((pod) => pod.startsWith(`${frontend}-${component}-`));

const policies = async (): Promise<NetworkPolicy[]> =>
  (
    JSON.parse(await kubectl(['get', 'networkpolicies', '-n', namespace, '-o', 'json'])) as {
      items: NetworkPolicy[];
    }
  ).items.sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));

beforeAll(async () => {
  await installCrd();
  namespace = await createNamespace('netpol');
  monitoring = await createNamespace('netpol-monitoring');
  ({ controller } = createOperator({
    kubeConfig: kubeConfig(),
    namespaces: [namespace],
    resyncPeriodMs: 60_000,
    identity: 'test',
  }));
  await controller.start();
  const frontend = example(`${NAME}.yaml`);
  frontend.spec.networkPolicy = { enabled: true, metricsNamespaces: [monitoring] };
  // A neighbour without policies in the same namespace, whose pods no selector may pick.
  const neighbour = example('is-7-managed.yaml');
  for (const resource of [frontend, neighbour]) {
    await provideBaseConfig(resource, namespace);
    await provideTlsSecrets(resource, namespace);
  }
  await kubectl(['apply', '-n', namespace, '-f', '-'], [frontend, neighbour].map((r) => yaml.dump(r)).join('---\n'));
  await kubectl(['wait', '--for=condition=Ready', 'wso2frontends', '--all', '-n', namespace, '--timeout=90s']);
});

afterAll(async () => {
  await controller?.stop();
});

test('the operator owns one policy for NGINX and one per WSO2 role, exactly as rendered', async () => {
  const frontend = await readFrontend(namespace, NAME);
  const expected = networkPolicies(frontend, topologyOf(frontend));
  const live = await policies();
  expect(live.map((p) => p.metadata!.name)).toEqual(expected.map((p) => p.metadata!.name).sort());
  for (const policy of live) {
    expect(policy.spec).toEqual(expected.find((p) => p.metadata!.name === policy.metadata!.name)!.spec);
    expect(policy.metadata!.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Wso2Frontend', name: NAME, uid: frontend.metadata.uid, controller: true }),
    ]);
  }
});

/** The namespace's pods once every workload has exactly its replicas running (none starting or going). */
async function settledPods(): Promise<string[]> {
  return eventually('every workload of both frontends to run exactly its replicas', async () => {
    const workloads = JSON.parse(await kubectl(['get', 'deployments,statefulsets', '-n', namespace, '-o', 'json'])) as {
      items: { spec: { replicas: number }; status?: { readyReplicas?: number; replicas?: number } }[];
    };
    const pods = await allPods();
    const wanted = workloads.items.reduce((sum, w) => sum + w.spec.replicas, 0);
    const settled = workloads.items.every(
      (w) => w.status?.readyReplicas === w.spec.replicas && w.status.replicas === w.spec.replicas,
    );
    return settled && pods.length === wanted && podsOf(pods, NEIGHBOUR, 'nginx').length ? pods : undefined;
  });
}

test("each policy's pod selector picks exactly its own pods among the namespace's real pods", async () => {
  const pods = await settledPods();
  const byName = new Map((await policies()).map((p) => [p.metadata!.name!, p]));
  for (const component of ['nginx', ...ROLES]) {
    const selected = await podsSelectedBy(byName.get(`${NAME}-${component}`)!.spec.podSelector);
    expect(selected.length).toBeGreaterThan(0);
    expect(selected).toEqual(podsOf(pods, NAME, component));
  }
  // Every pod of the frontend is under exactly one policy; no pod of the neighbour is under any.
  const selected = (await Promise.all([...byName.values()].map((p) => podsSelectedBy(p.spec.podSelector)))).flat();
  expect(selected.sort()).toEqual(pods.filter((pod) => pod.startsWith(`${NAME}-`)));
});

test('the peers: NGINX pods and WSO2 pods of this frontend only, the metrics port for the named namespace only', async () => {
  const pods = await settledPods();
  const byName = new Map((await policies()).map((p) => [p.metadata!.name!, p]));
  const nginx = byName.get(`${NAME}-nginx`)!;
  // Public ports: no `from` (everyone); health and metrics: only pods of the monitoring namespace.
  expect(nginx.spec.ingress[0]!.from).toBeUndefined();
  const [metricsPeer] = nginx.spec.ingress[1]!.from!;
  expect(metricsPeer!.podSelector).toBeUndefined();
  const namespaces = await kubectl([
    'get',
    'namespaces',
    '-l',
    selectorString(metricsPeer!.namespaceSelector!),
    '-o',
    'name',
  ]);
  expect(namespaces.trim()).toBe(`namespace/${monitoring}`);

  const wso2Pods = pods.filter((pod) => ROLES.some((role) => pod.startsWith(`${NAME}-${role}-`)));
  for (const role of ROLES) {
    const [fromNginx, fromPeers] = byName.get(`${NAME}-${role}`)!.spec.ingress;
    expect(await podsSelectedBy(fromNginx!.from![0]!.podSelector!)).toEqual(podsOf(pods, NAME, 'nginx'));
    expect(fromNginx!.ports!.length).toBeGreaterThan(0);
    expect(await podsSelectedBy(fromPeers!.from![0]!.podSelector!)).toEqual(wso2Pods);
    expect(fromPeers!.ports).toBeUndefined();
  }
});

test('turning spec.networkPolicy off prunes every policy', async () => {
  await patchSpec(namespace, NAME, { networkPolicy: { enabled: false } });
  await eventually('the NetworkPolicies to be pruned', async () =>
    (await policies()).length === 0 ? true : undefined,
  );
  await kubectl(['wait', '--for=condition=Ready', `wso2frontend/${NAME}`, '-n', namespace, '--timeout=60s']);
});
