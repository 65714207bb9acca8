// Serving end to end, every part real: the operator process reconciles a frontend on the local
// control plane, kwok runs its NGINX pod and two WSO2 pods, the reload agent runs as a real
// process with that NGINX pod's identity and serves it with Debian's NGINX in a network namespace
// where the WSO2 pods' addresses reach two fake WSO2 nodes (test/support/served-frontend.ts). The
// agent probes each site through its NGINX and pinned to each node, and writes its verdicts on its
// Pod; the frontend's status.sites and Serving show what a user sees when a node stops and when it
// comes back, and when both stop.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import type { SiteStatus, Wso2Frontend } from '../../src/api/schema.js';
import { eventually, eventsWith, kubeConfig, kubectl, lastRecorded } from '../support/cluster.js';
import { FakeWso2Node } from '../support/fake-wso2.js';
import { OperatorProcess } from '../support/operator-process.js';
import { conditionOf, example, installCrd } from '../support/resources.js';
import { createRealAgentsNamespace, ServedFrontend } from '../support/served-frontend.js';

const NAME = 'serving-e2e';
const PORTAL = 'api.am.wso2.com';
const GATEWAY = 'gw.am.wso2.com';
const nodes = ['node-1', 'node-2'].map(
  (name, i) => new FakeWso2Node(name, `127.0.70.${i + 1}`, { https: [9443, 8243], http: [8280] }),
);

let namespace: string;
let core: k8s.CoreV1Api;
let dir: string;
let operator: OperatorProcess;
let frontend: ServedFrontend;

async function getYaml(): Promise<Wso2Frontend> {
  return yaml.load(await kubectl(['get', 'wso2frontend', NAME, '-n', namespace, '-o', 'yaml'])) as Wso2Frontend;
}

const sitesOf = (f: Wso2Frontend) =>
  (f.status?.sites ?? []).map((s: SiteStatus) => [s.host, s.serving, `${s.nodesAnswering}/${s.nodesTotal}`]);

/** The frontend once its sites are as `expected` ([host, serving, nodes]), as `kubectl get -o yaml` shows it. */
async function sitesBecome(expected: string[][]): Promise<Wso2Frontend> {
  try {
    return await eventually(
      `status.sites ${JSON.stringify(expected)}`,
      async () => {
        frontend.agent.assertRunning();
        const f = await getYaml();
        return JSON.stringify(sitesOf(f)) === JSON.stringify(expected) ? f : undefined;
      },
      60_000,
    );
  } catch (error) {
    const f = await getYaml().catch(() => undefined);
    throw new Error(
      `${(error as Error).message}\nstatus: ${JSON.stringify(f?.status)}\nagent log:\n${frontend.agent.log()}\noperator:\n${operator.text().split('\n').slice(-20).join('\n')}`,
    );
  }
}

/** The fake node behind the WSO2 pod with this address order (0 or 1). */
const nodeBehind = (i: number) => [...frontend.podNodes.values()][i]!;

beforeAll(async () => {
  core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  namespace = await createRealAgentsNamespace(core, 'serving-e2e');
  await installCrd();
  for (const node of nodes) await node.start();
  dir = mkdtempSync(join(tmpdir(), 'wso2-frontend-serving-e2e-'));
  const resource: Wso2Frontend = example('apim-single.yaml');
  resource.metadata = { name: NAME, namespace };
  resource.spec.backends = { managed: { components: { 'all-in-one': { replicas: 2 } } } };
  resource.spec.nginx = { replicas: 1, service: { type: 'ClusterIP' } };
  // Fast probes, so a stopped node shows within seconds; two failures in a row before it counts.
  resource.spec.probes = { intervalSeconds: 2, timeoutSeconds: 1, failureThreshold: 2, successThreshold: 1 };
  operator = await OperatorProcess.start(['--namespace', namespace, '--health-port', '0']);
  await kubectl(['apply', '--server-side', '-f', '-'], yaml.dump(resource));
  frontend = await ServedFrontend.start({ kubeConfig: kubeConfig(), resource, nodes, dir, wso2Pods: 2 });
}, 180_000);

afterAll(async () => {
  await frontend?.stop();
  await operator?.stop();
  for (const node of nodes) await node.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
});

test('both nodes up: every site serving, 2/2, Serving True, Ready True', async () => {
  const f = await sitesBecome([
    [PORTAL, 'True', '2/2'],
    [GATEWAY, 'True', '2/2'],
  ]);
  expect(conditionOf(f, 'Serving')).toMatchObject({ status: 'True', reason: 'SitesServing' });
  expect(conditionOf(f, 'Ready')?.status).toBe('True');
  expect(f.status?.sites?.every((s) => s.lastProbeTime && s.p50LatencyMs !== undefined)).toBe(true);
});

test('one node stopped: the sites still serve from the other, 1/2 with the reason, and an Event says so', async () => {
  const stopped = Date.now();
  await nodeBehind(1).stop();
  const f = await sitesBecome([
    [PORTAL, 'True', '1/2'],
    [GATEWAY, 'True', '1/2'],
  ]);
  expect(f.status?.sites?.every((s) => s.lastError)).toBe(true);
  expect(conditionOf(f, 'Serving')).toMatchObject({
    status: 'True',
    message: `every site answers (2); ${PORTAL}: 1/2 nodes answer; ${GATEWAY}: 1/2 nodes answer`,
  });
  expect(conditionOf(f, 'Ready')?.status).toBe('True');
  // One per site for this stop. Counted by site, not in all: a probe slower than its timeout on
  // the loaded machine may have said "1/2" before, with another reason (an Event of its own).
  await eventually('a NodesNotAnswering Event for each site since the stop', async () => {
    const notes = (await eventsWith(namespace, 'NodesNotAnswering', NAME))
      .filter((e) => lastRecorded(e) >= stopped)
      .map((e) => e.note);
    return [PORTAL, GATEWAY].every((host) =>
      notes.some((note) => note.startsWith(`${host} serves, but only 1/2 nodes answer: `)),
    )
      ? true
      : undefined;
  });
});

test('the node back: 2/2 again, a NodesAnswering Event', async () => {
  const started = Date.now();
  await nodeBehind(1).start();
  const f = await sitesBecome([
    [PORTAL, 'True', '2/2'],
    [GATEWAY, 'True', '2/2'],
  ]);
  expect(conditionOf(f, 'Serving')?.message).toBe('every site answers (2)');
  await eventually('a NodesAnswering Event for each site since the start', async () => {
    const notes = (await eventsWith(namespace, 'NodesAnswering', NAME))
      .filter((e) => lastRecorded(e) >= started)
      .map((e) => e.note);
    return [PORTAL, GATEWAY].every((host) => notes.includes(`${host}: 2/2 nodes answer again`)) ? true : undefined;
  });
});

test('both nodes stopped: not serving, Ready False (SitesNotServing) naming the 502; then both back: Ready again', async () => {
  await nodeBehind(0).stop();
  await nodeBehind(1).stop();
  let f = await sitesBecome([
    [PORTAL, 'False', '0/2'],
    [GATEWAY, 'False', '0/2'],
  ]);
  expect(conditionOf(f, 'Serving')?.status).toBe('False');
  expect(conditionOf(f, 'Ready')).toMatchObject({ status: 'False', reason: 'SitesNotServing' });
  expect(conditionOf(f, 'Ready')?.message).toMatch(/502/);
  await nodeBehind(0).start();
  await nodeBehind(1).start();
  f = await sitesBecome([
    [PORTAL, 'True', '2/2'],
    [GATEWAY, 'True', '2/2'],
  ]);
  expect(conditionOf(f, 'Ready')?.status).toBe('True');
});
