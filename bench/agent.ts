// The reload agent with real NGINX on the local control plane (kwok runs the Pod whose identity
// the agent takes): from an API write to the first response through NGINX that shows it (a
// ConfigMap edit, as a spec change or an endpoint change makes, and a certificate rotation),
// requests under constant load across reloads (keep-alive clients and new connections), the
// NGINX worker count back at its steady value, a WebSocket across a reload, and the reload
// time itself (signal -> a new worker answers with the new hash). Then, with the operator in the
// loop: an EndpointSlice change -> the first response from the new endpoint through NGINX, the
// operator rendering it and the agent serving it (test/support/served-frontend.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import * as k8s from '@kubernetes/client-node';
import WebSocket from 'ws';
import { CONFIG_HASH_ANNOTATION } from '../src/api/agent.js';
import type { Wso2Frontend } from '../src/api/schema.js';
import { installCrd } from '../src/cli/start.js';
import { LocalControlPlane, REAL_AGENTS_LABEL } from '../src/localcluster/control-plane.js';
import { LABEL, OPERATOR_NAME } from '../src/render/ownership.js';
import {
  AgentProcess,
  agentObjects,
  createNginxPod,
  issueCertificates,
  loopbackLayout,
  loopbackPorts,
  put,
  servedCondition,
  type Certificates,
  type LoopbackPorts,
} from '../test/support/agent.js';
import { send } from '../test/support/client.js';
import { FakeWso2Node } from '../test/support/fake-wso2.js';
import { loadUntilStopped } from '../test/support/load.js';
import { onLoopback, topologyOf } from '../test/support/frontend.js';
import { OperatorProcess } from '../test/support/operator-process.js';
import { ServedFrontend } from '../test/support/served-frontend.js';
import type { AgentFigures } from './results.js';
import { percentile } from './stats.js';

const CHANGES = Number(process.env.BENCH_AGENT_CHANGES ?? 20);
const BLOCK = 71;
const NAMESPACE = 'bench-agent';
const POD = 'apim-single-nginx-0';
const HOST = 'api.am.wso2.com';

function frontendOn(node: 'node-1' | 'node-2'): Wso2Frontend {
  const resource = onLoopback(
    {
      apiVersion: 'wso2-frontend.dev/v1alpha1',
      kind: 'Wso2Frontend',
      metadata: { name: 'apim-single', namespace: NAMESPACE },
      spec: {
        product: 'api-manager',
        pattern: 'apim-single',
        backends: { external: { nodes: [{ name: node, address: '0.0.0.0', roles: ['all-in-one'] }] } },
      },
    },
    BLOCK,
  );
  resource.spec.backends.external!.nodes[0]!.address = `127.0.${BLOCK}.${node === 'node-1' ? 1 : 2}`;
  return resource;
}

interface Setup {
  core: k8s.CoreV1Api;
  ports: LoopbackPorts;
  certs: Certificates;
  agent: AgentProcess;
}

async function publish(s: Setup, resource: Wso2Frontend): Promise<string> {
  const objects = agentObjects(resource, topologyOf(resource), loopbackLayout(s.ports), s.certs);
  for (const secret of objects.secrets) await put(s.core, secret);
  await put(s.core, objects.configMap);
  return objects.hash;
}

/** One request through NGINX on a new connection: the node that answered, or the error. */
function portalNode(s: Setup, agent: Agent | false = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: s.ports.https,
        path: '/',
        servername: HOST,
        headers: { host: `${HOST}:${s.ports.https}` },
        ca: s.certs.ca.certificatePem,
        agent,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve((JSON.parse(body) as { node: string }).node)
            : reject(new Error(`status ${res.statusCode}`)),
        );
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function presentedCertificate(s: Setup): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port: s.ports.https, servername: HOST, ca: s.certs.ca.certificatePem },
      () => {
        resolve(socket.getPeerCertificate().fingerprint256);
        socket.end();
      },
    );
    socket.once('error', reject);
  });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

/** Prints p50, p99 and max of the samples, and keeps p50 and p99 under `name` for --json. */
const summary = (latencies: AgentFigures['latencies'], name: string, samples: number[], unit = 'changes') => {
  const sorted = [...samples].sort((a, b) => a - b);
  const [p50, p99] = [Math.round(percentile(sorted, 50)), Math.round(percentile(sorted, 99))];
  latencies.push({ name, p50Ms: p50, p99Ms: p99, count: samples.length });
  return `p50 ${p50} ms, p99 ${p99} ms, max ${sorted.at(-1)!.toFixed(0)} ms (${samples.length} ${unit})`;
};

/** Constant load until stopped: `keepAlive` clients on kept-alive connections and `fresh` clients opening a connection per request. */
const load = (s: Setup, keepAlive: number, fresh: number) =>
  loadUntilStopped((agent) => portalNode(s, agent), keepAlive, fresh);

/** Reload times the agent logged ("serving configuration" lines carry reloadMs). */
function loggedReloadTimes(logFile: string): number[] {
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((line) => line.includes('"serving configuration"'))
    .map((line) => (JSON.parse(line) as { reloadMs: number }).reloadMs);
}

export async function benchAgent(): Promise<AgentFigures> {
  const latencies: AgentFigures['latencies'] = [];
  console.log('\nReload agent (real NGINX, agent process, local control plane):');
  const plane = await LocalControlPlane.start();
  const dir = mkdtempSync(join(tmpdir(), 'wso2-frontend-bench-agent-'));
  const nodes = ['node-1', 'node-2'].map(
    (name, i) => new FakeWso2Node(name, `127.0.${BLOCK}.${i + 1}`, { https: [9443, 8243], http: [] }),
  );
  let agent: AgentProcess | undefined;
  try {
    const core = plane.kubeConfig().makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
    await createNginxPod(core, NAMESPACE, POD);
    for (const node of nodes) await node.start();
    const ports = await loopbackPorts();
    const certs = issueCertificates(topologyOf(frontendOn('node-1')));
    const first = frontendOn('node-1');
    agent = await AgentProcess.start({
      namespace: NAMESPACE,
      pod: POD,
      frontend: first,
      secretFlags: agentObjects(first, topologyOf(first), loopbackLayout(ports), certs).secretFlags,
      dir: join(dir, 'nginx'),
      ports,
      kubeconfig: plane.kubeconfigPath,
    });
    const s: Setup = { core, ports, certs, agent };
    const firstHash = await publish(s, first);
    await until('the first configuration to be served', async () => {
      const served = await servedCondition(core, NAMESPACE, POD);
      return served?.hash === firstHash;
    });
    const master = agent.masterPid();
    const steadyWorkers = await agent.metric('wso2_frontend_agent_nginx_worker_processes');

    // Change -> served, a ConfigMap edit: the upstream moves to the other node.
    const edits: number[] = [];
    for (let i = 0; i < CHANGES; i++) {
      const node = i % 2 === 0 ? 'node-2' : 'node-1';
      const started = performance.now();
      await publish(s, frontendOn(node));
      await until(`${node} to answer`, async () => (await portalNode(s)) === node);
      edits.push(performance.now() - started);
    }
    console.log(
      `  configuration edit -> served through NGINX: ${summary(latencies, 'ConfigMap edit to served', edits)}; target p50 <= 500 ms, p99 <= 1.5 s`,
    );

    // Change -> served, a certificate rotation (its Secret, then the ConfigMap naming it), certificates issued beforehand.
    const current = frontendOn(CHANGES % 2 === 0 ? 'node-1' : 'node-2');
    const rotations = Array.from({ length: CHANGES }, () => issueCertificates(topologyOf(current), certs.ca));
    const rotated: number[] = [];
    for (const next of rotations) {
      s.certs = next;
      const expected = new X509Certificate(next.certificates[0]!.data['tls.crt']).fingerprint256;
      const started = performance.now();
      await publish(s, current);
      await until('the new certificate to be presented', async () => (await presentedCertificate(s)) === expected);
      rotated.push(performance.now() - started);
    }
    console.log(
      `  certificate rotation -> presented by NGINX:  ${summary(latencies, 'certificate rotation to presented', rotated)}`,
    );

    // Constant load across reloads.
    const traffic = load(s, 8, 4);
    await sleep(1000);
    let peakWorkers = steadyWorkers;
    for (let i = 0; i < CHANGES; i++) {
      const node = i % 2 === 0 ? 'node-2' : 'node-1';
      await publish(s, frontendOn(node));
      await until(`${node} to answer`, async () => (await portalNode(s)) === node);
      peakWorkers = Math.max(peakWorkers, await agent.metric('wso2_frontend_agent_nginx_worker_processes'));
    }
    await sleep(1000);
    await traffic.stop();
    const { ok, failed, errors } = traffic.counts;
    console.log(
      `  under load (8 keep-alive + 4 new-connection clients), ${CHANGES} reloads: ${ok} requests ok, ${failed} failed` +
        (errors.size ? ` (${[...errors].map(([e, n]) => `${n}x ${e}`).join(', ')})` : '') +
        '; target 0 failed',
    );
    const settleStarted = performance.now();
    await until(
      'the worker count to return to its steady value',
      async () => (await agent!.metric('wso2_frontend_agent_nginx_worker_processes')) === steadyWorkers,
      90_000,
    );
    console.log(
      `  NGINX workers: ${steadyWorkers} steady, at most ${peakWorkers} during the reloads, back to ${steadyWorkers} ${((performance.now() - settleStarted) / 1000).toFixed(1)} s after the load stopped`,
    );

    // A WebSocket opened before a reload.
    const ws = new WebSocket(`wss://127.0.0.1:${ports.https}/ws`, {
      headers: { host: `${HOST}:${ports.https}` },
      ca: s.certs.ca.certificatePem,
      servername: HOST,
    } as WebSocket.ClientOptions);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const echo = (message: string) =>
      new Promise<string>((resolve) => {
        ws.once('message', (data) => resolve((data as Buffer).toString()));
        ws.send(message);
      });
    const before = await echo('before');
    const node = (await portalNode(s)) === 'node-1' ? 'node-2' : 'node-1';
    await publish(s, frontendOn(node));
    await until(`${node} to answer`, async () => (await portalNode(s)) === node);
    const after = await echo('after');
    ws.close();
    console.log(
      `  WebSocket opened before a reload: echoed "${before}" before and "${after}" after it (kept up to worker_shutdown_timeout)`,
    );

    const reloads = loggedReloadTimes(join(dir, 'agent.log'));
    console.log(
      `  reload (SIGHUP -> new worker answers with the new hash): ${summary(latencies, 'reload (SIGHUP to new workers answering)', reloads, 'reloads')}; anchors: NGINX Ingress Controller "usually at least 200 ms", NGINX Gateway Fabric 101-244 ms averages`,
    );
    console.log(`  NGINX master PID unchanged across all of it: ${agent.masterPid() === master}`);
    await agent.stop();
    agent = undefined;
    await benchEndpointSlices(plane, join(dir, 'endpoints'), latencies);
  } finally {
    await agent?.stop();
    for (const node of nodes) await node.stop();
    await plane.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return { latencies };
}

/**
 * EndpointSlice change -> served: the operator process and a frontend with managed WSO2 pods; an
 * extra EndpointSlice of the all-in-one role (as the EndpointSlice controller writes one when a
 * pod becomes ready) switches its one endpoint between two addresses, each answered by a fake node
 * of its own; timed from the API write to the first gateway response from the new address.
 */
async function benchEndpointSlices(
  plane: LocalControlPlane,
  dir: string,
  latencies: AgentFigures['latencies'],
): Promise<void> {
  const NAME = 'slices';
  const NS = 'bench-endpoints';
  const GATEWAY = 'gw.am.wso2.com';
  const kubeConfig = plane.kubeConfig();
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const discovery = kubeConfig.makeApiClient(k8s.DiscoveryV1Api);
  await installCrd(kubeConfig, 'bench');
  // Real agents report on this namespace's NGINX pods: the local control plane's stand-in stays out.
  await core.createNamespace({ body: { metadata: { name: NS, labels: { [REAL_AGENTS_LABEL]: 'true' } } } });
  const nodes = ['node-1', 'node-2', 'node-3'].map(
    (name, i) => new FakeWso2Node(name, `127.0.${BLOCK + 1}.${i + 1}`, { https: [9443, 8243], http: [8280] }),
  );
  for (const node of nodes) await node.start();
  const operator = await OperatorProcess.start(['--namespace', NS, '--health-port', '0'], {
    kubeconfig: plane.kubeconfigPath,
  });
  let frontend: ServedFrontend | undefined;
  try {
    const resource: Wso2Frontend = {
      apiVersion: 'wso2-frontend.dev/v1alpha1',
      kind: 'Wso2Frontend',
      metadata: { name: NAME, namespace: NS },
      spec: {
        product: 'api-manager',
        pattern: 'apim-single',
        backends: { managed: {} },
        nginx: { replicas: 1, service: { type: 'ClusterIP' } },
      },
    };
    await kubeConfig.makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({
      group: 'wso2-frontend.dev',
      version: 'v1alpha1',
      namespace: NS,
      plural: 'wso2frontends',
      body: resource,
    });
    frontend = await ServedFrontend.start({
      kubeConfig,
      resource,
      nodes,
      dir,
      wso2Pods: 1,
      kubeconfig: plane.kubeconfigPath,
    });
    const caSecret = await core.readNamespacedSecret({ name: `${NAME}-tls-ca`, namespace: NS });
    const ca = Buffer.from(caSecret.data!['tls.crt']!, 'base64').toString();
    const served = frontend;
    const gateway = async () =>
      (await send({ scheme: 'https', port: served.https, host: GATEWAY, path: '/', ca })).answer?.node;
    await until(
      'the first configuration to be served',
      async () => {
        const configMap = await core.readNamespacedConfigMap({ name: `${NAME}-nginx`, namespace: NS });
        const pod = await core.readNamespacedPodStatus({ name: served.nginxPod.metadata!.name!, namespace: NS });
        const report = pod.status?.conditions?.find((c) => c.type === 'wso2-frontend.dev/ConfigurationServed');
        return !!report?.message?.includes(configMap.metadata!.annotations![CONFIG_HASH_ANNOTATION]!);
      },
      120_000,
    );
    const master = frontend.agent.masterPid();

    const addresses = ['10.244.250.1', '10.244.250.2'];
    const expected = addresses.map((a) => frontend!.mapAddress(a).name);
    const slice = (address: string): k8s.V1EndpointSlice => ({
      metadata: {
        name: `${NAME}-all-in-one-bench`,
        namespace: NS,
        labels: {
          [LABEL.managedBy]: OPERATOR_NAME,
          [LABEL.instance]: NAME,
          [LABEL.component]: 'all-in-one',
          'kubernetes.io/service-name': `${NAME}-all-in-one`,
        },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: [address], conditions: { ready: true } }],
    });
    const changes: number[] = [];
    for (let i = 0; i < CHANGES + 1; i++) {
      const address = addresses[i % 2]!;
      const body = slice(address);
      const started = performance.now();
      if (i === 0) await discovery.createNamespacedEndpointSlice({ namespace: NS, body });
      else await discovery.replaceNamespacedEndpointSlice({ name: body.metadata!.name!, namespace: NS, body });
      await until(`${expected[i % 2]} to answer`, async () => (await gateway()) === expected[i % 2]);
      // The first one also starts the informers' and NGINX's first use of the slice: not counted.
      if (i > 0) changes.push(performance.now() - started);
    }
    console.log(
      `  EndpointSlice change -> first response from the new endpoint (operator, agent, NGINX): ${summary(latencies, 'EndpointSlice change to first response', changes)}; target p50 <= 500 ms, p99 <= 1.5 s`,
    );
    console.log(`  NGINX master PID unchanged across them: ${frontend.agent.masterPid() === master}`);
  } finally {
    await frontend?.stop();
    await operator.stop();
    for (const node of nodes) await node.stop();
  }
}
