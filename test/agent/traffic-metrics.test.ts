// NGINX's traffic metrics as Prometheus scrapes them from the agent: the real agent process and
// Debian's NGINX serving apim-single on two fake WSO2 nodes, known requests sent through it (200s,
// 404s, a node's 503, a redirect, an unknown host, a WebSocket), and the exact counts read back
// from /metrics; a stopped node shows as down after max_fails failed attempts and up once NGINX
// uses it again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { PASSIVE_HEALTH } from '../../src/api/traffic.js';
import {
  AgentProcess,
  agentObjects,
  createRunningNginxPod,
  issueCertificates,
  loopbackLayout,
  loopbackPorts,
  put,
  servedCondition,
  type Certificates,
  type LoopbackPorts,
} from '../support/agent.js';
import { send, webSocketEcho } from '../support/client.js';
import { createNamespace, eventually, kubeConfig } from '../support/cluster.js';
import { FakeWso2Node } from '../support/fake-wso2.js';
import { onLoopback, topologyOf } from '../support/frontend.js';
import { parseMetrics, sumOf, type Sample } from '../support/prometheus.js';
import { example } from '../support/resources.js';

const BLOCK = 66;
const POD = 'apim-single-nginx-0';
const PORTAL = 'api.am.wso2.com';
const GATEWAY = 'gw.am.wso2.com';
const ROLE = 'all-in-one';

let namespace: string;
let core: k8s.CoreV1Api;
let dir: string;
let ports: LoopbackPorts;
let agent: AgentProcess;
let certs: Certificates;
/** The product ports of the all-in-one role: the portal's and the gateway's HTTPS, the gateway's HTTP. */
const NODE_PORTS = { https: [9443, 8243], http: [8280] };
const nodes = ['node-1', 'node-2'].map((name, i) => new FakeWso2Node(name, `127.0.${BLOCK}.${i + 1}`, NODE_PORTS));

function frontend(served = nodes): Wso2Frontend {
  const resource = onLoopback(example('apim-single.yaml'), BLOCK);
  resource.metadata.namespace = namespace;
  resource.spec.backends.external!.nodes = served.map((n) => ({ name: n.name, address: n.address, roles: [ROLE] }));
  return resource;
}

/** The upstream_server_up series, as "server value" for the role. */
const serverStates = (samples: Sample[]) =>
  samples
    .filter((s) => s.name === 'wso2_frontend_nginx_upstream_server_up')
    .map((s) => {
      expect(s.labels).toMatchObject({ frontend: 'apim-single', role: ROLE });
      return `${s.labels.server} ${s.value}`;
    })
    .sort();
/** Every port of the role on each of `served`, up. */
const allUp = (served: FakeWso2Node[]) =>
  served.flatMap((n) => [...NODE_PORTS.https, ...NODE_PORTS.http].map((port) => `${n.address}:${port} 1`)).sort();

const scrape = async (): Promise<Sample[]> => parseMetrics(await agent.metrics());
const requests = (samples: Sample[], labels: Record<string, string> = {}) =>
  sumOf(samples, 'wso2_frontend_nginx_requests_total', labels);

/** Waits until the agent has counted `count` more requests than in `before`, then scrapes. */
async function afterCounted(before: Sample[], count: number): Promise<Sample[]> {
  return eventually(`the agent to count ${count} requests`, async () => {
    const now = await scrape();
    return requests(now) - requests(before) >= count ? now : undefined;
  });
}

const https = (host: string, path: string) =>
  send({ scheme: 'https', port: ports.https, host, path, ca: certs.ca.certificatePem });

beforeAll(async () => {
  namespace = await createNamespace('traffic');
  core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  await createRunningNginxPod(core, namespace, POD);
  for (const node of nodes) await node.start();
  dir = mkdtempSync(join(tmpdir(), 'wso2-frontend-traffic-'));
  ports = await loopbackPorts();
  const resource = frontend();
  certs = issueCertificates(topologyOf(resource));
  const objects = agentObjects(resource, topologyOf(resource), loopbackLayout(ports), certs);
  for (const secret of objects.secrets) await put(core, secret);
  await put(core, objects.configMap);
  agent = await AgentProcess.start({
    namespace,
    pod: POD,
    frontend: resource,
    secretFlags: objects.secretFlags,
    dir: join(dir, 'nginx'),
    ports,
  });
  await eventually('the agent to serve the configuration', async () => {
    agent.assertRunning();
    return (await servedCondition(core, namespace, POD))?.hash === objects.hash ? true : undefined;
  });
});

afterAll(async () => {
  await agent?.stop();
  for (const node of nodes) await node.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('before any request, every upstream server of the served configuration is up', async () => {
  const samples = await scrape();
  expect(requests(samples)).toBe(0);
  expect(serverStates(samples)).toEqual(allUp(nodes));
});

test('known requests are counted exactly by site, role and status class, with their durations', async () => {
  const before = await scrape();
  for (let i = 0; i < 5; i++) expect((await https(PORTAL, '/publisher')).status).toBe(200);
  for (let i = 0; i < 3; i++) expect((await https(PORTAL, '/status/404')).status).toBe(404);
  // A gateway's 503 (an API's backend down) is its answer, passed on once.
  for (let i = 0; i < 2; i++) expect((await https(GATEWAY, '/status/503')).status).toBe(503);
  expect((await send({ scheme: 'http', port: ports.http, host: 'unknown.example.com' })).status).toBe(404);
  expect((await send({ scheme: 'http', port: ports.http, host: PORTAL, path: '/publisher' })).status).toBe(301);
  expect(
    await webSocketEcho(
      { scheme: 'https', port: ports.https, host: GATEWAY, path: '/ws', ca: certs.ca.certificatePem },
      'hello',
    ),
  ).toMatch(/^node-[12]: hello$/);

  const after = await afterCounted(before, 13);
  const delta = (labels: Record<string, string>) => requests(after, labels) - requests(before, labels);
  const frontendLabel = { frontend: 'apim-single' };
  expect(requests(after) - requests(before)).toBe(13);
  expect(delta({ ...frontendLabel, site: 'portal', role: ROLE, status_class: '2xx' })).toBe(5);
  expect(delta({ ...frontendLabel, site: 'portal', role: ROLE, status_class: '4xx' })).toBe(3);
  expect(delta({ ...frontendLabel, site: 'gateway', role: ROLE, status_class: '5xx' })).toBe(2);
  expect(delta({ ...frontendLabel, site: 'gateway', role: ROLE, status_class: '1xx' })).toBe(1);
  expect(delta({ ...frontendLabel, site: 'portal', role: '_', status_class: '3xx' })).toBe(1);
  expect(delta({ ...frontendLabel, site: '_', role: '_', status_class: '4xx' })).toBe(1);
  // The Host header chooses no label: only the configured sites and _ appear.
  expect(
    new Set(after.filter((s) => s.name === 'wso2_frontend_nginx_requests_total').map((s) => s.labels.site)),
  ).toEqual(new Set(['portal', 'gateway', '_']));

  const histogram = (name: string, labels: Record<string, string>) => ({
    count: sumOf(after, `${name}_count`, labels) - sumOf(before, `${name}_count`, labels),
    sum: sumOf(after, `${name}_sum`, labels) - sumOf(before, `${name}_sum`, labels),
    inf:
      sumOf(after, `${name}_bucket`, { ...labels, le: '+Inf' }) -
      sumOf(before, `${name}_bucket`, { ...labels, le: '+Inf' }),
  });
  const request = 'wso2_frontend_nginx_request_duration_seconds';
  const upstream = 'wso2_frontend_nginx_upstream_response_duration_seconds';
  const portal = histogram(request, { site: 'portal', role: ROLE });
  expect(portal.count).toBe(8);
  expect(portal.inf).toBe(8);
  expect(portal.sum).toBeGreaterThanOrEqual(0);
  expect(portal.sum).toBeLessThan(8 * 2);
  expect(histogram(upstream, { site: 'portal', role: ROLE }).count).toBe(8);
  // $request_time is taken from the wall clock and $upstream_response_time from the monotonic one,
  // each truncated to milliseconds, so one request's upstream time can exceed its request time by 1 ms.
  expect(histogram(upstream, { site: 'portal', role: ROLE }).sum).toBeLessThanOrEqual(
    portal.sum + 0.001 * portal.count,
  );
  // Two 503s and the WebSocket, whose request time is its whole life.
  expect(histogram(request, { site: 'gateway', role: ROLE }).count).toBe(3);
  expect(histogram(upstream, { site: 'gateway', role: ROLE }).count).toBe(3);
  // NGINX answered these itself: a request time, no upstream time.
  expect(histogram(request, { site: 'portal', role: '_' }).count).toBe(1);
  expect(histogram(upstream, { site: 'portal', role: '_' }).count).toBe(0);
  expect(histogram(request, { site: '_', role: '_' }).count).toBe(1);

  // stub_status, under nginx-prometheus-exporter's names.
  expect(sumOf(after, 'nginx_up')).toBe(1);
  expect(sumOf(after, 'nginx_http_requests_total') - sumOf(before, 'nginx_http_requests_total')).toBeGreaterThanOrEqual(
    13,
  );
  expect(sumOf(after, 'nginx_connections_accepted')).toBeGreaterThanOrEqual(
    sumOf(before, 'nginx_connections_accepted') + 13,
  );
  expect(sumOf(after, 'nginx_connections_active')).toBeGreaterThanOrEqual(1);
  expect(sumOf(after, 'wso2_frontend_agent_traffic_log_lines_total', { result: 'malformed' })).toBe(0);
  expect(sumOf(after, 'wso2_frontend_agent_reloads_total', { result: 'success' })).toBeGreaterThanOrEqual(1);
});

test('a stopped node is down after max_fails failed attempts, and up again once NGINX uses it again', async () => {
  const server = (node: FakeWso2Node) => ({ frontend: 'apim-single', role: ROLE, server: `${node.address}:9443` });
  const up = (samples: Sample[], node: FakeWso2Node) =>
    samples.find((s) => s.name === 'wso2_frontend_nginx_upstream_server_up' && s.labels.server === server(node).server);
  const [survivor, stopped] = nodes as [FakeWso2Node, FakeWso2Node];
  await eventually('both portal servers to be known and up', async () => {
    const samples = await scrape();
    return up(samples, survivor)?.value === 1 && up(samples, stopped)?.value === 1 ? true : undefined;
  });

  await stopped.stop();
  const before = await scrape();
  // Each worker skips the server after its own max_fails failures; every request still succeeds.
  const sent = 4 * PASSIVE_HEALTH.maxFails;
  for (let i = 0; i < sent; i++) expect((await https(PORTAL, '/publisher')).answer?.node).toBe(survivor.name);
  const down = await eventually('the stopped node to be down', async () => {
    const samples = await afterCounted(before, sent);
    return up(samples, stopped)?.value === 0 ? samples : undefined;
  });
  expect(up(down, stopped)?.labels).toEqual(server(stopped));
  expect(up(down, survivor)?.value).toBe(1);

  await stopped.start();
  const received = stopped.received;
  // After fail_timeout NGINX tries the server again with a real request; one that succeeds clears its failures.
  await eventually(
    'NGINX to use the restarted node again and the gauge to say it is up',
    async () => {
      expect((await https(PORTAL, '/publisher')).status).toBe(200);
      const samples = await scrape();
      return stopped.received > received && up(samples, stopped)?.value === 1 ? true : undefined;
    },
    (PASSIVE_HEALTH.failTimeoutSeconds + 20) * 1000,
  );
});

test('a reload starts a down server up again, as NGINX does: its new workers try it with the next request', async () => {
  const server = (node: FakeWso2Node) => `${node.address}:9443`;
  const upOf = (samples: Sample[], node: FakeWso2Node) =>
    samples.find((s) => s.name === 'wso2_frontend_nginx_upstream_server_up' && s.labels.server === server(node))?.value;
  const [survivor, stopped] = nodes as [FakeWso2Node, FakeWso2Node];
  await stopped.stop();
  try {
    const before = await scrape();
    const sent = 4 * PASSIVE_HEALTH.maxFails;
    for (let i = 0; i < sent; i++) expect((await https(PORTAL, '/publisher')).answer?.node).toBe(survivor.name);
    await eventually('the stopped node to be down', async () =>
      upOf(await afterCounted(before, sent), stopped) === 0 ? true : undefined,
    );

    // Another configuration (a spec change), served by a reload: within fail_timeout of the failures.
    const resource = frontend();
    resource.spec.nginx = { hsts: { maxAgeSeconds: 600 } };
    const objects = agentObjects(resource, topologyOf(resource), loopbackLayout(ports), certs);
    await put(core, objects.configMap);
    await eventually('the agent to serve the changed configuration', async () =>
      (await servedCondition(core, namespace, POD))?.hash === objects.hash ? true : undefined,
    );
    expect(upOf(await scrape(), stopped)).toBe(1);
    // NGINX agrees: its new workers send requests to the stopped node again (each one fails over
    // to the survivor), until max_fails failures take it down once more.
    const again = await scrape();
    for (let i = 0; i < sent; i++) expect((await https(PORTAL, '/publisher')).answer?.node).toBe(survivor.name);
    await eventually('the stopped node down again', async () =>
      upOf(await afterCounted(again, sent), stopped) === 0 ? true : undefined,
    );
  } finally {
    await stopped.start();
  }
});

test('a served configuration without a node drops its servers and keeps the others', async () => {
  // Both nodes had requests in the tests above.
  const [kept, removed] = nodes as [FakeWso2Node, FakeWso2Node];
  const resource = frontend([kept]);
  const objects = agentObjects(resource, topologyOf(resource), loopbackLayout(ports), certs);
  await put(core, objects.configMap);
  await eventually('the agent to serve the configuration without the node', async () => {
    agent.assertRunning();
    return (await servedCondition(core, namespace, POD))?.hash === objects.hash ? true : undefined;
  });

  const samples = await scrape();
  expect(serverStates(samples)).toEqual(allUp([kept]));
  expect(samples.filter((s) => s.labels.server?.startsWith(`${removed.address}:`))).toEqual([]);
});
