// The generated parts of docs/ say exactly what the code does (npm run generate rewrites them):
// the field reference equals the CRD's schema, the metric tables the registries the operator and
// the agent serve. And the alert rules of docs/observability.md read only series those export.
import { readFileSync } from 'node:fs';
import * as yaml from 'js-yaml';
import { AgentMetrics } from '../../src/agent/metrics.js';
import { generatedParts } from '../../src/cli/docs.js';
import { OperatorMetrics } from '../../src/controller/observability.js';
import { withGenerated } from '../../src/render/reference.js';
import { checkExpression, exportedSeries } from '../support/promql.js';
import { allBlocks } from './markdown.js';

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

test('every alert rule of docs/observability.md parses and reads only exported series and labels', () => {
  const operator = new OperatorMetrics(
    () => ({ depth: 0, inFlight: 0, delayed: 0, adds: 0, retries: 0 }),
    Date.now,
    () => new Map(),
  );
  const agent = new AgentMetrics(() => 1, { frontend: 'fe', stubStatusUrl: 'http://127.0.0.1:9/stub_status' });
  const context = {
    series: exportedSeries([operator.registry, agent.registry]),
    targetLabels: new Set(['namespace', 'pod', 'job', 'instance']),
    variables: new Set<string>(),
  };
  const rules = allBlocks('yaml')
    .filter((b) => b.file === 'docs/observability.md' && b.text.includes('alert:'))
    .flatMap((b) => (yaml.load(b.text) as { groups: { rules: { alert: string; expr: string }[] }[] }).groups)
    .flatMap((g) => g.rules);
  expect(rules.length).toBeGreaterThanOrEqual(4);
  expect(rules.flatMap((r) => checkExpression(r.expr, context).map((p) => `${r.alert}: ${p}`))).toEqual([]);
});
