// npm run plots: docs/benchmarks/NAME.svg from each docs/benchmarks/data/NAME.json (a result as
// `npm run bench -- --json DIR` writes it); test/docs/plots.test.ts checks they match.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { plot } from './plot.js';
import { parseResult, type BenchResult } from './results.js';

export const PLOTS_DIR = 'docs/benchmarks';
const DATA_DIR = join(PLOTS_DIR, 'data');

/** Every committed result: its data file, the SVG drawn from it, and the result. */
export function plotSources(): { data: string; svg: string; result: BenchResult }[] {
  return readdirSync(DATA_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({
      data: join(DATA_DIR, f),
      svg: join(PLOTS_DIR, f.replace(/\.json$/, '.svg')),
      result: parseResult(join(DATA_DIR, f), readFileSync(join(DATA_DIR, f), 'utf8')),
    }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const { data, svg, result } of plotSources()) {
    writeFileSync(svg, await plot(result));
    console.log(`${data} -> ${svg}`);
  }
}
