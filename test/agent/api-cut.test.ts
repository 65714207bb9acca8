// Issue 17, fault 4: the agent's connection to the API server cut at the network, not by
// stopping the API server. The agent reaches the API server through a TCP proxy (the TLS stream
// passes through as bytes; its kubeconfig names the proxy, with the API server's own name for the
// certificate check). The cut destroys every proxied connection, then blackholes for 20 s: new
// connections are accepted and never answered, so nothing tells the agent the path is dead. NGINX
// must serve real requests throughout, and once the path is back the agent must catch up without
// a restart: a configuration published during the cut is served, and reported on the Pod.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import type { Wso2Frontend } from '../../src/api/schema.js';
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
import { createNamespace, eventually, kubeConfig, kubectl, serviceAccountKubeconfig } from '../support/cluster.js';
import { parseMetrics, sumOf } from '../support/prometheus.js';
import { FakeWso2Node } from '../support/fake-wso2.js';
import { topologyOf } from '../support/frontend.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { PooledKubeConfig } from '../../src/controller/runtime/kubeconfig.js';

const BLOCK = 72;
const POD = 'apim-single-nginx-0';
const CUT_MS = 20_000;

let core: k8s.CoreV1Api;
let namespace: string;
let dir: string;
let ports: LoopbackPorts;
let certs: Certificates;
let proxy: TcpProxy;
let agent: AgentProcess;
const nodes = ['node-1', 'node-2'].map(
  (name, i) => new FakeWso2Node(name, `127.0.${BLOCK}.${i + 1}`, { https: [9443, 8243], http: [] }),
);

const frontendOn = (node: 'node-1' | 'node-2') => singleNodeFrontend(BLOCK, namespace, node);

/** Writes the frontend's ConfigMap and Secrets straight to the API server (not through the proxy). */
const publish = (resource: Wso2Frontend) => publishAgentObjects(core, resource, loopbackLayout(ports), certs);

/** The test's kubeconfig with the API server reached through the proxy. */
function kubeconfigThroughProxy(): string {
  const direct = kubeConfig();
  const cluster = direct.getCurrentCluster()!;
  const through = new k8s.KubeConfig();
  through.loadFromOptions({
    clusters: [{ ...cluster, server: `https://${proxy.host}:${proxy.port}`, tlsServerName: 'localhost' }],
    users: direct.getUsers(),
    contexts: direct.getContexts(),
    currentContext: direct.getCurrentContext(),
  });
  const file = join(dir, 'kubeconfig-through-proxy.json');
  writeFileSync(file, through.exportConfig(), { mode: 0o600 });
  return file;
}

function podReportsServed(hash: string, timeoutMs = 60_000) {
  return eventually(
    `the Pod to report that it serves ${hash}`,
    async () => {
      agent.assertRunning();
      const served = await servedCondition(core, namespace, POD);
      return served?.hash === hash && served.condition.reason === 'Served' ? served.condition : undefined;
    },
    timeoutMs,
  );
}

const portalNode = async () =>
  (await send({ scheme: 'https', port: ports.https, host: 'api.am.wso2.com', ca: certs.ca.certificatePem })).answer
    ?.node;

/** Requests through NGINX one after another until stopped: which node answered each, and what failed. */
function constantTraffic() {
  const answers = new Map<string, number>();
  const failures: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const node = (await portalNode()) ?? 'no node';
        answers.set(node, (answers.get(node) ?? 0) + 1);
      } catch (error) {
        failures.push(String(error));
      }
      await sleep(50);
    }
  })();
  return {
    answers,
    failures,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

beforeAll(async () => {
  core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  namespace = await createNamespace('agent-api-cut');
  await createNginxPod(core, namespace, POD);
  for (const node of nodes) await node.start();
  dir = mkdtempSync(join(tmpdir(), 'wso2-frontend-agent-api-cut-'));
  ports = await loopbackPorts();
  certs = issueCertificates(topologyOf(frontendOn('node-1')));
  const apiServer = new URL(kubeConfig().getCurrentCluster()!.server);
  proxy = await TcpProxy.start(`127.0.${BLOCK}.10`, { host: apiServer.hostname, port: Number(apiServer.port) });
  const resource = frontendOn('node-1');
  agent = await AgentProcess.start({
    namespace,
    pod: POD,
    frontend: resource,
    secretFlags: agentObjects(resource, topologyOf(resource), loopbackLayout(ports), certs).secretFlags,
    dir: join(dir, 'nginx'),
    ports,
    kubeconfig: kubeconfigThroughProxy(),
  });
  await podReportsServed(await publish(resource));
});

afterAll(async () => {
  await agent?.stop();
  await proxy?.stop();
  for (const node of nodes) await node.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.each([
  {
    how: 'reset' as const,
    what: 'every connection reset, then nothing answered',
    from: 'node-1' as const,
    to: 'node-2' as const,
  },
  {
    // Nothing tells the agent: its watches end by client-node's inactivity timeout (30 s without a byte).
    how: 'freeze' as const,
    what: 'every connection left open and silent (half-open), nothing answered',
    from: 'node-2' as const,
    to: 'node-1' as const,
  },
])('the path to the API server cut for 20 s: $what', ({ how, from, to }) => {
  test('NGINX serves every request throughout, and the agent serves and reports the change made meanwhile by itself', async () => {
    await podReportsServed(await publish(frontendOn(from)));
    expect(await portalNode()).toBe(from);
    const master = agent.masterPid();
    const traffic = constantTraffic();
    const heldBefore = proxy.counts.held;

    proxy.cut(how);
    const cutAt = Date.now();
    // A change made on the API server while the agent cannot see it.
    const hash = await publish(frontendOn(to));
    if (how === 'reset')
      // Its watches reconnect at once, into the blackhole: held, never answered.
      await eventually('the agent to try the blackholed path', () =>
        proxy.counts.held > heldBefore ? true : undefined,
      );
    await sleep(Math.max(0, CUT_MS - (Date.now() - cutAt)));
    const duringCut = { answers: new Map(traffic.answers), failures: [...traffic.failures] };
    proxy.restore();
    const restoredAt = Date.now();

    await podReportsServed(hash, 120_000);
    const caughtUpMs = Date.now() - restoredAt;
    await eventually(`${to} to answer through NGINX`, () => (traffic.answers.get(to) ? true : undefined));
    await traffic.stop();

    // Served throughout: every request answered, by the old configuration during the cut.
    expect(duringCut.failures).toEqual([]);
    expect([...duringCut.answers.keys()]).toEqual([from]);
    expect(traffic.failures).toEqual([]);
    // Caught up by itself: the same agent process and NGINX master, no restart.
    agent.assertRunning();
    expect(agent.masterPid()).toBe(master);
    expect(await portalNode()).toBe(to);
    expect(await agent.metric(`wso2_frontend_agent_served_config_info{hash="${hash}"}`)).toBe(1);
    console.log(
      `API path cut (${how}) ${CUT_MS / 1000} s: ${duringCut.answers.get(from)} requests served during the cut, 0 failed; ` +
        `${proxy.counts.held - heldBefore} connections held unanswered; the change published during the cut reported ` +
        `served ${(caughtUpMs / 1000).toFixed(1)} s after the path came back`,
    );
  });
});

test('a connection that answers is kept, and the check asks what API Priority and Fairness never queues (GET /livez, FlowSchema probes)', async () => {
  // As a service account (a pod's identity): an administrator's requests are all exempt anyway.
  await kubectl(['create', 'serviceaccount', 'connection-check', '-n', namespace]);
  const dir = mkdtempSync(join(tmpdir(), 'wso2-frontend-connection-check-'));
  const pooled = new PooledKubeConfig();
  pooled.loadFromFile(await serviceAccountKubeconfig(namespace, 'connection-check', dir));
  const dispatched = async (flowSchema: string) =>
    sumOf(
      parseMetrics(await kubectl(['get', '--raw', '/metrics'])),
      'apiserver_flowcontrol_dispatched_requests_total',
      {
        flow_schema: flowSchema,
      },
    );
  try {
    await pooled.makeApiClient(k8s.VersionApi).getCode();
    const before = await dispatched('probes');
    expect(await pooled.checkConnections()).toBe(false);
    expect(await dispatched('probes')).toBe(before + 1);
  } finally {
    await pooled.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('on a pooled connection whose path died (half-open), a request fails after the request timeout, and the connection check replaces the connection', async () => {
  const pooled = new PooledKubeConfig(2000);
  pooled.loadFromFile(kubeconfigThroughProxy());
  const api = pooled.makeApiClient(k8s.CoreV1Api);
  try {
    await api.readNamespace({ name: namespace });
    const accepted = proxy.counts.accepted;
    proxy.cut('freeze');
    await expect(api.readNamespace({ name: namespace })).rejects.toThrow(/timeout/i);
    // It was sent on the pooled connection the path died under, not on a new one.
    expect(proxy.counts.accepted).toBe(accepted);
    proxy.restore();
    // Without the check, the next request would wait on the dead connection again.
    expect(await pooled.checkConnections()).toBe(true);
    expect((await api.readNamespace({ name: namespace })).metadata?.name).toBe(namespace);
    expect(proxy.counts.accepted).toBeGreaterThan(accepted);
  } finally {
    proxy.restore();
    await pooled.close();
  }
});
