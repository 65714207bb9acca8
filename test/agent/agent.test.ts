// The reload agent as a real process with Debian's real NGINX, against the real control plane,
// with the identity of a Pod that kwok runs: it serves what its ConfigMap and Secrets say,
// in place (the same NGINX master), confirms each hash from a new worker, reports it on the
// Pod, and never serves what NGINX rejects or what it could not write (a state directory made
// immutable with chattr, which needs root).
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import * as k8s from '@kubernetes/client-node';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { TEST_EXTRA_MAIN_CONF_ENV } from '../../src/agent/agent.js';
import { AGENT_CONTRACT, AGENT_CONTRACT_ANNOTATION } from '../../src/api/agent.js';
import {
  AgentProcess,
  agentObjects,
  createRunningNginxPod,
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
import { createNamespace, eventually, kubeConfig, kubectl } from '../support/cluster.js';
import { FakeWso2Node } from '../support/fake-wso2.js';
import { topologyOf } from '../support/frontend.js';
import { nginxName } from '../../src/render/objects.js';

const BLOCK = 61;
const POD = 'apim-single-nginx-0';
const PORTAL = 'api.am.wso2.com';

let namespace: string;
let core: k8s.CoreV1Api;
let dir: string;
let ports: LoopbackPorts;
let agent: AgentProcess;
let certs: Certificates;
const hookFile = () => join(dir, 'extra-main.conf');
const nodes = ['node-1', 'node-2'].map(
  (name, i) => new FakeWso2Node(name, `127.0.${BLOCK}.${i + 1}`, { https: [9443, 8243], http: [] }),
);

/** apim-single served by one of the fake nodes, in the test namespace. */
function frontendOn(node: 'node-1' | 'node-2', hstsMaxAgeSeconds?: number): Wso2Frontend {
  const resource = singleNodeFrontend(BLOCK, namespace, node);
  if (hstsMaxAgeSeconds !== undefined) resource.spec.nginx = { hsts: { maxAgeSeconds: hstsMaxAgeSeconds } };
  return resource;
}

/** Writes the frontend's Secrets, then its ConfigMap (the operator's order); returns the new hash. */
const publish = (resource: Wso2Frontend, layout = loopbackLayout(ports)) =>
  publishAgentObjects(core, resource, layout, certs);

async function podReportsServed(hash: string, reason = 'Served') {
  try {
    return await eventually(
      `the Pod to report that it serves ${hash} (${reason})`,
      async () => {
        agent.assertRunning();
        const served = await servedCondition(core, namespace, POD);
        return served?.hash === hash && served.condition.reason === reason ? served.condition : undefined;
      },
      30_000,
    );
  } catch (error) {
    const last = await servedCondition(core, namespace, POD).catch(() => undefined);
    throw new Error(
      `${(error as Error).message}\nlast condition: ${JSON.stringify(last?.condition)}\nagent log:\n${agent.log()}`,
    );
  }
}

const portal = (path = '/') =>
  send({ scheme: 'https', port: ports.https, host: PORTAL, path, ca: certs.ca.certificatePem });

/** The SHA-256 fingerprint of the certificate NGINX presents for the portal host. */
function presentedCertificate(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port: ports.https, servername: PORTAL, ca: certs.ca.certificatePem },
      () => {
        resolve(socket.getPeerCertificate().fingerprint256);
        socket.end();
      },
    );
    socket.once('error', reject);
  });
}

const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256;

beforeAll(async () => {
  namespace = await createNamespace('agent');
  core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  await createRunningNginxPod(core, namespace, POD);
  for (const node of nodes) await node.start();
  dir = mkdtempSync(join(tmpdir(), 'wso2-frontend-agent-'));
  ports = await loopbackPorts();
  const resource = frontendOn('node-1');
  certs = issueCertificates(topologyOf(resource));
  await publish(resource);
  agent = await AgentProcess.start({
    namespace,
    pod: POD,
    frontend: resource,
    secretFlags: agentObjects(resource, topologyOf(resource), loopbackLayout(ports), certs).secretFlags,
    dir: join(dir, 'nginx'),
    ports,
    env: { [TEST_EXTRA_MAIN_CONF_ENV]: hookFile() },
    args: ['--confirm-timeout-ms', '3000'],
  });
});

afterAll(async () => {
  await agent?.stop();
  for (const node of nodes) await node.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('serves the configuration it watches and reports its hash on its own Pod', async () => {
  const hash = await publish(frontendOn('node-1'));
  const condition = await podReportsServed(hash);
  expect(condition.status).toBe('True');
  expect(condition.message).toBe(`serving ${hash}`);

  const response = await portal('/publisher');
  expect(response.status).toBe(200);
  expect(response.answer?.node).toBe('node-1');
  const local = await fetch(`http://127.0.0.1:${ports.health}/config-hash`);
  expect((await local.text()).trim()).toBe(hash);
  expect(await agent.metric(`wso2_frontend_agent_served_config_info{hash="${hash}"}`)).toBe(1);
  expect(await agent.metric('wso2_frontend_agent_reloads_total{result="success"}')).toBeGreaterThanOrEqual(1);
});

test('reports the contract it speaks on its own Pod, with its report (the operator checks it)', async () => {
  const hash = await publish(frontendOn('node-1'));
  await podReportsServed(hash);
  const pod = await core.readNamespacedPod({ name: POD, namespace });
  expect(pod.metadata?.annotations?.[AGENT_CONTRACT_ANNOTATION]).toBe(AGENT_CONTRACT);
});

test('a configuration change is served by new workers of the same NGINX master', async () => {
  await podReportsServed(await publish(frontendOn('node-1')));
  const master = agent.masterPid();
  expect(master).toBeDefined();

  const hash = await publish(frontendOn('node-2'));
  await podReportsServed(hash);

  expect((await portal('/devportal')).answer?.node).toBe('node-2');
  expect(agent.masterPid()).toBe(master);
});

test('a rotated certificate is served once its Secret and the ConfigMap agree', async () => {
  const resource = frontendOn('node-2');
  await podReportsServed(await publish(resource));
  const before = await presentedCertificate();

  certs = issueCertificates(topologyOf(resource), certs.ca);
  const rotated = fingerprintOf(certs.certificates[0]!.data['tls.crt']);
  expect(rotated).not.toBe(before);
  const hash = await publish(resource);
  await podReportsServed(hash);

  expect(await presentedCertificate()).toBe(rotated);
  expect((await portal()).status).toBe(200);
});

test('a burst of changes is served together, ending on the last one', async () => {
  await podReportsServed(await publish(frontendOn('node-2')));
  const reloadsBefore = await agent.metric('wso2_frontend_agent_reloads_total{result="success"}');

  // Ten different configurations, written back to back.
  let last = '';
  for (let i = 1; i <= 10; i++) last = await publish(frontendOn(i % 2 === 0 ? 'node-2' : 'node-1', 1000 + i));
  await podReportsServed(last);
  const response = await portal();
  expect(response.answer?.node).toBe('node-2');
  expect(response.headers['strict-transport-security']).toBe('max-age=1010');

  const reloads = (await agent.metric('wso2_frontend_agent_reloads_total{result="success"}')) - reloadsBefore;
  expect(reloads).toBeGreaterThanOrEqual(1);
  expect(reloads).toBeLessThan(10);
});

test('a configuration nginx -t rejects is not served, is reported, and recovers once fixed', async () => {
  const good = await publish(frontendOn('node-2'));
  await podReportsServed(good);
  const master = agent.masterPid();

  writeFileSync(hookFile(), 'no_such_directive on;');
  const bad = await publish(frontendOn('node-1'));
  const condition = await podReportsServed(good, 'ReloadFailed');
  expect(condition.status).toBe('True');
  expect(condition.message).toContain(`configuration ${bad} rejected by nginx -t`);
  expect(condition.message).toContain('unknown directive "no_such_directive"');
  expect((await portal()).answer?.node).toBe('node-2');
  expect(await agent.metric('wso2_frontend_agent_reloads_total{result="invalid"}')).toBeGreaterThanOrEqual(1);

  rmSync(hookFile());
  await podReportsServed(bad);
  expect((await portal()).answer?.node).toBe('node-1');
  expect(agent.masterPid()).toBe(master);
});

test('a watch event while a failed configuration waits for its retry does not cancel the retry', async () => {
  const good = await publish(frontendOn('node-2'));
  await podReportsServed(good);
  writeFileSync(hookFile(), 'no_such_directive on;');
  const resource = frontendOn('node-1');
  const bad = await publish(resource);
  await podReportsServed(good, 'ReloadFailed');
  // The ConfigMap touched without a change of what it holds: the agent syncs, finds the same
  // failed configuration and leaves it to its retry (which a sync used to cancel).
  const logged = () => agent.log().split('configuration failed before; retried at its time').length - 1;
  const before = logged();
  await kubectl([
    'annotate',
    '--overwrite',
    'configmap',
    nginxName(resource),
    '-n',
    namespace,
    `example.com/touched=${Date.now()}`,
  ]);
  await eventually('the agent to see the touch', () => (logged() > before ? true : undefined));
  rmSync(hookFile());
  // Nothing else changes from here on: only the retry can serve it.
  await podReportsServed(bad);
  expect((await portal()).answer?.node).toBe('node-1');
});

test('a reload NGINX fails after nginx -t passed keeps the old workers serving, and is reported', async () => {
  const good = await publish(frontendOn('node-1'));
  await podReportsServed(good);
  const master = agent.masterPid();
  // A port another process holds: nginx -t does not bind, the master's reload does and fails.
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const taken = (blocker.address() as { port: number }).port;
  const moved = { ...ports, http: taken };
  try {
    const bad = await publish(frontendOn('node-2'), loopbackLayout(moved));
    const condition = await podReportsServed(good, 'ReloadFailed');
    expect(condition.message).toContain(`configuration ${bad} not taken by NGINX on reload`);
    expect(condition.message).toMatch(/bind\(\) to 127\.0\.0\.1:\d+ failed/);
    expect((await portal()).answer?.node).toBe('node-1');
    expect(agent.masterPid()).toBe(master);
    expect(await agent.metric('wso2_frontend_agent_reloads_total{result="failed"}')).toBeGreaterThanOrEqual(1);
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
  // Back to a configuration NGINX can take: served again, by the same master.
  const fixed = await publish(frontendOn('node-2'));
  await podReportsServed(fixed);
  expect((await portal()).answer?.node).toBe('node-2');
  expect(agent.masterPid()).toBe(master);
});

test('a state directory the agent cannot write keeps the last good configuration serving, is reported, and recovers', async () => {
  const good = await publish(frontendOn('node-1'));
  await podReportsServed(good);
  const master = agent.masterPid();
  // Immutable: not even root may create a configuration in it (a read-only or full volume alike).
  const versions = join(dir, 'nginx', 'versions');
  execFileSync('chattr', ['+i', versions]);
  let next: string;
  try {
    next = await publish(frontendOn('node-2'));
    const condition = await podReportsServed(good, 'ReloadFailed');
    expect(condition.status).toBe('True');
    expect(condition.message).toContain(`serving ${good}; configuration ${next} could not be written`);
    expect(condition.message).toContain('operation not permitted');
    expect((await portal()).answer?.node).toBe('node-1');
    expect(agent.masterPid()).toBe(master);
  } finally {
    execFileSync('chattr', ['-i', versions]);
  }
  // Retried with backoff: served once the directory takes it, by the same master.
  await podReportsServed(next);
  expect((await portal()).answer?.node).toBe('node-2');
  expect(agent.masterPid()).toBe(master);
});
