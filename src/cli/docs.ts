// `wso2-frontend docs --update`: rewrites the generated parts of docs/ (npm run generate).
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { renderAgentMetrics, renderAlerts, renderOperatorMetrics } from '../controller/metrics-reference.js';
import { renderFieldReference, withGenerated } from '../render/reference.js';
import { UsageError } from './usage-error.js';

export const usage = `wso2-frontend docs --update [--dir DIR]

Rewrites the generated parts of the documentation in DIR (default docs): the field reference
of reference.md (from the CRD schema), the metric tables of observability.md (from the
operator's and the agent's metric registries) and its table of alerts (from
deploy/prometheus/wso2-frontend.rules.yaml).`;

/** Each generated part: the file, the name of its markers, and its content now. */
export function generatedParts(): { file: string; name: string; content: () => string }[] {
  return [
    { file: 'reference.md', name: 'field reference', content: renderFieldReference },
    { file: 'observability.md', name: 'operator metrics', content: renderOperatorMetrics },
    { file: 'observability.md', name: 'agent metrics', content: renderAgentMetrics },
    { file: 'observability.md', name: 'alerts', content: renderAlerts },
  ];
}

export function runDocs(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: { update: { type: 'boolean' }, dir: { type: 'string', default: 'docs' } },
    strict: true,
  });
  if (!values.update) throw new UsageError('docs: --update is required');
  for (const part of generatedParts()) {
    const file = `${values.dir}/${part.file}`;
    writeFileSync(file, withGenerated(readFileSync(file, 'utf8'), part.name, part.content()));
  }
  return 0;
}
