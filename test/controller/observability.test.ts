// The operator's probe and metrics endpoints, over real HTTP on a free local port: probes follow
// liveness and readiness as they change, /metrics speaks the Prometheus text format with the
// operator's metrics, and closing the server releases its port.
import { OperatorMetrics, startHealthServer, type HealthServer } from '../../src/controller/observability.js';
import type { WorkQueueStats } from '../../src/controller/runtime/workqueue.js';

const host = '127.0.0.1';

function queueStats(overrides: Partial<WorkQueueStats> = {}): WorkQueueStats {
  return { depth: 0, inFlight: 0, delayed: 0, adds: 0, retries: 0, ...overrides };
}

/** A running server whose liveness, readiness and queue statistics the test sets. */
class Operator {
  live = true;
  ready = false;
  stats = queueStats();
  readonly metrics: OperatorMetrics;
  server: HealthServer | undefined;

  constructor(now?: () => number) {
    this.metrics = new OperatorMetrics(() => this.stats, now);
  }

  async start(port = 0): Promise<HealthServer> {
    this.server = await startHealthServer({
      port,
      host,
      metrics: this.metrics,
      isLive: () => this.live,
      isReady: () => this.ready,
    });
    return this.server;
  }

  url(path: string): string {
    return `http://${host}:${this.server!.port}${path}`;
  }

  async scrape(): Promise<string> {
    const response = await fetch(this.url('/metrics'));
    expect(response.status).toBe(200);
    return response.text();
  }
}

let operators: Operator[] = [];

async function startOperator(now?: () => number): Promise<Operator> {
  const operator = new Operator(now);
  operators.push(operator);
  await operator.start();
  return operator;
}

afterEach(async () => {
  for (const operator of operators) await operator.server?.close();
  operators = [];
});

test('the server binds a free port when asked for port 0 and reports the bound port', async () => {
  const operator = await startOperator();

  expect(operator.server!.port).toBeGreaterThan(0);
  expect((await fetch(operator.url('/healthz'))).status).toBe(200);
});

test('/healthz answers 200 "ok" while live and 500 once not live', async () => {
  const operator = await startOperator();

  const live = await fetch(operator.url('/healthz'));
  expect(live.status).toBe(200);
  expect(await live.text()).toBe('ok\n');

  operator.live = false;
  expect((await fetch(operator.url('/healthz'))).status).toBe(500);

  operator.live = true;
  expect((await fetch(operator.url('/healthz'))).status).toBe(200);
});

test('/readyz answers 503 with a plain-text reason until ready, then 200', async () => {
  const operator = await startOperator();

  const notReady = await fetch(operator.url('/readyz'));
  expect(notReady.status).toBe(503);
  expect(notReady.headers.get('content-type')).toMatch(/^text\/plain/);
  expect(await notReady.text()).toBe('not ready\n');

  operator.ready = true;
  const ready = await fetch(operator.url('/readyz'));
  expect(ready.status).toBe(200);
  expect(await ready.text()).toBe('ok\n');
});

test('/metrics counts reconciles by result in the Prometheus text format', async () => {
  const operator = await startOperator();
  operator.metrics.observeReconcile('success', 0.02);
  operator.metrics.observeReconcile('success', 0.3);
  operator.metrics.observeReconcile('error', 2);

  const response = await fetch(operator.url('/metrics'));
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const body = await response.text();
  expect(body).toContain('# TYPE wso2_frontend_reconcile_total counter');
  expect(body).toContain('wso2_frontend_reconcile_total{result="success"} 2\n');
  expect(body).toContain('wso2_frontend_reconcile_total{result="error"} 1\n');
});

test('/metrics has a reconcile duration histogram with buckets from 1 ms to 60 s', async () => {
  const operator = await startOperator();
  operator.metrics.observeReconcile('success', 0.02);
  operator.metrics.observeReconcile('success', 0.3);

  const body = await operator.scrape();
  expect(body).toContain('# TYPE wso2_frontend_reconcile_duration_seconds histogram');
  expect(body).toContain('wso2_frontend_reconcile_duration_seconds_bucket{le="0.001",result="success"} 0\n');
  expect(body).toContain('wso2_frontend_reconcile_duration_seconds_bucket{le="0.025",result="success"} 1\n');
  expect(body).toContain('wso2_frontend_reconcile_duration_seconds_bucket{le="0.5",result="success"} 2\n');
  expect(body).toContain('wso2_frontend_reconcile_duration_seconds_bucket{le="60",result="success"} 2\n');
  expect(body).toContain('wso2_frontend_reconcile_duration_seconds_bucket{le="+Inf",result="success"} 2\n');
  expect(body).toContain('wso2_frontend_reconcile_duration_seconds_sum{result="success"} 0.32\n');
  expect(body).toContain('wso2_frontend_reconcile_duration_seconds_count{result="success"} 2\n');
});

test('queue depth and retries are read from the work queue at scrape time', async () => {
  const operator = await startOperator();
  operator.stats = queueStats({ depth: 3, retries: 5 });

  const first = await operator.scrape();
  expect(first).toContain('wso2_frontend_queue_depth 3\n');
  expect(first).toContain('# TYPE wso2_frontend_queue_retries_total counter');
  expect(first).toContain('wso2_frontend_queue_retries_total 5\n');

  operator.stats = queueStats({ depth: 0, retries: 7 });
  const second = await operator.scrape();
  expect(second).toContain('wso2_frontend_queue_depth 0\n');
  expect(second).toContain('wso2_frontend_queue_retries_total 7\n');
});

test('certificate expiry is exported per certificate and removed when the frontend is forgotten', async () => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const operator = await startOperator(() => now);
  const at = (seconds: number) => new Date(now + seconds * 1000);
  operator.metrics.setCertificates(
    'prod',
    'apim',
    new Map([
      ['apim-tls-gateway', at(86_400)],
      ['apim-tls-publisher', at(3_600)],
    ]),
  );
  operator.metrics.setCertificates('prod', 'is', new Map([['is-tls-frontend', at(7_200)]]));

  const before = await operator.scrape();
  expect(before).toContain(
    'wso2_frontend_certificate_expiry_seconds{namespace="prod",name="apim",certificate="apim-tls-gateway"} 86400\n',
  );
  expect(before).toContain(
    'wso2_frontend_certificate_expiry_seconds{namespace="prod",name="apim",certificate="apim-tls-publisher"} 3600\n',
  );

  // The seconds left count down between reconciles, computed at each scrape.
  now += 600_000;
  expect(await operator.scrape()).toContain(
    'wso2_frontend_certificate_expiry_seconds{namespace="prod",name="apim",certificate="apim-tls-publisher"} 3000\n',
  );

  // A certificate no longer served (a host removed) goes with the next set.
  operator.metrics.setCertificates('prod', 'apim', new Map([['apim-tls-gateway', at(86_400)]]));
  expect(await operator.scrape()).not.toContain('apim-tls-publisher');

  operator.metrics.forgetFrontend('prod', 'apim');
  const after = await operator.scrape();
  expect(after).not.toContain('name="apim"');
  expect(after).toContain(
    'wso2_frontend_certificate_expiry_seconds{namespace="prod",name="is",certificate="is-tls-frontend"} 6600\n',
  );
});

test('reconcile errors are counted per frontend and reason, and removed when the frontend is forgotten', async () => {
  const operator = await startOperator();
  operator.metrics.observeReconcileError('prod', 'apim', 'InvalidSpec');
  operator.metrics.observeReconcileError('prod', 'apim', 'InvalidSpec');
  operator.metrics.observeReconcileError('prod', 'apim', 'ApplyFailed');
  operator.metrics.observeReconcileError('prod', 'is', 'ReconcileFailed');

  const before = await operator.scrape();
  expect(before).toContain('# TYPE wso2_frontend_reconcile_errors_total counter');
  expect(before).toContain(
    'wso2_frontend_reconcile_errors_total{namespace="prod",name="apim",reason="InvalidSpec"} 2\n',
  );
  expect(before).toContain(
    'wso2_frontend_reconcile_errors_total{namespace="prod",name="apim",reason="ApplyFailed"} 1\n',
  );

  operator.metrics.forgetReconcileErrors('prod', 'apim');
  const after = await operator.scrape();
  expect(after).not.toContain('name="apim"');
  expect(after).toContain(
    'wso2_frontend_reconcile_errors_total{namespace="prod",name="is",reason="ReconcileFailed"} 1\n',
  );
});

test('site serving state is exported per site, without series for sites with no probe result, and replaced on each set', async () => {
  const operator = await startOperator();
  operator.metrics.setSites('prod', 'apim', [
    { host: 'api.am.wso2.com', serving: 'True', nodesAnswering: 1, nodesTotal: 2, p50LatencyMs: 12 },
    { host: 'gw.am.wso2.com', serving: 'False', nodesAnswering: 0, nodesTotal: 2, lastError: '502 from NGINX' },
    { host: 'portal.am.wso2.com', serving: 'Unknown' },
  ]);
  const scraped = await operator.scrape();
  const site = (metric: string, host: string) => `wso2_frontend_${metric}{namespace="prod",name="apim",site="${host}"}`;
  expect(scraped).toContain(`${site('site_serving', 'api.am.wso2.com')} 1\n`);
  expect(scraped).toContain(`${site('site_serving', 'gw.am.wso2.com')} 0\n`);
  expect(scraped).toContain(`${site('site_nodes_answering', 'api.am.wso2.com')} 1\n`);
  expect(scraped).toContain(`${site('site_nodes', 'api.am.wso2.com')} 2\n`);
  expect(scraped).toContain(`${site('site_probe_latency_p50_seconds', 'api.am.wso2.com')} 0.012\n`);
  expect(scraped).not.toContain('portal.am.wso2.com');

  operator.metrics.setSites('prod', 'apim', [{ host: 'api.am.wso2.com', serving: 'Unknown' }]);
  expect(await operator.scrape()).not.toContain('site="');
  operator.metrics.setSites('prod', 'apim', [
    { host: 'gw.am.wso2.com', serving: 'True', nodesAnswering: 2, nodesTotal: 2 },
  ]);
  operator.metrics.setSites('prod', 'apim', []);
  expect(await operator.scrape()).not.toContain('site="');
});

test('/metrics includes default Node process metrics with the operator prefix', async () => {
  const operator = await startOperator();

  const body = await operator.scrape();
  expect(body).toMatch(/^wso2_frontend_process_cpu_user_seconds_total \d/m);
  expect(body).toMatch(/^wso2_frontend_nodejs_heap_size_used_bytes \d/m);
});

test('two operators in one process keep separate registries', async () => {
  const first = await startOperator();
  const second = await startOperator();
  first.metrics.observeReconcile('requeue', 0.01);

  expect(await first.scrape()).toContain('wso2_frontend_reconcile_total{result="requeue"} 1\n');
  expect(await second.scrape()).not.toContain('wso2_frontend_reconcile_total{result="requeue"}');
});

test('an unknown path is 404', async () => {
  const operator = await startOperator();

  expect((await fetch(operator.url('/'))).status).toBe(404);
  expect((await fetch(operator.url('/metrics/extra'))).status).toBe(404);
});

test('methods other than GET and HEAD are 405 with an Allow header', async () => {
  const operator = await startOperator();

  const response = await fetch(operator.url('/healthz'), { method: 'POST', body: 'x' });
  expect(response.status).toBe(405);
  expect(response.headers.get('allow')).toBe('GET, HEAD');
});

test('HEAD answers with the status and no body', async () => {
  const operator = await startOperator();

  const response = await fetch(operator.url('/readyz'), { method: 'HEAD' });
  expect(response.status).toBe(503);
  expect(await response.text()).toBe('');
});

test('close() releases the port, so connections are refused and another server can bind it', async () => {
  const operator = await startOperator();
  await fetch(operator.url('/healthz'));
  const { port } = operator.server!;
  const url = operator.url('/healthz');
  await operator.server!.close();
  operator.server = undefined;

  await expect(fetch(url)).rejects.toThrow();

  const successor = new Operator();
  operators.push(successor);
  await successor.start(port);
  expect(successor.server!.port).toBe(port);
  expect((await fetch(successor.url('/healthz'))).status).toBe(200);
});
