// The generated parts of docs/ say exactly what the code does (npm run generate rewrites them):
// the field reference equals the CRD's schema, the metric tables the registries the operator and
// the agent serve, the table of alerts the rules file. And the alert rules of
// deploy/prometheus/wso2-frontend.rules.yaml read only series those export.
import { readFileSync } from 'node:fs';
import { AgentMetrics } from '../../src/agent/metrics.js';
import { generatedParts } from '../../src/cli/docs.js';
import { alertGroups } from '../../src/controller/metrics-reference.js';
import { OperatorMetrics } from '../../src/controller/observability.js';
import { withGenerated } from '../../src/render/reference.js';
import { checkExpression, exportedSeries } from '../support/promql.js';

test.each(generatedParts().map((p) => [`${p.file}: ${p.name}`, p] as const))(
  '%s is current (run npm run generate after changing the API or a metric)',
  (_where, part) => {
    const doc = readFileSync(`docs/${part.file}`, 'utf8');
    expect(doc).toBe(withGenerated(doc, part.name, part.content()));
  },
);

test('the reference lists every spec field, including map and list entries', () => {
  const doc = readFileSync('docs/reference.md', 'utf8');
  for (const field of [
    'product',
    'sites.<name>.sessionAffinity.cookie.sameSite',
    'backends.external.nodes[].address',
    'backends.managed.components.<name>.replicas',
    'nginx.hsts.maxAgeSeconds',
  ]) {
    expect(doc).toContain(`| \`${field}\` |`);
  }
});

test('the metric tables name the metrics with their labels', () => {
  const doc = readFileSync('docs/observability.md', 'utf8');
  expect(doc).toContain('| `wso2_frontend_status_condition` | gauge | `namespace`, `name`, `type`, `status` |');
  expect(doc).toContain(
    '| `wso2_frontend_nginx_requests_total` | counter | `frontend`, `site`, `role`, `status_class` |',
  );
  expect(doc).toContain('| `wso2_frontend_api_requests_total` | counter | `method`, `resource` |');
});

test('every alert rule reads only exported series and labels (and up, which Prometheus adds)', () => {
  const operator = new OperatorMetrics(
    () => ({ depth: 0, inFlight: 0, delayed: 0, adds: 0, retries: 0 }),
    Date.now,
    () => new Map(),
  );
  const agent = new AgentMetrics(() => 1, { frontend: 'fe', stubStatusUrl: 'http://127.0.0.1:9/stub_status' });
  const series = exportedSeries([operator.registry, agent.registry]);
  series.set('up', { name: 'up', type: 'gauge', labels: new Set() });
  const context = {
    series,
    targetLabels: new Set(['namespace', 'pod', 'job', 'instance']),
    variables: new Set<string>(),
  };
  const rules = alertGroups().flatMap((g) => g.rules);
  expect(rules.length).toBeGreaterThanOrEqual(10);
  expect(rules.flatMap((r) => checkExpression(r.expr, context).map((p) => `${r.alert}: ${p}`))).toEqual([]);
});
