// The site probes of the reload agent, all real: the agent process with the ServiceAccount token
// and Role the operator renders, Debian's NGINX on the rendered configuration (its probe plan
// and loopback probe listener included), two fake WSO2 nodes, and the Pod on the local control
// plane whose annotation and SitesServing condition the agent writes. Each failure the issue
// names is made for real, read back from the Pod, and recovered from.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import { PROBE_USER_AGENT } from '../../src/agent/probe.js';
import {
  parseSiteProbeReport,
  PROBE_USER_AGENT_PREFIX,
  SITE_PROBES_ANNOTATION,
  SITES_SERVING_CONDITION,
  type SiteProbe,
  type SiteProbeReport,
} from '../../src/api/probe.js';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { freePort } from '../../src/localcluster/ports.js';
import type { NginxLayout } from '../../src/render/nginx/config.js';
import { agentAccess } from '../../src/render/agent.js';
import { nginxName } from '../../src/render/objects.js';
import { issueServerCertificate, tlsSecretData } from '../../src/tls/issuer.js';
import {
  AgentProcess,
  agentObjects,
  createRunningNginxPod,
  issueCertificates,
  put,
  type Certificates,
  type LoopbackPorts,
} from '../support/agent.js';
import { createNamespace, eventually, kubeConfig, kubectl, serviceAccountKubeconfig } from '../support/cluster.js';
import { FakeWso2Node } from '../support/fake-wso2.js';
import { onLoopback, topologyOf } from '../support/frontend.js';
import { example } from '../support/resources.js';

const BLOCK = 67;
const POD = 'probes-nginx-0';
const PORTAL = 'api.am.wso2.com';
const USER_SECRET = 'user-tls';

let namespace: string;
let core: k8s.CoreV1Api;
let dir: string;
let ports: LoopbackPorts & { probe: number };
let agent: AgentProcess;
let certs: Certificates;
let resource: Wso2Frontend;
const nodes = ['node-1', 'node-2'].map(
  (name, i) => new FakeWso2Node(name, `127.0.${BLOCK}.${i + 1}`, { https: [9443, 8243], http: [] }),
);

const layout = (): NginxLayout => ({
  listen: { address: '127.0.0.1', ...ports },
  publicPorts: { http: ports.http, https: ports.https },
});

/** Writes the Secrets, then the ConfigMap (the operator's order). */
async function publish(certificates = certs): Promise<void> {
  const objects = agentObjects(resource, topologyOf(resource), layout(), certificates);
  for (const secret of objects.secrets) await put(core, secret);
  await put(core, objects.configMap);
}

interface PodReport {
  report: SiteProbeReport;
  condition: k8s.V1PodCondition;
  portal: SiteProbe;
}

async function podReport(): Promise<PodReport | undefined> {
  const pod = await core.readNamespacedPod({ name: POD, namespace });
  const report = parseSiteProbeReport(pod.metadata?.annotations?.[SITE_PROBES_ANNOTATION]);
  const condition = pod.status?.conditions?.find((c) => c.type === SITES_SERVING_CONDITION);
  const portal = report?.sites.find((s) => s.host === PORTAL);
  return report && condition && portal ? { report, condition, portal } : undefined;
}

/** Waits until the Pod's report on the portal matches, then returns it. */
async function portalReported(what: string, matches: (portal: SiteProbe) => boolean): Promise<PodReport> {
  try {
    return await eventually(
      `the Pod to report that ${what}`,
      async () => {
        agent.assertRunning();
        const current = await podReport();
        return current && matches(current.portal) ? current : undefined;
      },
      30_000,
    );
  } catch (error) {
    const last = await podReport().catch(() => undefined);
    throw new Error(`${(error as Error).message}\nlast report: ${JSON.stringify(last)}\nagent log:\n${agent.log()}`);
  }
}

const portalProbes = (result: 'success' | 'failure') =>
  agent.metric(`wso2_frontend_agent_probes_total{site="${PORTAL}",result="${result}"}`);

const allServing = (p: SiteProbe) => p.serving && p.nodes.answering === 2 && p.nodes.total === 2;

beforeAll(async () => {
  namespace = await createNamespace('agent-probes');
  core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  dir = mkdtempSync(join(tmpdir(), 'wso2-frontend-agent-probes-'));
  resource = onLoopback(example('apim-active-active.yaml'), BLOCK);
  resource.metadata = { name: 'probes', namespace };
  resource.spec.tls = { mode: 'secret', secretName: USER_SECRET };
  // Fast probes for the test: every 3 s, 2 s to answer (1 s timed out on a busy machine, and three
  // such timeouts flipped a site the test had not touched), down after 3 failures.
  resource.spec.probes = { intervalSeconds: 3, timeoutSeconds: 2, failureThreshold: 3, successThreshold: 1 };
  const topology = topologyOf(resource);
  await kubectl(
    ['apply', '-f', '-'],
    agentAccess(resource, topology)
      .map((o) => yaml.dump(o))
      .join('---\n'),
  );
  await createRunningNginxPod(core, namespace, POD);
  for (const node of nodes) await node.start();
  ports = { http: await freePort(), https: await freePort(), health: await freePort(), probe: await freePort() };
  certs = issueCertificates(topology);
  const objects = agentObjects(resource, topology, layout(), certs);
  await publish();
  agent = await AgentProcess.start({
    namespace,
    pod: POD,
    frontend: resource,
    secretFlags: objects.secretFlags,
    dir: join(dir, 'state'),
    ports,
    // Only what the operator grants the agent: its ServiceAccount's token and Role.
    kubeconfig: await serviceAccountKubeconfig(namespace, nginxName(resource), dir),
  });
});

afterAll(async () => {
  await agent?.stop();
  for (const node of nodes) await node.stop();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(async () => {
  // Every test leaves both nodes up and serving as they should.
  for (const node of nodes) {
    node.redirectEverythingTo = undefined;
    await node.start().catch(() => undefined);
  }
});

test('with every node up, each site serves and 2/2 nodes answer, on the annotation and the condition', async () => {
  const { report, condition } = await portalReported('the portal serves with 2/2 nodes', allServing);
  expect(report.sites.map((s) => [s.host, s.serving, s.nodes])).toEqual([
    [PORTAL, true, { answering: 2, total: 2 }],
    ['gw.am.wso2.com', true, { answering: 2, total: 2 }],
  ]);
  expect(report.sites[0]!.p50Ms).toBeGreaterThanOrEqual(0);
  expect(condition).toMatchObject({
    status: 'True',
    reason: 'SitesServing',
    message: `${PORTAL}: 2/2 nodes answer; gw.am.wso2.com: 2/2 nodes answer`,
  });
  expect(await agent.metric(`wso2_frontend_agent_site_serving{site="${PORTAL}"}`)).toBe(1);
  expect(await agent.metric(`wso2_frontend_agent_node_probe_up{site="${PORTAL}",node="node-2"}`)).toBe(1);
});

test('probes say what they are, ask for the product’s health path and send no cookie back', async () => {
  await portalReported('the portal serves with 2/2 nodes', allServing);
  const probes = await portalProbes('success');
  await eventually('two more probes', async () => ((await portalProbes('success')) >= probes + 2 ? true : undefined));
  const seen = nodes.map((n) => n.lastRequest!).filter((r) => r.path.startsWith('/services/Version'));
  expect(seen.length).toBeGreaterThan(0);
  for (const request of seen) {
    expect(request.headers['user-agent']).toBe(PROBE_USER_AGENT);
    expect(request.headers['user-agent']!.startsWith(PROBE_USER_AGENT_PREFIX)).toBe(true);
    expect(request.headers.cookie).toBeUndefined();
    expect(request.headers['x-forwarded-proto']).toBe('https');
  }
});

test('a healthy site is not rewritten on every probe', async () => {
  const { report } = await portalReported('the portal serves with 2/2 nodes', allServing);
  const probes = await portalProbes('success');
  await eventually('three more probes', async () => ((await portalProbes('success')) >= probes + 3 ? true : undefined));
  expect((await podReport())!.report.probedAt).toBe(report.probedAt);
});

test('one node stopped: the site still serves, 1/2 nodes answer, and the error names the node', async () => {
  await portalReported('the portal serves with 2/2 nodes', allServing);
  await nodes[1]!.stop();
  const { portal, condition } = await portalReported('1/2 nodes answer', (p) => p.nodes.answering === 1);
  expect(portal).toMatchObject({ serving: true, nodes: { answering: 1, total: 2 } });
  expect(portal.error).toMatch(/^node node-2: 502 from NGINX: no WSO2 node answered/);
  expect(condition.status).toBe('True');
  expect(await agent.metric(`wso2_frontend_agent_node_probe_up{site="${PORTAL}",node="node-2"}`)).toBe(0);
  await nodes[1]!.start();
  await portalReported('2/2 nodes answer again', allServing);
});

test('every node stopped: not serving, and the reason names NGINX’s 502; then it recovers', async () => {
  await portalReported('the portal serves with 2/2 nodes', allServing);
  const serving = (await podReport())!.condition;
  for (const node of nodes) await node.stop();
  const { portal, condition } = await portalReported('the portal is not serving', (p) => !p.serving);
  expect(portal).toMatchObject({
    serving: false,
    nodes: { answering: 0, total: 2 },
    error: '502 from NGINX: no WSO2 node answered (GET /services/Version)',
  });
  expect(condition).toMatchObject({ status: 'False', reason: 'SitesNotServing' });
  expect(condition.message).toContain(`${PORTAL}: 502 from NGINX: no WSO2 node answered`);
  expect(condition.lastTransitionTime).not.toEqual(serving.lastTransitionTime);
  for (const node of nodes) await node.start();
  const back = await portalReported('the portal serves again', allServing);
  expect(back.portal.error).toBeUndefined();
  // Every site back (the gateway's nodes may come back later: NGINX's fail_timeout).
  await eventually('SitesServing True again', async () =>
    (await podReport())?.condition.status === 'True' ? true : undefined,
  );
});

test('one failed probe does not flip a serving site', async () => {
  const before = await portalReported('the portal serves with 2/2 nodes', allServing);
  // The test before stopped the nodes, and NGINX may still hold one failed (fail_timeout 10 s),
  // failing a probe with its 502: count from three successful probes in a row.
  let base = { failures: await portalProbes('failure'), successes: await portalProbes('success') };
  const failures = await eventually(
    'three successful probes in a row',
    async () => {
      const [f, s] = [await portalProbes('failure'), await portalProbes('success')];
      if (f !== base.failures) base = { failures: f, successes: s };
      else if (s >= base.successes + 3) return f;
      return undefined;
    },
    60_000,
  );
  // A failure NGINX itself does not count (a redirect off the public host): stopping the nodes
  // would make NGINX hold them failed for fail_timeout (10 s), longer than three probes. A failure
  // of known length, whatever the test's own pace: each node redirects its next two requests on
  // the portal's port. A round sends one to each node (the node probes) and the site probe to one
  // of them, so the first round fails and at most the next one too; then every request is answered.
  // Armed right after a round ends (its portal result counted; the next starts 3 s later), so no
  // round is in flight whose node probes would use the redirects up before its site probe.
  const counted = await portalProbes('success');
  const deadline = Date.now() + 10_000;
  while ((await portalProbes('success')) === counted) {
    if (Date.now() > deadline) throw new Error('no probe round ended within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  for (const node of nodes)
    node.redirectNext = { port: 9443, count: 2, location: 'https://localhost:9443/carbon/admin/login.jsp' };
  await eventually(
    'a failed probe',
    async () => ((await portalProbes('failure')) > failures ? true : undefined),
    10_000,
  );
  // The next probes succeed and the site never stopped serving.
  await eventually('the redirects used up', () => (nodes.every((n) => n.redirectNext!.count === 0) ? true : undefined));
  const successes = await portalProbes('success');
  await eventually('a successful probe', async () => ((await portalProbes('success')) > successes ? true : undefined));
  // Fewer consecutive failures than the threshold (3).
  expect(await portalProbes('failure')).toBeLessThan(failures + 3);
  const after = (await podReport())!;
  expect(after.portal.serving).toBe(true);
  // No site flipped meanwhile (the condition names any that did).
  expect(after.condition).toMatchObject({ status: 'True', lastTransitionTime: before.condition.lastTransitionTime });
});

test('nodes that redirect to their own internal URL: not serving, "redirect leaves the public host"; then it recovers', async () => {
  await portalReported('the portal serves with 2/2 nodes', allServing);
  for (const node of nodes) node.redirectEverythingTo = 'https://localhost:9443/carbon/admin/login.jsp';
  // (Waiting for this reason: NGINX may still hold the nodes as failed after the tests before, max_fails.)
  const { portal } = await portalReported(
    'the portal is not serving because of the redirect',
    (p) => !p.serving && (p.error ?? '').startsWith('redirect'),
  );
  expect(portal.error).toMatch(/^redirect leaves the public host: https:\/\/localhost:9443\/carbon\/admin\/login.jsp/);
  expect(portal.nodes.answering).toBe(0);
  for (const node of nodes) node.redirectEverythingTo = undefined;
  await portalReported('the portal serves again', allServing);
});

test('a user Secret whose certificate is for another host: not serving, the reason names the names; then it recovers', async () => {
  await portalReported('the portal serves with 2/2 nodes', allServing);
  const wrong: Certificates = {
    ca: certs.ca,
    certificates: certs.certificates.map((c) => ({
      plan: c.plan,
      data: tlsSecretData(issueServerCertificate(certs.ca, ['wrong.example.com'], { now: new Date() }), certs.ca),
    })),
  };
  await publish(wrong);
  const { portal, condition } = await portalReported(
    'the portal is not serving because of the certificate',
    (p) => !p.serving && (p.error ?? '').startsWith('certificate'),
  );
  expect(portal.error).toBe(`certificate names DNS:wrong.example.com, not ${PORTAL}`);
  // The nodes themselves still answer through NGINX's probe listener.
  expect(portal.nodes).toEqual({ answering: 2, total: 2 });
  expect(condition.message).toContain(`${PORTAL}: certificate names DNS:wrong.example.com, not ${PORTAL}`);
  await publish(certs);
  await portalReported('the portal serves again', allServing);
});
