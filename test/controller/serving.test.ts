// How the NGINX pods' site-probe reports become status.sites, the Serving verdict and the Events
// of its transitions: pure functions on plain pods and an injected clock.
import type * as k8s from '@kubernetes/client-node';
import { formatSiteProbeReport, SITE_PROBES_ANNOTATION, type SiteProbe } from '../../src/api/probe.js';
import { SERVED_CONDITION, STAND_IN_REASON } from '../../src/api/agent.js';
import type { SiteStatus, Wso2FrontendStatus } from '../../src/api/schema.js';
import {
  servingEvents,
  staleAfterMs,
  summariseProbes,
  DEFAULT_PROBE_INTERVAL_MS,
} from '../../src/controller/serving.js';

const NOW = new Date('2026-11-27T12:00:00.000Z');
const HOSTS = ['api.am.wso2.com', 'gw.am.wso2.com'];
const secondsAgo = (s: number) => new Date(NOW.getTime() - s * 1000).toISOString();

const up = (host: string, p50Ms = 12): SiteProbe => ({ host, serving: true, nodes: { answering: 2, total: 2 }, p50Ms });
const oneDown = (host: string): SiteProbe => ({
  host,
  serving: true,
  nodes: { answering: 1, total: 2 },
  error: 'node-2: connection refused',
  p50Ms: 15,
});
const down = (host: string): SiteProbe => ({
  host,
  serving: false,
  nodes: { answering: 0, total: 2 },
  error: '502 from NGINX: no node answered',
});

function pod(name: string, annotation?: string, extra: Partial<k8s.V1ObjectMeta> = {}): k8s.V1Pod {
  return {
    metadata: {
      name,
      ...(annotation !== undefined ? { annotations: { [SITE_PROBES_ANNOTATION]: annotation } } : {}),
      ...extra,
    },
  };
}
const reporting = (name: string, sites: SiteProbe[], probedAt = secondsAgo(5)) =>
  pod(name, formatSiteProbeReport({ probedAt, sites }));

const summarise = (pods: k8s.V1Pod[], previous?: SiteStatus[]) => summariseProbes(HOSTS, pods, previous, NOW);

test('every site answers on every node from both pods: Serving True, 2/2, the freshest probe time, the slowest median', () => {
  const result = summarise([
    reporting('nginx-a', [up('api.am.wso2.com', 10), up('gw.am.wso2.com', 30)], secondsAgo(20)),
    reporting('nginx-b', [up('api.am.wso2.com', 14), up('gw.am.wso2.com', 8)], secondsAgo(3)),
  ]);
  expect(result.sites).toEqual([
    {
      host: 'api.am.wso2.com',
      serving: 'True',
      nodesAnswering: 2,
      nodesTotal: 2,
      lastProbeTime: '2026-11-27T11:59:57Z',
      p50LatencyMs: 14,
    },
    {
      host: 'gw.am.wso2.com',
      serving: 'True',
      nodesAnswering: 2,
      nodesTotal: 2,
      lastProbeTime: '2026-11-27T11:59:57Z',
      p50LatencyMs: 30,
    },
  ]);
  expect(result.serving).toEqual({ status: 'True', reason: 'SitesServing', message: 'every site answers (2)' });
});

test("one node down in one pod's view: the site still serves, with the worst view (1/2) and its error", () => {
  const result = summarise([
    reporting('nginx-a', [up('api.am.wso2.com'), up('gw.am.wso2.com')]),
    reporting('nginx-b', [oneDown('api.am.wso2.com'), up('gw.am.wso2.com')]),
  ]);
  expect(result.sites[0]).toMatchObject({
    host: 'api.am.wso2.com',
    serving: 'True',
    nodesAnswering: 1,
    nodesTotal: 2,
    lastError: 'node-2: connection refused',
  });
  expect(result.serving).toEqual({
    status: 'True',
    reason: 'SitesServing',
    message: 'every site answers (2); api.am.wso2.com: 1/2 nodes answer',
  });
});

test('a site failing through any reporting pod is not serving; the message names the site, the nodes and the reason', () => {
  const result = summarise([
    reporting('nginx-a', [down('api.am.wso2.com'), up('gw.am.wso2.com')]),
    reporting('nginx-b', [up('api.am.wso2.com'), up('gw.am.wso2.com')]),
  ]);
  expect(result.sites[0]).toMatchObject({
    serving: 'False',
    nodesAnswering: 0,
    lastError: '502 from NGINX: no node answered',
  });
  expect(result.serving).toEqual({
    status: 'False',
    reason: 'SitesNotServing',
    message: 'api.am.wso2.com is not serving (0/2 nodes answer): 502 from NGINX: no node answered',
  });
});

test("a pod's error text reaches the status as one printable line of at most 300 characters", () => {
  // Whoever can write a pod's annotations writes this text: newlines, bidi and zero-width
  // characters would reach the status and the Events; a cut never splits a character.
  const hostile = `502 from NGINX\nReady: True\u202e\u200b ${'🙂'.repeat(400)}`;
  const result = summarise([
    reporting('nginx-a', [{ ...down('api.am.wso2.com'), error: hostile }, up('gw.am.wso2.com')]),
  ]);
  const error = result.sites[0]!.lastError!;
  expect(error.startsWith('502 from NGINX Ready: True 🙂')).toBe(true);
  expect([...error]).toHaveLength(300);
  expect(error.endsWith('🙂…')).toBe(true);
  expect(error).not.toMatch(/[\p{Cc}\p{Cf}\p{Cs}]/u);
  expect(result.serving.message).not.toContain('\n');
});

test('no pod reported (agents not started yet): every site Unknown, and Serving Unknown saying why', () => {
  const result = summarise([pod('nginx-a'), pod('nginx-b')]);
  expect(result.sites).toEqual([
    { host: 'api.am.wso2.com', serving: 'Unknown' },
    { host: 'gw.am.wso2.com', serving: 'Unknown' },
  ]);
  expect(result.serving).toEqual({
    status: 'Unknown',
    reason: 'NoProbeResults',
    message:
      'no site probe results: 0/2 NGINX pods have a probe report newer than 3m (the reload agents have not probed yet)',
  });
  expect(result.recheckAfterMs).toBeUndefined();
});

test("the local control plane's stand-in agents (no NGINX runs there): Serving Unknown says they do not probe", () => {
  // Issue 26: on `npm start` Serving said "probes are off, or the reload agents have not probed
  // yet" while probes were on; the stand-ins never probe.
  const standIn = (name: string): k8s.V1Pod => ({
    ...pod(name),
    status: {
      conditions: [
        { type: SERVED_CONDITION, status: 'True', reason: STAND_IN_REASON, message: 'serving 0123456789abcdef' },
      ],
    },
  });
  expect(summarise([standIn('nginx-a'), standIn('nginx-b')]).serving).toEqual({
    status: 'Unknown',
    reason: 'NoProbeResults',
    message:
      'no site probe results: 0/2 NGINX pods have a probe report newer than 3m (the local control plane runs no NGINX: its stand-in reload agents report the configuration but do not probe the sites)',
  });
});

test('a report older than two refresh periods and two probe intervals does not count', () => {
  const staleAfter = staleAfterMs(DEFAULT_PROBE_INTERVAL_MS);
  expect(staleAfter).toBe(180_000);
  const old = reporting('nginx-a', [down('api.am.wso2.com'), down('gw.am.wso2.com')], secondsAgo(181));
  const result = summarise([old]);
  expect(result.sites.map((s) => s.serving)).toEqual(['Unknown', 'Unknown']);
  expect(result.serving).toMatchObject({ status: 'Unknown', reason: 'ProbeReportsStale' });
  expect(result.serving.message).toContain('1 report(s) older');
});

test('a report dated more than a minute ahead of the operator is not believed; a few seconds of skew is', () => {
  const ahead = (s: number) => new Date(NOW.getTime() + s * 1000).toISOString();
  const future = summarise([reporting('nginx-a', [down('api.am.wso2.com'), down('gw.am.wso2.com')], ahead(61))]);
  expect(future.sites.map((s) => s.serving)).toEqual(['Unknown', 'Unknown']);
  expect(future.serving.status).toBe('Unknown');
  const skewed = summarise([reporting('nginx-a', [up('api.am.wso2.com'), up('gw.am.wso2.com')], ahead(5))]);
  expect(skewed.serving.status).toBe('True');
});

test('a counted report is looked at again when it would go stale', () => {
  const result = summarise([reporting('nginx-a', [up('api.am.wso2.com'), up('gw.am.wso2.com')], secondsAgo(60))]);
  expect(result.recheckAfterMs).toBe(121_000);
});

test('a malformed annotation is a pod that has not reported; the other pod decides', () => {
  for (const bad of [
    'not json',
    '{"probedAt":"yesterday","sites":[]}',
    '{"probedAt":"2026-11-27T11:59:00Z","sites":[{"host":1}]}',
  ]) {
    const result = summarise([
      pod('nginx-a', bad),
      reporting('nginx-b', [up('api.am.wso2.com'), down('gw.am.wso2.com')]),
    ]);
    expect(result.sites.map((s) => s.serving)).toEqual(['True', 'False']);
  }
  const alone = summarise([pod('nginx-a', '{')]);
  expect(alone.serving.message).toContain(`1 annotation(s) ${SITE_PROBES_ANNOTATION} not a valid report`);
});

test('a site no pod probed is Unknown and makes Serving Unknown, naming it, while the others answer', () => {
  const result = summarise([reporting('nginx-a', [up('api.am.wso2.com')])]);
  expect(result.sites[1]).toEqual({ host: 'gw.am.wso2.com', serving: 'Unknown' });
  expect(result.serving).toEqual({
    status: 'Unknown',
    reason: 'SitesNotProbed',
    message: 'no recent probe of gw.am.wso2.com; every other site answers',
  });
});

test('a terminating pod does not count, and hosts the frontend does not serve are left out', () => {
  const result = summarise(
    [
      reporting('nginx-old', [down('api.am.wso2.com'), down('gw.am.wso2.com')]),
      reporting('nginx-new', [up('api.am.wso2.com'), up('gw.am.wso2.com'), up('old.example.com')]),
    ].map((p, i) => (i === 0 ? { ...p, metadata: { ...p.metadata, deletionTimestamp: new Date(NOW) } } : p)),
  );
  expect(result.sites.map((s) => [s.host, s.serving])).toEqual([
    ['api.am.wso2.com', 'True'],
    ['gw.am.wso2.com', 'True'],
  ]);
});

describe('bounded status writes', () => {
  const first = summarise([
    reporting('nginx-a', [up('api.am.wso2.com', 12), up('gw.am.wso2.com', 12)], secondsAgo(50)),
  ]);

  test('a newer report that only moves the latency keeps the status as written, within the refresh period', () => {
    const next = summarise(
      [reporting('nginx-a', [up('api.am.wso2.com', 40), up('gw.am.wso2.com', 7)], secondsAgo(5))],
      first.sites,
    );
    expect(next.sites).toEqual(first.sites);
  });

  test('after the refresh period the probe time and latency are written again', () => {
    const later = summariseProbes(
      HOSTS,
      [reporting('nginx-a', [up('api.am.wso2.com', 40), up('gw.am.wso2.com', 7)], '2026-11-27T12:00:10.000Z')],
      first.sites,
      new Date('2026-11-27T12:00:11.000Z'),
    );
    expect(later.sites.map((s) => [s.lastProbeTime, s.p50LatencyMs])).toEqual([
      ['2026-11-27T12:00:10Z', 40],
      ['2026-11-27T12:00:10Z', 7],
    ]);
  });

  test('a change of a verdict is written at once', () => {
    const next = summarise(
      [reporting('nginx-a', [oneDown('api.am.wso2.com'), up('gw.am.wso2.com')], secondsAgo(5))],
      first.sites,
    );
    expect(next.sites[0]).toMatchObject({ nodesAnswering: 1, lastProbeTime: '2026-11-27T11:59:55Z', p50LatencyMs: 15 });
    expect(next.sites[1]).toEqual(first.sites[1]);
  });
});

describe('Events on transitions only', () => {
  const status = (sites: SiteStatus[]): Wso2FrontendStatus => ({ sites });
  const site = (probe: SiteProbe) => summarise([reporting('nginx-a', [probe])]).sites[0]!;
  const api = 'api.am.wso2.com';

  test('a site that stops serving, and that serves again', () => {
    expect(servingEvents(status([site(up(api))]), [site(down(api))])).toEqual([
      {
        type: 'Warning',
        reason: 'NotServing',
        note: 'api.am.wso2.com is not serving (0/2 nodes answer): 502 from NGINX: no node answered',
      },
    ]);
    expect(servingEvents(status([site(down(api))]), [site(up(api))])).toEqual([
      { type: 'Normal', reason: 'ServingAgain', note: 'api.am.wso2.com serves again (2/2 nodes answer)' },
    ]);
  });

  test('a node that stops answering while the site serves, and that answers again', () => {
    expect(servingEvents(status([site(up(api))]), [site(oneDown(api))])).toEqual([
      {
        type: 'Warning',
        reason: 'NodesNotAnswering',
        note: 'api.am.wso2.com serves, but only 1/2 nodes answer: node-2: connection refused',
      },
    ]);
    expect(servingEvents(status([site(oneDown(api))]), [site(up(api))])).toEqual([
      { type: 'Normal', reason: 'NodesAnswering', note: 'api.am.wso2.com: 2/2 nodes answer again' },
    ]);
  });

  test('nothing while a state holds, nor for the first results of a healthy site', () => {
    expect(servingEvents(status([site(down(api))]), [site(down(api))])).toEqual([]);
    expect(servingEvents(status([site(oneDown(api))]), [site(oneDown(api))])).toEqual([]);
    expect(servingEvents(status([site(up(api))]), [site(up(api))])).toEqual([]);
    expect(servingEvents(undefined, [site(up(api))])).toEqual([]);
    expect(servingEvents(undefined, [{ host: api, serving: 'Unknown' }])).toEqual([]);
  });
});
