// Serving and status.sites against the real control plane. kwok runs no container, so no reload
// agent probes here: the test plays the agents, writing on each NGINX pod what an agent writes
// (src/api/probe.ts: the site-probe annotation and the SitesServing Pod condition), and reads
// what the operator made of it as users do (`kubectl get -o yaml`, Events), with the verdicts of
// Argo CD's health check (gopher-lua) and kstatus (cli-utils) on that same object.
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import {
  formatSiteProbeReport,
  SITE_PROBES_ANNOTATION,
  SITES_SERVING_CONDITION,
  type SiteProbe,
} from '../../src/api/probe.js';
import type { SiteStatus, Wso2Frontend } from '../../src/api/schema.js';
import { createOperator } from '../../src/controller/setup.js';
import { LABEL, NGINX_COMPONENT } from '../../src/render/ownership.js';
import { createNamespace, eventually, eventsWith, kubeConfig, kubectl } from '../support/cluster.js';
import { argoCdHealth, kstatus } from '../support/go-tools.js';
import { conditionOf, example, installCrd, patchSpec } from '../support/resources.js';

const HEALTH_LUA = 'deploy/argocd/resource_customizations/wso2-frontend.dev/Wso2Frontend/health.lua';
const NAME = 'probed';
const API = 'api.am.wso2.com';
const GW = 'gw.am.wso2.com';

let namespace: string;
let operator: ReturnType<typeof createOperator>;
let pods: string[];

type LiveFrontend = Wso2Frontend & { metadata: { generation?: number; resourceVersion?: string } };

/** The frontend as `kubectl get -o yaml` shows it. */
async function getYaml(): Promise<LiveFrontend> {
  return yaml.load(await kubectl(['get', 'wso2frontend', NAME, '-n', namespace, '-o', 'yaml'])) as LiveFrontend;
}

/** The frontend once `holds` is true of it as `kubectl get -o yaml` shows it. */
function once(what: string, holds: (f: LiveFrontend) => boolean) {
  return eventually(what, async () => {
    const f = await getYaml();
    return holds(f) ? f : undefined;
  });
}

function verdicts(f: Wso2Frontend) {
  return { argoCd: argoCdHealth(HEALTH_LUA, [f])[0], kstatus: kstatus([f])[0] };
}

/**
 * What an agent does after probing: its report as the annotation, and its SitesServing condition,
 * on its own Pod, in one patch of the Pod's status subresource (which takes the annotations too).
 */
async function agentsReport(sites: SiteProbe[], onPods = pods, probedAt = new Date()): Promise<void> {
  const serving = sites.every((s) => s.serving);
  const condition = {
    type: SITES_SERVING_CONDITION,
    status: serving ? 'True' : 'False',
    reason: serving ? 'SitesServing' : 'SitesNotServing',
    message: sites
      .filter((s) => !s.serving)
      .map((s) => `${s.host}: ${s.error}`)
      .join('; '),
    lastTransitionTime: probedAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  const annotation = formatSiteProbeReport({ probedAt: probedAt.toISOString(), sites });
  await patchPodStatus(onPods, {
    metadata: { annotations: { [SITE_PROBES_ANNOTATION]: annotation } },
    status: { conditions: [condition] },
  });
}

/** The annotation alone, whatever it holds. */
async function writeOnPods(annotation: string, onPods: string[]): Promise<void> {
  await patchPodStatus(onPods, { metadata: { annotations: { [SITE_PROBES_ANNOTATION]: annotation } } });
}

async function patchPodStatus(onPods: string[], patch: object): Promise<void> {
  for (const pod of onPods)
    await kubectl([
      'patch',
      'pod',
      pod,
      '-n',
      namespace,
      '--subresource=status',
      '--type=strategic',
      '-p',
      JSON.stringify(patch),
    ]);
}

const site = (host: string, answering: number, error?: string, serving = answering > 0): SiteProbe => ({
  host,
  serving,
  nodes: { answering, total: 2 },
  ...(error ? { error } : {}),
  p50Ms: 9,
});
const allUp = [site(API, 2), site(GW, 2)];
/** How many times an Event with this reason was recorded about the frontend: repeats count on one Event's series. */
async function timesRecorded(reason: string): Promise<number> {
  const events = (await eventsWith(namespace, reason, NAME)) as { series?: { count?: number } }[];
  return events.reduce((sum, e) => sum + (e.series?.count ?? 1), 0);
}

const sitesOf = (f: Wso2Frontend) =>
  (f.status?.sites ?? []).map((s: SiteStatus) => [s.host, s.serving, `${s.nodesAnswering}/${s.nodesTotal}`]);

beforeAll(async () => {
  await installCrd();
  namespace = await createNamespace('serving');
  operator = createOperator({ kubeConfig: kubeConfig(), namespaces: [namespace], identity: 'serving-status' });
  await operator.controller.start();
  const resource = example('apim-single.yaml');
  resource.metadata.name = NAME;
  resource.spec.backends = {
    external: {
      nodes: [
        { name: 'node-1', address: '192.0.2.21', roles: ['all-in-one'] },
        { name: 'node-2', address: '192.0.2.22', roles: ['all-in-one'] },
      ],
    },
  };
  await kubectl(['apply', '--server-side', '-n', namespace, '-f', '-'], yaml.dump(resource));
  await kubectl(['wait', '--for=condition=Ready', `wso2frontend/${NAME}`, '-n', namespace, '--timeout=60s']);
  const list = await kubeConfig()
    .makeApiClient(k8s.CoreV1Api)
    .listNamespacedPod({ namespace, labelSelector: `${LABEL.instance}=${NAME},${LABEL.component}=${NGINX_COMPONENT}` });
  pods = list.items.map((p) => p.metadata!.name!).sort();
  expect(pods).toHaveLength(2);
});

afterAll(async () => {
  await operator?.controller.stop();
});

test('before any agent reported: Serving Unknown (NoProbeResults), every site Unknown, Ready True, Healthy and Current', async () => {
  const f = await getYaml();
  expect(sitesOf(f)).toEqual([
    [API, 'Unknown', 'undefined/undefined'],
    [GW, 'Unknown', 'undefined/undefined'],
  ]);
  expect(conditionOf(f, 'Serving')).toMatchObject({ status: 'Unknown', reason: 'NoProbeResults' });
  expect(conditionOf(f, 'Ready')?.status).toBe('True');
  expect(verdicts(f)).toMatchObject({ argoCd: { status: 'Healthy' }, kstatus: { status: 'Current' } });
});

test('all nodes up: Serving True, 2/2 for each site with the probe time and latency; Healthy and Current', async () => {
  await agentsReport(allUp);
  const f = await once('Serving True', (f) => conditionOf(f, 'Serving')?.status === 'True');
  expect(f.status?.sites).toEqual([
    expect.objectContaining({ host: API, serving: 'True', nodesAnswering: 2, nodesTotal: 2, p50LatencyMs: 9 }),
    expect.objectContaining({ host: GW, serving: 'True', nodesAnswering: 2, nodesTotal: 2, p50LatencyMs: 9 }),
  ]);
  expect(f.status?.sites?.[0]?.lastProbeTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  expect(conditionOf(f, 'Serving')?.message).toBe('every site answers (2)');
  expect(verdicts(f)).toEqual({
    argoCd: { status: 'Healthy', message: conditionOf(f, 'Ready')!.message },
    kstatus: { status: 'Current', message: 'Resource is Ready' },
  });
});

test('one node stopped: still Serving, 1/2 with the reason, one NodesNotAnswering Event per site; Ready, Healthy, Current', async () => {
  const refused = 'node-2 (192.0.2.22): connection refused';
  await agentsReport([site(API, 1, refused), site(GW, 1, refused)]);
  const f = await once('1/2 nodes answer', (f) => sitesOf(f).every(([, , nodes]) => nodes === '1/2'));
  expect(f.status?.sites?.map((s) => [s.serving, s.lastError])).toEqual([
    ['True', refused],
    ['True', refused],
  ]);
  expect(conditionOf(f, 'Serving')).toMatchObject({
    status: 'True',
    message: `every site answers (2); ${API}: 1/2 nodes answer; ${GW}: 1/2 nodes answer`,
  });
  expect(conditionOf(f, 'Ready')?.status).toBe('True');
  const events = await eventually('two NodesNotAnswering Events', async () => {
    const found = await eventsWith(namespace, 'NodesNotAnswering', NAME);
    return found.length === 2 ? found : undefined;
  });
  expect(events.map((e) => [e.type, e.note]).sort()).toEqual([
    ['Warning', `${API} serves, but only 1/2 nodes answer: ${refused}`],
    ['Warning', `${GW} serves, but only 1/2 nodes answer: ${refused}`],
  ]);
  expect(verdicts(f)).toMatchObject({ argoCd: { status: 'Healthy' }, kstatus: { status: 'Current' } });
});

test('the node back: 2/2 again, with a NodesAnswering Event per site', async () => {
  await agentsReport(allUp);
  const f = await once('2/2 again', (f) => sitesOf(f).every(([, , nodes]) => nodes === '2/2'));
  expect(f.status?.sites?.every((s) => s.lastError === undefined)).toBe(true);
  const events = await eventually('two NodesAnswering Events', async () => {
    const found = await eventsWith(namespace, 'NodesAnswering', NAME);
    return found.length === 2 ? found : undefined;
  });
  expect(events.map((e) => e.note).sort()).toEqual([`${API}: 2/2 nodes answer again`, `${GW}: 2/2 nodes answer again`]);
  expect(verdicts(f)).toMatchObject({ argoCd: { status: 'Healthy' }, kstatus: { status: 'Current' } });
});

describe.each([
  {
    what: 'all nodes stopped',
    sites: [
      site(API, 0, '502 from NGINX: no WSO2 node answered (GET /services/Version)'),
      site(GW, 0, '502 from NGINX: no WSO2 node answered (GET /services/Version)'),
    ],
    failing: [API, GW],
    reason: '502 from NGINX: no WSO2 node answered',
  },
  {
    what: 'a node redirecting to its own internal URL',
    sites: [
      site(
        API,
        2,
        'redirect leaves the public host: https://node-1.internal:9443/carbon/ (public: https://api.am.wso2.com)',
        false,
      ),
      site(GW, 2),
    ],
    failing: [API],
    reason: 'redirect leaves the public host',
  },
  {
    what: 'a certificate for the wrong host in the user Secret',
    sites: [
      site(API, 2, 'certificate names DNS:other.example.com, not api.am.wso2.com', false),
      site(GW, 2, 'certificate names DNS:other.example.com, not gw.am.wso2.com', false),
    ],
    failing: [API, GW],
    reason: 'certificate names DNS:other.example.com, not',
  },
])('$what', ({ sites, failing, reason }) => {
  test(`Serving False naming the sites and "${reason}", Ready False (SitesNotServing), a NotServing Event; Argo CD Degraded, kstatus InProgress`, async () => {
    await agentsReport(sites);
    const f = await once('Serving False', (f) => conditionOf(f, 'Serving')?.status === 'False');
    const serving = conditionOf(f, 'Serving')!;
    expect(serving.reason).toBe('SitesNotServing');
    for (const host of failing) expect(serving.message).toContain(`${host} is not serving`);
    expect(serving.message).toContain(reason);
    expect(f.status?.sites?.filter((s) => s.serving === 'False').map((s) => s.host)).toEqual(failing);
    expect(conditionOf(f, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'SitesNotServing',
      message: serving.message,
    });
    expect([conditionOf(f, 'Reconciling')?.status, conditionOf(f, 'Stalled')?.status]).toEqual(['True', 'False']);
    const notes = await eventually('NotServing Events', async () => {
      const found = (await eventsWith(namespace, 'NotServing', NAME)).map((e) => e.note);
      return failing.every((host) => found.some((n) => n.startsWith(`${host} is not serving`) && n.includes(reason)))
        ? found
        : undefined;
    });
    expect(notes.length).toBeGreaterThanOrEqual(failing.length);
    expect(verdicts(f)).toEqual({
      argoCd: { status: 'Degraded', message: `SitesNotServing: ${serving.message}` },
      kstatus: { status: 'InProgress', message: serving.message },
    });
  });

  test('recovery: Serving True, Ready True without a new Ready Event, a ServingAgain Event; Healthy and Current', async () => {
    const readyEvents = await timesRecorded('Ready');
    const servingAgain = await timesRecorded('ServingAgain');
    await agentsReport(allUp);
    const f = await once('Serving True and Ready', (f) =>
      ['Serving', 'Ready'].every((type) => conditionOf(f, type)?.status === 'True'),
    );
    expect(sitesOf(f)).toEqual([
      [API, 'True', '2/2'],
      [GW, 'True', '2/2'],
    ]);
    await eventually('a ServingAgain Event', async () =>
      (await timesRecorded('ServingAgain')) > servingAgain ? true : undefined,
    );
    expect(await timesRecorded('Ready')).toBe(readyEvents);
    expect(verdicts(f)).toMatchObject({ argoCd: { status: 'Healthy' }, kstatus: { status: 'Current' } });
  });
});

test('a malformed annotation never fails the reconcile: the pod counts as not reported, and a good report is read again', async () => {
  const errors = () => eventsWith(namespace, 'ReconcileFailed', NAME);
  await writeOnPods('{"probedAt": "not a time", "sites": 42}', [pods[0]!]);
  await agentsReport(
    [site(API, 0, '502 from NGINX: no WSO2 node answered (GET /services/Version)'), site(GW, 2)],
    [pods[1]!],
  );
  // Only the pod with a valid report counts.
  let f = await once('the valid report of the other pod', (f) => conditionOf(f, 'Serving')?.status === 'False');
  expect(sitesOf(f)).toEqual([
    [API, 'False', '0/2'],
    [GW, 'True', '2/2'],
  ]);
  await writeOnPods('not json at all', [pods[1]!]);
  f = await once('no valid report', (f) => conditionOf(f, 'Serving')?.status === 'Unknown');
  expect(conditionOf(f, 'Serving')?.message).toContain(`2 annotation(s) ${SITE_PROBES_ANNOTATION} not a valid report`);
  expect(conditionOf(f, 'Ready')?.status).toBe('True');
  await agentsReport(allUp);
  f = await once('Serving True again', (f) => conditionOf(f, 'Serving')?.status === 'True');
  expect(await errors()).toEqual([]);
});

test('a report older than the staleness bound is not counted', async () => {
  await agentsReport([site(API, 0, 'old news'), site(GW, 0, 'old news')], pods, new Date(Date.now() - 10 * 60_000));
  const f = await once('stale reports ignored', (f) => conditionOf(f, 'Serving')?.reason === 'ProbeReportsStale');
  expect(conditionOf(f, 'Serving')?.status).toBe('Unknown');
  expect(sitesOf(f).map(([, serving]) => serving)).toEqual(['Unknown', 'Unknown']);
  expect(verdicts(f)).toMatchObject({ argoCd: { status: 'Healthy' }, kstatus: { status: 'Current' } });
});

test('a latency change alone does not rewrite the status within the refresh period; a verdict change does at once', async () => {
  await agentsReport(allUp);
  const before = await once('Serving True', (f) => conditionOf(f, 'Serving')?.status === 'True');
  const written: string[] = [];
  const watch = await new k8s.Watch(kubeConfig()).watch(
    `/apis/wso2-frontend.dev/v1alpha1/namespaces/${namespace}/wso2frontends`,
    {
      fieldSelector: `metadata.name=${NAME}`,
      resourceVersion: before.metadata.resourceVersion,
    },
    (phase: string, f: Wso2Frontend) => {
      if (phase === 'MODIFIED') written.push(JSON.stringify(f.status?.sites));
    },
    () => {},
  );
  try {
    // Five rounds of reports from both pods, only the latency moving.
    for (let p50Ms = 20; p50Ms < 25; p50Ms++) await agentsReport(allUp.map((s) => ({ ...s, p50Ms })));
    // Then a node of the gateway stops answering.
    await agentsReport([site(API, 2), site(GW, 1, 'node-2 (192.0.2.22): timed out')]);
    await once('GW 1/2', (f) => sitesOf(f)[1]?.[2] === '1/2');
    // Reconciles of one frontend run one at a time, in order: the last one wrote the 1/2.
    expect(written).toHaveLength(1);
    expect(JSON.parse(written[0]!)).toEqual([
      expect.objectContaining({ host: API, nodesAnswering: 2, p50LatencyMs: 9 }),
      expect.objectContaining({ host: GW, nodesAnswering: 1, lastError: 'node-2 (192.0.2.22): timed out' }),
    ]);
  } finally {
    watch.abort();
  }
});

test('probes switched off: Serving Unknown (ProbesDisabled), no status.sites, Ready True', async () => {
  await agentsReport(allUp);
  await once('Serving True', (f) => conditionOf(f, 'Serving')?.status === 'True');
  await patchSpec(namespace, NAME, { probes: { enabled: false } });
  // The new configuration (without the probe plan) is served first: Ready once the pods serve it.
  const f = await once(
    'ProbesDisabled, and Ready for the new generation',
    (f) =>
      conditionOf(f, 'Serving')?.reason === 'ProbesDisabled' &&
      conditionOf(f, 'Ready')?.status === 'True' &&
      f.status?.observedGeneration === f.metadata.generation,
  );
  expect(conditionOf(f, 'Serving')?.status).toBe('Unknown');
  expect(f.status?.sites).toBeUndefined();
  expect(verdicts(f)).toMatchObject({ argoCd: { status: 'Healthy' }, kstatus: { status: 'Current' } });
});
