// The traffic log read as metrics (pure): lines NGINX writes, the passive health check replayed
// on their attempts, stub_status, and the bound on label values.
import { Registry } from 'prom-client';
import { parseStubStatus } from '../../src/agent/stub-status.js';
import { parseTrafficLine, PassiveHealth, PEER_IDLE_MS, TrafficMetrics } from '../../src/agent/traffic.js';
import { parseMetrics, sumOf } from '../support/prometheus.js';
import { trafficLine } from '../support/traffic-lines.js';

const line = trafficLine;

test('a proxied request: its labels, times and the one attempt that did not fail', () => {
  expect(parseTrafficLine(line({}))).toEqual({
    site: 'portal',
    role: 'publisher',
    timeMs: 1764240000123,
    status: 200,
    requestSeconds: 0.012,
    upstreamSeconds: 0.01,
    attempts: [{ server: '10.0.0.1:9443', failed: false }],
  });
});

test('a request retried on the next server: the first attempt failed, upstream times are added up', () => {
  const record = parseTrafficLine(
    line({
      upstream_addr: '10.0.0.1:9443, 10.0.0.2:9443',
      upstream_response_time: '0.001, 0.020',
      upstream_header_time: '-, 0.019',
    }),
  );
  expect(record?.attempts).toEqual([
    { server: '10.0.0.1:9443', failed: true },
    { server: '10.0.0.2:9443', failed: false },
  ]);
  expect(record?.upstreamSeconds).toBeCloseTo(0.021, 6);
});

test("a node's own 503 is not a failed attempt; no response at all (an error, a timeout) is", () => {
  expect(parseTrafficLine(line({ status: '503' }))?.attempts[0]?.failed).toBe(false);
  expect(parseTrafficLine(line({ status: '502', upstream_header_time: '-' }))?.attempts[0]?.failed).toBe(true);
});

test('NGINX answering itself (an unknown host, a redirect): labels _, no upstream time, no attempt', () => {
  expect(
    parseTrafficLine(
      line({
        site: '_',
        role: '_',
        status: '404',
        upstream_addr: '-',
        upstream_response_time: '-',
        upstream_header_time: '-',
      }),
    ),
  ).toEqual({
    site: '_',
    role: '_',
    timeMs: 1764240000123,
    status: 404,
    requestSeconds: 0.012,
    upstreamSeconds: undefined,
    attempts: [],
  });
});

test('no server left ($upstream_addr names the upstream) is no attempt on a server', () => {
  expect(parseTrafficLine(line({ upstream_addr: 'portal-https', upstream_header_time: '-' }))?.attempts).toEqual([]);
});

test('a partial or foreign line is not counted', () => {
  const whole = line({});
  expect(parseTrafficLine(whole.slice(0, whole.lastIndexOf('\t')))).toBeUndefined();
  expect(parseTrafficLine(`${whole}\textra`)).toBeUndefined();
  expect(parseTrafficLine(line({ status: 'x' }))).toBeUndefined();
  expect(parseTrafficLine('127.0.0.1 - - [27/Nov/2026] "GET / HTTP/1.1" 200')).toBeUndefined();
  expect(parseTrafficLine('{"site":"portal","status":"200"}')).toBeUndefined();
});

test('passive health: down at the max_fails-th failure, up fail_timeout later, down again on a failed retry, up after a successful one', () => {
  const health = new PassiveHealth(3, 10_000);
  const s = 'publisher\u000010.0.0.1:9443';
  health.attempt(s, true, 1000);
  health.attempt(s, true, 2000);
  expect(health.up(s, 2500)).toBe(true);
  health.attempt(s, true, 3000);
  expect(health.up(s, 3000)).toBe(false);
  expect(health.up(s, 13_000)).toBe(false);
  expect(health.up(s, 13_001)).toBe(true);
  health.attempt(s, true, 14_000);
  expect(health.up(s, 14_000)).toBe(false);
  health.attempt(s, false, 25_000);
  expect(health.up(s, 25_000)).toBe(true);
  // The failures were cleared: two more do not take it down.
  health.attempt(s, true, 26_000);
  health.attempt(s, true, 27_000);
  expect(health.up(s, 27_000)).toBe(true);
});

test('passive health: successes within fail_timeout of a failure do not clear it (as in NGINX)', () => {
  const health = new PassiveHealth(3, 10_000);
  health.attempt('s', true, 1000);
  health.attempt('s', true, 2000);
  health.attempt('s', false, 3000);
  health.attempt('s', true, 4000);
  expect(health.up('s', 4000)).toBe(false);
});

test('passive health: a server with no attempt for PEER_IDLE_MS is forgotten, and past the limit the least recently seen one is', () => {
  const health = new PassiveHealth(3, 10_000, 2);
  health.attempt('old', true, 0);
  health.attempt('a', false, 1000);
  expect(health.keys(1000)).toEqual(['old', 'a']);
  health.attempt('old', false, 2000);
  health.attempt('b', false, 3000); // 'a' was seen least recently
  expect(health.keys(3000).sort()).toEqual(['b', 'old']);
  expect(health.keys(2000 + PEER_IDLE_MS + 1)).toEqual(['b']);
  expect(health.keys(3000 + PEER_IDLE_MS + 1)).toEqual([]);
});

test('passive health: configured servers are known before any attempt, never forgotten while configured, and go when no longer configured', () => {
  const health = new PassiveHealth(3, 10_000, 3);
  health.attempt('seen', false, 0);
  health.configure(['a', 'b'], () => false, 1000);
  expect(health.keys(1000)).toEqual(['seen', 'a', 'b']);
  expect(health.up('a', 1000)).toBe(true);
  // At the limit a new server pushes out the least recently seen unconfigured one, never a configured one.
  health.attempt('new', false, 2000);
  expect(health.keys(2000).sort()).toEqual(['a', 'b', 'new']);
  health.attempt('newer', false, 3000);
  expect(health.keys(3000).sort()).toEqual(['a', 'b', 'newer']);
  expect(health.keys(1000 + 2 * PEER_IDLE_MS).sort()).toEqual(['a', 'b']);
  // Failures still count on a configured server.
  for (let i = 0; i < 3; i++) health.attempt('b', true, 5000 + i);
  expect(health.up('b', 5002)).toBe(false);
  health.configure(['b', 'c'], () => false, 6000);
  expect(health.keys(6000).sort()).toEqual(['b', 'c']);
  // A reload: NGINX's new workers try every server afresh.
  expect(health.up('b', 6000)).toBe(true);
});

test('passive health after a reload: attempts logged before it (read late) do not count; those after it do', () => {
  const health = new PassiveHealth(3, 10_000);
  for (let i = 0; i < 3; i++) health.attempt('a', true, 1000 + i);
  expect(health.up('a', 1002)).toBe(false);
  health.configure(['a'], () => false, 5000);
  expect(health.up('a', 5000)).toBe(true);
  // The old workers' last lines, read after the reload.
  for (let i = 0; i < 3; i++) health.attempt('a', true, 4000 + i);
  expect(health.up('a', 5001)).toBe(true);
  for (let i = 0; i < 3; i++) health.attempt('a', true, 6000 + i);
  expect(health.up('a', 6002)).toBe(false);
});

test('passive health: with only configured servers at the limit, another server is not tracked; strays are forgotten at once', () => {
  const health = new PassiveHealth(3, 10_000, 2);
  health.configure(['a', 'b', 'c'], () => false, 0);
  expect(health.keys(0)).toEqual(['a', 'b']);
  health.attempt('x', true, 1000);
  expect(health.keys(1000)).toEqual(['a', 'b']);
  health.configure(['a'], (key) => key.startsWith('stray'), 2000);
  health.attempt('stray-1', false, 3000);
  health.attempt('kept', false, 3000);
  expect(health.keys(3000)).toEqual(['a', 'kept']);
});

test('configured upstream servers: by address seeded up per role; under a role with a DNS-named server others stay until idle, under others they go', async () => {
  const registry = new Registry();
  let now = 1_764_240_000_000;
  const metrics = new TrafficMetrics(registry, 'fe', () => now);
  metrics.configure({
    roles: [
      { role: 'publisher', servers: ['10.0.0.1:9443', '[fd00::1]:9443'] },
      { role: 'gateway', servers: ['10.0.0.2:8243', 'gw.example.com:8243'] },
    ],
  });
  const servers = async () =>
    parseMetrics(await registry.metrics())
      .filter((s) => s.name === 'wso2_frontend_nginx_upstream_server_up')
      .map((s) => `${s.labels.role} ${s.labels.server} ${s.value}`);
  expect(await servers()).toEqual([
    'publisher 10.0.0.1:9443 1',
    'publisher [fd00::1]:9443 1',
    'gateway 10.0.0.2:8243 1',
  ]);
  // A server the configuration does not have: an old worker's request under publisher, a resolved name under gateway.
  now += 1000;
  metrics.line(line({ role: 'publisher', upstream_addr: '10.0.0.9:9443', msec: String(now / 1000) }));
  metrics.line(line({ role: 'gateway', upstream_addr: '10.0.0.7:8243', msec: String(now / 1000) }));
  expect(await servers()).toEqual([
    'publisher 10.0.0.1:9443 1',
    'publisher [fd00::1]:9443 1',
    'gateway 10.0.0.2:8243 1',
    'gateway 10.0.0.7:8243 1',
  ]);
  now += PEER_IDLE_MS + 1;
  expect(await servers()).toEqual([
    'publisher 10.0.0.1:9443 1',
    'publisher [fd00::1]:9443 1',
    'gateway 10.0.0.2:8243 1',
  ]);
  // No plan (a configuration rendered before the file existed): servers appear with their first request, as before.
  metrics.configure(undefined);
  expect(await servers()).toEqual([]);
});

test('stub_status as NGINX writes it', () => {
  const text =
    'Active connections: 3 \nserver accepts handled requests\n 17 17 42 \nReading: 0 Writing: 1 Waiting: 2 \n';
  expect(parseStubStatus(text)).toEqual({
    active: 3,
    accepted: 17,
    handled: 17,
    requests: 42,
    reading: 0,
    writing: 1,
    waiting: 2,
  });
  expect(parseStubStatus('<html>404</html>')).toBeUndefined();
});

test('label values are bounded: past the limit, every new site and role counts as _', async () => {
  const registry = new Registry();
  const metrics = new TrafficMetrics(registry, 'fe', Date.now, 2);
  for (const site of ['a', 'b', 'c', 'd']) metrics.line(line({ site }));
  const samples = parseMetrics(await registry.metrics());
  const requests = samples.filter((s) => s.name === 'wso2_frontend_nginx_requests_total');
  expect(requests.map((s) => [s.labels.site, s.labels.role, s.value])).toEqual([
    ['a', 'publisher', 1],
    ['b', 'publisher', 1],
    ['_', '_', 2],
  ]);
  expect(sumOf(samples, 'wso2_frontend_agent_traffic_log_lines_total', { result: 'counted' })).toBe(4);
});
