// What the site probes conclude, from plain values: thresholds over consecutive probes, the
// median latency, which answers count as a serving WSO2 node, and when a report is written.
import { SITE_PROBES_REFRESH_MS, type SiteProbeReport } from '../../src/api/probe.js';
import {
  afterRound,
  judgeAnswer,
  median,
  mustWrite,
  newSiteState,
  NEW_STREAK,
  nextStreak,
  siteProbe,
  sitesServing,
  verdictOf,
  type ProbeResult,
  type Streak,
} from '../../src/agent/verdict.js';

const thresholds = { failureThreshold: 3, successThreshold: 2 };
const ok: ProbeResult = { ok: true, ms: 10 };
const bad: ProbeResult = { ok: false, error: '502 from NGINX: no WSO2 node answered (GET /)' };
const run = (results: ProbeResult[], from: Streak = NEW_STREAK) =>
  results.reduce((streak, result) => nextStreak(streak, result, thresholds), from);

describe('thresholds', () => {
  test('the first probe decides at once', () => {
    expect(run([ok]).up).toBe(true);
    expect(run([bad])).toMatchObject({ up: false, error: bad.error });
  });

  test('one failed probe does not flip a serving site, the failure threshold does', () => {
    const up = run([ok]);
    expect(run([bad], up).up).toBe(true);
    expect(run([bad, bad], up).up).toBe(true);
    expect(run([bad, bad, bad], up)).toMatchObject({ up: false, error: bad.error });
  });

  test('a success in between starts the count again', () => {
    expect(run([ok, bad, bad, ok, bad, bad]).up).toBe(true);
  });

  test('a site that is down comes back after the success threshold', () => {
    const down = run([ok, bad, bad, bad]);
    expect(run([ok], down)).toMatchObject({ up: false, error: bad.error });
    expect(run([ok, ok], down).up).toBe(true);
    expect(run([ok, ok], down).error).toBeUndefined();
  });
});

test('the median of the last latencies', () => {
  expect(median([])).toBeUndefined();
  expect(median([30, 10, 20])).toBe(20);
  expect(median([40, 10, 30, 20])).toBe(25);
});

describe('the site as reported', () => {
  const nodes = (a: ProbeResult, b: ProbeResult) =>
    new Map([
      ['node-1', a],
      ['node-2', b],
    ]);

  test('serving with every node answering', () => {
    const state = afterRound(newSiteState('api.example.com', ['node-1', 'node-2']), ok, nodes(ok, ok), thresholds);
    expect(siteProbe(state)).toEqual({
      host: 'api.example.com',
      serving: true,
      nodes: { answering: 2, total: 2 },
      p50Ms: 10,
    });
  });

  test('serving with one node down names the node and why', () => {
    const state = afterRound(
      newSiteState('api.example.com', ['node-1', 'node-2']),
      ok,
      nodes(ok, { ok: false, error: 'connection refused' }),
      thresholds,
    );
    expect(siteProbe(state)).toMatchObject({
      serving: true,
      nodes: { answering: 1, total: 2 },
      error: 'node node-2: connection refused',
    });
  });

  test('not serving gives the site’s own reason', () => {
    const state = afterRound(newSiteState('api.example.com', ['node-1']), bad, nodes(bad, bad), thresholds);
    expect(siteProbe(state)).toMatchObject({ serving: false, nodes: { answering: 0, total: 1 }, error: bad.error });
  });

  test('the median is over the last ten answered probes', () => {
    let state = newSiteState('api.example.com', []);
    for (const ms of [1000, 1000, 1000, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      state = afterRound(state, { ok: true, ms }, new Map(), thresholds);
    expect(siteProbe(state).p50Ms).toBe(6);
  });
});

describe('which answers count', () => {
  const plan = { path: '/services/Version', publicOrigins: ['https://api.example.com', 'http://api.example.com'] };

  test('any answer of a node below 500 serves', () => {
    for (const status of [200, 204, 401, 404]) expect(judgeAnswer({ status, body: '{}' }, plan)).toBeUndefined();
  });

  test('NGINX’s own 502 and 504 pages are not a node’s answer', () => {
    const page = (status: number) =>
      `<html>\r\n<head><title>${status}</title></head>\r\n<body>\r\n<center><h1>${status}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
    expect(judgeAnswer({ status: 502, body: page(502) }, plan)).toBe(
      '502 from NGINX: no WSO2 node answered (GET /services/Version)',
    );
    expect(judgeAnswer({ status: 504, body: page(504) }, plan)).toMatch(
      /^504 from NGINX: no WSO2 node answered in time/,
    );
  });

  test('the 503 of a site without ready nodes, and a node’s own 5xx', () => {
    expect(
      judgeAnswer({ status: 503, body: 'No ready WSO2 node for site portal (role all-in-one, port 9443).\n' }, plan),
    ).toBe('503 from NGINX: no ready WSO2 node');
    expect(judgeAnswer({ status: 503, body: '{"health":[]}' }, plan)).toBe(
      '503 from the WSO2 node (GET /services/Version)',
    );
  });

  test('a redirect stays on the public origins, relative or absolute', () => {
    for (const location of [
      '/carbon/',
      'https://api.example.com/x',
      'https://api.example.com:443/x',
      'http://api.example.com/',
    ])
      expect(judgeAnswer({ status: 302, location, body: '' }, plan)).toBeUndefined();
  });

  test('a redirect to an internal host or a product port leaves the public host', () => {
    for (const location of ['https://localhost:9443/carbon/', 'https://api.example.com:9443/', 'https://10.0.0.5/'])
      expect(judgeAnswer({ status: 302, location, body: '' }, plan)).toMatch(
        new RegExp(`^redirect leaves the public host: ${location.replace(/[.]/g, '\\.')}`),
      );
  });
});

describe('writes', () => {
  const report = (serving: boolean, p50Ms: number): SiteProbeReport => ({
    probedAt: new Date(0).toISOString(),
    sites: [{ host: 'api.example.com', serving, nodes: { answering: 2, total: 2 }, p50Ms }],
  });

  test('a report is written first, when the verdict changes, and once per refresh period', () => {
    const last = { verdict: verdictOf(report(true, 10)), at: 1_000 };
    expect(mustWrite(undefined, report(true, 10), 1_000)).toBe(true);
    expect(mustWrite(last, report(true, 12), 2_000)).toBe(false);
    expect(mustWrite(last, report(false, 10), 2_000)).toBe(true);
    expect(mustWrite(last, report(true, 12), 1_000 + SITE_PROBES_REFRESH_MS)).toBe(true);
  });

  test('the condition names every failing site and why, or what every site answers', () => {
    expect(sitesServing(report(true, 10))).toEqual({
      status: 'True',
      reason: 'SitesServing',
      message: 'api.example.com: 2/2 nodes answer',
    });
    const failing: SiteProbeReport = {
      probedAt: new Date(0).toISOString(),
      sites: [{ host: 'api.example.com', serving: false, nodes: { answering: 0, total: 2 }, error: 'x' }],
    };
    expect(sitesServing(failing)).toEqual({
      status: 'False',
      reason: 'SitesNotServing',
      message: 'api.example.com: x',
    });
  });
});
