// docs/observability.md's metric tables, rendered from the registries the operator and the agent
// serve, so the documentation lists exactly what /metrics exports. The agent's registry is built
// here too (it is self-contained); Node's default process metrics are left out.
import { readFileSync } from 'node:fs';
import * as yaml from 'js-yaml';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { AgentMetrics } from '../agent/metrics.js';
import { OperatorMetrics } from './observability.js';

function table(registry: Registry): string {
  const defaults = new Registry();
  collectDefaultMetrics({ register: defaults });
  const defaultNames = defaults.getMetricsAsArray().map((m) => m.name);
  const rows = registry
    .getMetricsAsArray()
    .filter((m) => !defaultNames.some((d) => m.name.endsWith(d)))
    .map((m) => {
      // prom-client's typings leave out the type's name and the label names; both are there at run time.
      const { type, labelNames } = m as unknown as { type: string; labelNames?: string[] };
      const labels = (labelNames ?? []).map((l) => `\`${l}\``).join(', ') || 'none';
      return `| \`${m.name}\` | ${type} | ${labels} | ${m.help.replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`;
    })
    .sort();
  return ['| metric | type | labels | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

/** The operator's metrics (its /metrics on the health port). */
export function renderOperatorMetrics(): string {
  // As the operator process builds it: with the count of its API requests.
  const metrics = new OperatorMetrics(
    () => ({ depth: 0, inFlight: 0, delayed: 0, adds: 0, retries: 0 }),
    Date.now,
    () => new Map(),
  );
  return table(metrics.registry);
}

/** The reload agent's metrics, NGINX's traffic and stub_status included (each NGINX pod's port 8082). */
export function renderAgentMetrics(): string {
  // Nothing is read from NGINX here: the stub_status metrics are only collected on a scrape.
  const metrics = new AgentMetrics(() => 1, { frontend: 'docs', stubStatusUrl: 'http://127.0.0.1:9/stub_status' });
  return table(metrics.registry);
}

/** The plain rules file the Helm chart and kustomize ship as a PrometheusRule too. */
export const ALERT_RULES_FILE = 'deploy/prometheus/wso2-frontend.rules.yaml';

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; description: string; runbook_url: string };
}

/** The rule groups of the plain rules file (read from the repository's root). */
export function alertGroups(file = ALERT_RULES_FILE): { name: string; rules: AlertRule[] }[] {
  return (yaml.load(readFileSync(file, 'utf8')) as { groups: { name: string; rules: AlertRule[] }[] }).groups;
}

/** docs/observability.md's table of the alerts, one row a rule, linking each runbook. */
export function renderAlerts(): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const rows = alertGroups().flatMap((group) =>
    group.rules.map((rule) => {
      const anchor = rule.annotations.runbook_url.slice(rule.annotations.runbook_url.indexOf('#'));
      return `| [${rule.alert}](troubleshooting.md${anchor}) | ${group.name} | ${rule.labels.severity} | \`${cell(rule.expr)}\` | ${rule.for ?? '0'} |`;
    }),
  );
  return ['| alert | group | severity | fires when | for |', '|---|---|---|---|---|', ...rows].join('\n');
}
