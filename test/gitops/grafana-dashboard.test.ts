// The Grafana dashboard in deploy/grafana cannot rot silently: every PromQL expression in it
// (panels and template variables) parses with Prometheus' own grammar and reads only series that
// the operator's and the agent's real registries export (the agent's holds NGINX's traffic and
// stub_status metrics too), with labels those series carry, rate() only over counters, and only
// variables the dashboard defines.
import { readFileSync } from 'node:fs';
import { AgentMetrics } from '../../src/agent/metrics.js';
import { OperatorMetrics } from '../../src/controller/observability.js';
import { parseMetrics } from '../support/prometheus.js';
import { checkExpression, checkVariableQuery, exportedSeries, type CheckContext } from '../support/promql.js';

const DASHBOARD = 'deploy/grafana/wso2-frontend.json';

interface Panel {
  id?: number;
  type: string;
  title: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  templating: { list: { name: string; type: string; query: string | { query: string } }[] };
  panels: Panel[];
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const allPanels = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
const panels = allPanels(dashboard.panels);

const operatorMetrics = new OperatorMetrics(() => ({ depth: 0, inFlight: 0, delayed: 0, adds: 0, retries: 0 }));
// No NGINX here: the stub_status metrics read a port nothing listens on (nginx_up 0, the others 0).
const agentMetrics = new AgentMetrics(() => 1, { frontend: 'fe', stubStatusUrl: 'http://127.0.0.1:9/stub_status' });
const registries = [operatorMetrics.registry, agentMetrics.registry];

const context: CheckContext = {
  series: exportedSeries(registries),
  // What Prometheus adds to each target's series: the dashboard selects NGINX pods by the
  // namespace and pod of a PodMonitor's targets (the operator's ServiceMonitor honours the
  // operator's own namespace label).
  targetLabels: new Set(['namespace', 'pod', 'job', 'instance']),
  variables: new Set(dashboard.templating.list.map((v) => v.name)),
};

const queryOf = (variable: Dashboard['templating']['list'][number]) =>
  typeof variable.query === 'string' ? variable.query : variable.query.query;

const expressions = [
  ...panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr }))),
];
const variableQueries = dashboard.templating.list
  .filter((v) => v.type === 'query')
  .map((v) => ({ where: `variable $${v.name}`, expr: queryOf(v) }));

test('every panel expression parses and reads only exported series, labels and defined variables', () => {
  expect(expressions.length).toBeGreaterThan(0);
  const problems = expressions.flatMap(({ where, expr }) =>
    checkExpression(expr, context).map((p) => `${where}: ${p}`),
  );
  expect(problems).toEqual([]);
});

test('every template variable query parses and reads only exported series and labels', () => {
  expect(variableQueries.map((q) => q.where)).toEqual(['variable $namespace', 'variable $frontend']);
  const problems = variableQueries.flatMap(({ where, expr }) =>
    checkVariableQuery(expr, context).map((p) => `${where}: ${p}`),
  );
  expect(problems).toEqual([]);
});

test('the series the dashboard reads are in what the registries serve once each metric was observed', async () => {
  operatorMetrics.observeReconcile('error', 0.2);
  operatorMetrics.observeReconcileError('ns', 'fe', 'InvalidSpec');
  operatorMetrics.setConditions('ns', 'fe', [{ type: 'Ready', status: 'True' }]);
  operatorMetrics.setCertificates('ns', 'fe', new Map([['fe-tls', new Date(Date.now() + 86_400_000)]]));
  agentMetrics.observeReload('invalid', 0.1);
  agentMetrics.setServed('3f2a9c1e0b7d4a55');
  agentMetrics.traffic.record({
    site: 'api.example.com',
    role: 'gateway',
    timeMs: Date.now(),
    status: 502,
    requestSeconds: 0.3,
    upstreamSeconds: 0.3,
    attempts: [{ server: '10.0.0.1:8243', failed: true }],
  });
  const scraped = new Set(
    (await Promise.all(registries.map((r) => r.metrics()))).flatMap((text) => parseMetrics(text).map((s) => s.name)),
  );
  const read = new Set(
    [...expressions, ...variableQueries].flatMap(({ expr }) =>
      [...context.series.keys()].filter((name) => new RegExp(`\\b${name}\\b`).test(expr)),
    ),
  );
  expect(read.size).toBeGreaterThan(0);
  expect([...read].filter((name) => !scraped.has(name))).toEqual([]);
});

test('the panels the issue asks for are there', () => {
  expect(panels.map((p) => p.title)).toEqual(
    expect.arrayContaining([
      'Requests per second by host and status class',
      '5xx ratio by host',
      'Upstream response time p50 / p95 / p99 by role',
      'Upstream servers down',
      'Reloads by result',
      'Reload failures',
      'Certificate days left',
      'Reconcile errors',
    ]),
  );
});

test('panels have unique ids and use the dashboard data source variable', () => {
  const ids = panels.map((p) => p.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(dashboard.uid).toBe('wso2-frontend');
  for (const panel of panels.filter((p) => p.type !== 'row')) {
    expect(panel).toMatchObject({ datasource: { type: 'prometheus', uid: '${datasource}' } });
  }
});

describe('the checker finds what would rot', () => {
  const problemsOf = (expr: string) => checkExpression(expr, context);

  test('a syntax error', () => {
    expect(problemsOf('sum(rate(wso2_frontend_reconcile_total[5m])')).toEqual([
      expect.stringMatching(/^does not parse/),
    ]);
  });

  test('an unknown function', () => {
    expect(problemsOf('ratez(wso2_frontend_reconcile_total[5m])')).toEqual([expect.stringMatching(/^does not parse/)]);
  });

  test('a metric no registry exports', () => {
    expect(problemsOf('sum(rate(wso2_frontend_reconciles_total[5m]))')).toEqual([
      'refers to wso2_frontend_reconciles_total, which no registry exports',
    ]);
  });

  test('a histogram read without its suffix', () => {
    expect(problemsOf('rate(wso2_frontend_reconcile_duration_seconds[5m])')).toEqual([
      'refers to wso2_frontend_reconcile_duration_seconds, which no registry exports',
    ]);
  });

  test('a label the metric does not carry', () => {
    expect(problemsOf('wso2_frontend_certificate_expiry_seconds{frontend="x"}')).toEqual([
      'matches label frontend, which wso2_frontend_certificate_expiry_seconds does not have',
    ]);
  });

  test('a grouping by a label none of the series has', () => {
    expect(problemsOf('sum by (role) (rate(wso2_frontend_reconcile_total[5m]))')).toEqual([
      expect.stringMatching(/^groups by role, which none of the series/),
    ]);
  });

  test('rate() of a gauge', () => {
    expect(problemsOf('rate(wso2_frontend_queue_depth[5m])')).toEqual([
      'rate() of wso2_frontend_queue_depth, which is a gauge',
    ]);
  });

  test('histogram_quantile() of something that is not a bucket', () => {
    expect(problemsOf('histogram_quantile(0.9, sum by (le) (rate(wso2_frontend_reconcile_total[5m])))')).toEqual([
      'histogram_quantile() of no _bucket series',
      expect.stringMatching(/^groups by le/),
    ]);
  });

  test('a variable the dashboard does not define', () => {
    expect(problemsOf('wso2_frontend_certificate_expiry_seconds{namespace="$ns"}')).toEqual([
      'uses undefined variable $ns',
    ]);
  });

  test('a template variable over a label the metric does not carry', () => {
    expect(checkVariableQuery('label_values(wso2_frontend_queue_depth, frontend)', context)).toEqual([
      'label_values of frontend, which wso2_frontend_queue_depth does not have',
    ]);
  });
});
