// The status a reconcile writes: kstatus conditions computed from findings, transition times
// kept while a condition holds, and the comparison that decides whether to write at all.
import type { Wso2FrontendStatus } from '../../src/api/schema.js';
import { computeStatus, sameStatus, type ConditionReason, type Findings } from '../../src/controller/status.js';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const T1 = new Date('2026-01-01T00:05:00.000Z');
const ok = (reason: ConditionReason) => ({ ok: true as const, reason, message: `${reason} message` });
const healthy: Findings = {
  generation: 3,
  accepted: ok('Valid'),
  certificates: ok('CertificatesValid'),
  configuration: ok('Served'),
  backends: ok('BackendsReady'),
  product: ok('Configured'),
  urls: ['https://a.example.com/', 'https://b.example.com/'],
  certificateNotAfter: new Date('2026-04-01T00:00:00.000Z'),
  configHash: '0123456789abcdef',
};
const byType = (s: Wso2FrontendStatus) => Object.fromEntries((s.conditions ?? []).map((c) => [c.type, c]));

/** What the API server hands back: every object's keys sorted, as it serialises stored objects. */
function asServerReturnsIt(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asServerReturnsIt);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, asServerReturnsIt(v)]),
    );
  return value;
}

test('all aspects fine: Ready True, Reconciling and Stalled False, with the generation, URLs, expiry and hash', () => {
  const status = computeStatus(healthy, undefined, T0);
  const c = byType(status);
  expect(status.observedGeneration).toBe(3);
  expect([c.Ready?.status, c.Reconciling?.status, c.Stalled?.status]).toEqual(['True', 'False', 'False']);
  // Nothing is in progress: Stalled=False does not say Progressing.
  expect([c.Reconciling?.reason, c.Stalled?.reason]).toEqual(['Reconciled', 'Reconciled']);
  expect(
    Object.values(c).every((x) => x.observedGeneration === 3 && x.lastTransitionTime === '2026-01-01T00:00:00Z'),
  ).toBe(true);
  expect(status.urls).toBe('https://a.example.com/,https://b.example.com/');
  expect(status.certificateNotAfter).toBe('2026-04-01T00:00:00Z');
  expect(status.configHash).toBe('0123456789abcdef');
});

test('a rejected spec is Stalled with its message, and the aspects after it are Unknown', () => {
  const status = computeStatus(
    { generation: 4, accepted: { ok: false, reason: 'InvalidSpec', message: 'spec.sites: Required value' } },
    undefined,
    T0,
  );
  const c = byType(status);
  expect([c.Ready?.status, c.Ready?.reason, c.Ready?.message]).toEqual([
    'False',
    'InvalidSpec',
    'spec.sites: Required value',
  ]);
  expect([c.Stalled?.status, c.Stalled?.reason]).toEqual(['True', 'InvalidSpec']);
  expect(c.Reconciling?.status).toBe('False');
  expect([c.CertificatesReady?.status, c.ConfigurationServed?.status, c.BackendsAvailable?.status]).toEqual([
    'Unknown',
    'Unknown',
    'Unknown',
  ]);
});

test('waiting for a rollout is Reconciling, not Stalled', () => {
  const status = computeStatus(
    { ...healthy, configuration: { ok: false, reason: 'RollingOut', message: '0 of 2', waiting: true } },
    undefined,
    T0,
  );
  const c = byType(status);
  expect([c.Ready?.status, c.Ready?.reason, c.Reconciling?.status, c.Stalled?.status]).toEqual([
    'False',
    'RollingOut',
    'True',
    'False',
  ]);
  expect(c.Stalled?.reason).toBe('Progressing');
});

test('lastTransitionTime is kept while a condition holds and moves when it flips', () => {
  const first = computeStatus(healthy, undefined, T0);
  const same = computeStatus(healthy, first, T1);
  expect(byType(same).Ready?.lastTransitionTime).toBe('2026-01-01T00:00:00Z');
  const flipped = computeStatus(
    { ...healthy, backends: { ok: false, reason: 'NoReadyBackend', message: 'none', waiting: true } },
    first,
    T1,
  );
  expect(byType(flipped).Ready?.lastTransitionTime).toBe('2026-01-01T00:05:00Z');
  expect(byType(flipped).Accepted?.lastTransitionTime).toBe('2026-01-01T00:00:00Z');
});

test('the status read back from the API server, keys sorted, is the same status: no write', () => {
  const written = computeStatus(healthy, undefined, T0);
  const readBack = asServerReturnsIt(written) as Wso2FrontendStatus;
  expect(JSON.stringify(readBack)).not.toBe(JSON.stringify(written));
  expect(sameStatus(readBack, computeStatus(healthy, readBack, T1))).toBe(true);
});

test('any changed field is a different status: the hash, a message, or a condition', () => {
  const before = computeStatus(healthy, undefined, T0);
  expect(sameStatus(before, computeStatus({ ...healthy, configHash: 'fedcba9876543210' }, before, T1))).toBe(false);
  expect(sameStatus(before, computeStatus({ ...healthy, backends: ok('Published') }, before, T1))).toBe(false);
  expect(sameStatus(undefined, before)).toBe(false);
});

describe('Serving and Ready', () => {
  const sites = [{ host: 'a.example.com', serving: 'True' as const, nodesAnswering: 1, nodesTotal: 2 }];
  const serving = (status: 'True' | 'False' | 'Unknown', reason: ConditionReason, message = `${reason} message`) => ({
    status,
    reason,
    message,
  });

  test('every site answers (one node of two down): Serving True, Ready True, and status.sites as found', () => {
    const status = computeStatus({ ...healthy, sites, serving: serving('True', 'SitesServing') }, undefined, T0);
    const c = byType(status);
    expect([c.Serving?.status, c.Serving?.reason, c.Ready?.status]).toEqual(['True', 'SitesServing', 'True']);
    expect(status.sites).toEqual(sites);
  });

  test('no probe results: Serving Unknown, and Ready is not held back by it', () => {
    const status = computeStatus({ ...healthy, serving: serving('Unknown', 'NoProbeResults') }, undefined, T0);
    const c = byType(status);
    expect([c.Serving?.status, c.Ready?.status, c.Reconciling?.status]).toEqual(['Unknown', 'True', 'False']);
  });

  test('a site not serving: Ready False (SitesNotServing, with the sites), Reconciling True, not Stalled', () => {
    const message = 'a.example.com is not serving (0/2 nodes answer): 502 from NGINX: no node answered';
    const status = computeStatus({ ...healthy, serving: serving('False', 'SitesNotServing', message) }, undefined, T0);
    const c = byType(status);
    expect([c.Serving?.status, c.Serving?.message]).toEqual(['False', message]);
    expect([c.Ready?.status, c.Ready?.reason, c.Ready?.message]).toEqual(['False', 'SitesNotServing', message]);
    expect([c.Reconciling?.status, c.Stalled?.status]).toEqual(['True', 'False']);
  });

  test('a problem the operator sees names Ready before the sites it causes to fail', () => {
    const status = computeStatus(
      {
        ...healthy,
        backends: { ok: false, reason: 'NoReadyBackend', message: 'none', waiting: true },
        serving: serving('False', 'SitesNotServing'),
      },
      undefined,
      T0,
    );
    expect(byType(status).Ready?.reason).toBe('NoReadyBackend');
  });

  test('not computed (an earlier step failed): Serving Unknown, NotChecked', () => {
    const c = byType(computeStatus({ generation: 1, accepted: ok('Valid') }, undefined, T0));
    expect([c.Serving?.status, c.Serving?.reason]).toEqual(['Unknown', 'NotChecked']);
  });
});

test("managed backends: each role's image and profile are in the status", () => {
  const roles = [
    { role: 'control-plane', image: 'wso2/wso2am:4.4.0', profile: 'control-plane' },
    { role: 'gateway', image: 'wso2/wso2am:4.4.0', profile: 'gateway-worker' },
  ];
  expect(computeStatus({ ...healthy, roles }, undefined, T0).roles).toEqual(roles);
  expect(computeStatus(healthy, undefined, T0).roles).toBeUndefined();
});
