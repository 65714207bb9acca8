// Checks the PromQL of a Grafana dashboard against the metrics the project exports, so that a
// renamed metric or label, or a panel that rates a gauge, fails a test instead of drawing an
// empty graph. Expressions are parsed by Prometheus' own grammar (@prometheus-io/lezer-promql, in
// strict mode: any syntax error throws); the exported series come from the real prom-client
// registries, with the series a histogram or summary is exposed as.
import { parser } from '@prometheus-io/lezer-promql';
import type { Registry } from 'prom-client';

const strictParser = parser.configure({ strict: true });
type SyntaxNode = ReturnType<typeof strictParser.parse>['topNode'];

export type SeriesType = 'counter' | 'gauge';

/** One series name as Prometheus stores it, with the labels it carries and whether it only grows. */
export interface ExportedSeries {
  name: string;
  type: SeriesType;
  labels: ReadonlySet<string>;
}

/**
 * The series the metrics of `registries` are scraped as: a histogram `x` is `x_bucket` (with
 * `le`), `x_sum` and `x_count`; a summary `x` is `x` (with `quantile`), `x_sum` and `x_count`;
 * counters and gauges keep their names (prom-client appends no `_total`).
 */
export function exportedSeries(registries: readonly Registry[]): Map<string, ExportedSeries> {
  const series = new Map<string, ExportedSeries>();
  const add = (name: string, type: SeriesType, labels: readonly string[]) => {
    if (series.has(name)) throw new Error(`${name} is exported twice`);
    series.set(name, { name, type, labels: new Set(labels) });
  };
  for (const registry of registries) {
    for (const metric of registry.getMetricsAsArray()) {
      // prom-client's typings call the type a numeric enum and leave out the label names; at run
      // time each metric object has `type` as a string ('counter', ...) and its `labelNames`.
      const { type, labelNames } = metric as unknown as { type: string; labelNames?: string[] };
      const labels = labelNames ?? [];
      switch (type) {
        case 'histogram':
          add(`${metric.name}_bucket`, 'counter', [...labels, 'le']);
          add(`${metric.name}_sum`, 'counter', labels);
          add(`${metric.name}_count`, 'counter', labels);
          break;
        case 'summary':
          add(metric.name, 'gauge', [...labels, 'quantile']);
          add(`${metric.name}_sum`, 'counter', labels);
          add(`${metric.name}_count`, 'counter', labels);
          break;
        case 'counter':
          add(metric.name, 'counter', labels);
          break;
        default:
          add(metric.name, 'gauge', labels);
      }
    }
  }
  return series;
}

export interface CheckContext {
  series: ReadonlyMap<string, ExportedSeries>;
  /** Labels Prometheus adds to every scraped series (the target's `namespace`, `pod`, ...). */
  targetLabels: ReadonlySet<string>;
  /** Grafana variables defined by the dashboard, plus Grafana's built-in ones. */
  variables: ReadonlySet<string>;
}

/** Grafana's built-in interval variables, with a duration that stands in for them when parsing. */
export const GRAFANA_INTERVALS: Readonly<Record<string, string>> = {
  __rate_interval: '5m',
  __interval: '1m',
  __range: '1h',
};

/** Functions over a range vector that only make sense on series that only grow. */
const COUNTER_FUNCTIONS = new Set(['rate', 'irate', 'increase', 'resets']);

/** Every problem of one expression (empty when it is fine). */
export function checkExpression(expression: string, context: CheckContext): string[] {
  const problems: string[] = [];
  const variableProblem = (name: string) =>
    context.variables.has(name) || name in GRAFANA_INTERVALS ? [] : [`uses undefined variable $${name}`];
  // Grafana replaces $var, ${var} and [[var]] before Prometheus sees the query; the parser sees
  // what Prometheus would, with a duration for the interval variables and a name for the others.
  const substituted = expression.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, (_, a, b, c) => {
    const name = (a ?? b ?? c) as string;
    problems.push(...variableProblem(name));
    return GRAFANA_INTERVALS[name] ?? `value_of_${name}`;
  });
  let tree;
  try {
    tree = strictParser.parse(substituted);
  } catch (error) {
    return [...problems, `does not parse: ${(error as Error).message} in ${JSON.stringify(substituted)}`];
  }
  const text = (node: SyntaxNode) => substituted.slice(node.from, node.to);
  /** The exported series selected anywhere inside `node`. */
  const seriesIn = (node: SyntaxNode): ExportedSeries[] => {
    const name = node.name === 'VectorSelector' ? node.getChild('Identifier') : null;
    const own = name ? context.series.get(text(name)) : undefined;
    const found = own ? [own] : [];
    for (let child = node.firstChild; child; child = child.nextSibling) found.push(...seriesIn(child));
    return found;
  };

  tree.iterate({
    enter: (ref) => {
      const node = ref.node;
      if (ref.name === 'VectorSelector') {
        const nameNode = node.getChild('Identifier');
        if (!nameNode) {
          problems.push(`selects no metric by name: ${text(node)}`);
          return;
        }
        const exported = context.series.get(text(nameNode));
        if (!exported) {
          problems.push(`refers to ${text(nameNode)}, which no registry exports`);
          return;
        }
        for (const matcher of node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
          const label = text(matcher.getChild('LabelName')!);
          if (!exported.labels.has(label) && !context.targetLabels.has(label)) {
            problems.push(`matches label ${label}, which ${exported.name} does not have`);
          }
        }
      }
      if (ref.name === 'FunctionCall') {
        const fn = text(node.getChild('FunctionIdentifier')!);
        if (COUNTER_FUNCTIONS.has(fn)) {
          for (const series of seriesIn(node).filter((s) => s.type !== 'counter')) {
            problems.push(`${fn}() of ${series.name}, which is a gauge`);
          }
        }
        if (fn === 'histogram_quantile') {
          const buckets = seriesIn(node).filter((s) => s.name.endsWith('_bucket'));
          if (!buckets.length) problems.push('histogram_quantile() of no _bucket series');
        }
      }
      if (ref.name === 'AggregateModifier' || ref.name === 'MatchingModifierClause') {
        // The labels a grouping keeps must exist on what is grouped: the nearest aggregation or
        // binary expression around it.
        const scope = node.parent!;
        const available = new Set([...context.targetLabels, ...seriesIn(scope).flatMap((s) => [...s.labels])]);
        for (const label of node.getChild('GroupingLabels')?.getChildren('LabelName') ?? []) {
          if (!available.has(text(label))) {
            problems.push(`groups by ${text(label)}, which none of the series in ${text(scope)} has`);
          }
        }
      }
    },
  });
  return problems;
}

/** A PromQL query of Grafana's template variables: label_values(selector, label) or a plain expression. */
export function checkVariableQuery(query: string, context: CheckContext): string[] {
  const labelValues = /^\s*label_values\(\s*(.*?)\s*,\s*(\w+)\s*\)\s*$/s.exec(query);
  if (!labelValues) return checkExpression(query, context);
  const [, selector, label] = labelValues as unknown as [string, string, string];
  const problems = checkExpression(selector, context);
  const name = /^\w+/.exec(selector)?.[0];
  const series = name ? context.series.get(name) : undefined;
  if (series && !series.labels.has(label) && !context.targetLabels.has(label)) {
    problems.push(`label_values of ${label}, which ${series.name} does not have`);
  }
  return problems;
}
