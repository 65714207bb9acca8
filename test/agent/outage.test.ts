// The agent and NGINX without the API server (on a private control plane, so stopping it does
// not disturb the other test files): NGINX keeps serving, a restarted agent starts NGINX on the
// last good configuration, the agent catches up once the API server is back, and a dead
// NGINX master fails the agent (the kubelet then restarts the container).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { LocalControlPlane } from '../../src/localcluster/control-plane.js';
import {
  AgentProcess,
  agentObjects,
  createNginxPod,
  issueCertificates,
  loopbackLayout,
  loopbackPorts,
  servedCondition,
  type Certificates,
  type LoopbackPorts,
  publishAgentObjects,
  singleNodeFrontend,
} from '../support/agent.js';
import { send } from '../support/client.js';
import { eventually } from '../support/cluster.js';
import { FakeWso2Node } from '../support/fake-wso2.js';
import { topologyOf } from '../support/frontend.js';

const BLOCK = 62;
const NAMESPACE = 'agent-outage';
const POD = 'apim-single-nginx-0';

let plane: LocalControlPlane;
let core: k8s.CoreV1Api;
let dir: string;
let ports: LoopbackPorts;
let certs: Certificates;
let agent: AgentProcess;
const nodes = ['node-1', 'node-2'].map(
  (name, i) => new FakeWso2Node(name, `127.0.${BLOCK}.${i + 1}`, { https: [9443, 8243], http: [] }),
);

const frontendOn = (node: 'node-1' | 'node-2') => singleNodeFrontend(BLOCK, NAMESPACE, node);

const publish = (resource: Wso2Frontend) => publishAgentObjects(core, resource, loopbackLayout(ports), certs);

function startAgent(): Promise<AgentProcess> {
  const resource = frontendOn('node-1');
  return AgentProcess.start({
    namespace: NAMESPACE,
    pod: POD,
    frontend: resource,
    secretFlags: agentObjects(resource, topologyOf(resource), loopbackLayout(ports), certs).secretFlags,
    dir: join(dir, 'nginx'),
    ports,
    kubeconfig: plane.kubeconfigPath,
  });
}

async function podReportsServed(hash: string) {
  return eventually(
    `the Pod to report that it serves ${hash}`,
    async () => {
      agent.assertRunning();
      const served = await servedCondition(core, NAMESPACE, POD);
      return served?.hash === hash && served.condition.reason === 'Served' ? served.condition : undefined;
    },
    60_000,
  );
}

const portalNode = async () =>
  (await send({ scheme: 'https', port: ports.https, host: 'api.am.wso2.com', ca: certs.ca.certificatePem })).answer
    ?.node;

beforeAll(async () => {
  plane = await LocalControlPlane.start();
  core = plane.kubeConfig().makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
  await createNginxPod(core, NAMESPACE, POD);
  for (const node of nodes) await node.start();
  dir = mkdtempSync(join(tmpdir(), 'wso2-frontend-agent-outage-'));
  ports = await loopbackPorts();
  certs = issueCertificates(topologyOf(frontendOn('node-1')));
  agent = await startAgent();
  await podReportsServed(await publish(frontendOn('node-1')));
});

afterAll(async () => {
  await agent?.stop();
  for (const node of nodes) await node.stop();
  await plane?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('with the API server stopped NGINX keeps serving, and the agent catches up when it is back', async () => {
  const master = agent.masterPid();
  await plane.stop({ removeData: false });
  for (let i = 0; i < 5; i++) expect(await portalNode()).toBe('node-1');
  agent.assertRunning();

  await plane.start();
  const hash = await publish(frontendOn('node-2'));
  await podReportsServed(hash);
  expect(await portalNode()).toBe('node-2');
  expect(agent.masterPid()).toBe(master);
});

test('a restarted agent starts NGINX on the last good configuration while the API server is away, then catches up', async () => {
  const served = (await servedCondition(core, NAMESPACE, POD))!.hash!;
  expect(await agent.stop()).toBe(0);
  await expect(portalNode()).rejects.toThrow(/ECONNREFUSED/);

  await plane.stop({ removeData: false });
  agent = await startAgent();
  expect(await eventually('NGINX to serve again', async () => portalNode().catch(() => undefined))).toBe('node-2');
  const health = await eventually('the agent to say it serves', async () => {
    const response = await fetch(`http://127.0.0.1:${agent.healthPort}/readyz`).catch(() => undefined);
    return response?.status === 200 ? response : undefined;
  });
  expect(health.status).toBe(200);
  expect(await agent.metric(`wso2_frontend_agent_served_config_info{hash="${served}"}`)).toBe(1);

  await plane.start();
  const hash = await publish(frontendOn('node-1'));
  await podReportsServed(hash);
  expect(await portalNode()).toBe('node-1');
});

test('the agent fails, and says so, when its NGINX master dies', async () => {
  const master = agent.masterPid()!;
  process.kill(master, 'SIGKILL');
  expect(await agent.waitForExit()).toBe(1);
  expect(agent.log()).toMatch(/NGINX master \(pid \d+\) exited: killed by SIGKILL/);
  await expect(portalNode()).rejects.toThrow(/ECONNREFUSED/);
});
