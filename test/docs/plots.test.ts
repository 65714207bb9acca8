// The plots of docs/benchmarks.md are drawn from the committed results (docs/benchmarks/data) by
// `npm run plots`: each SVG is what the script draws from its data today (so neither can change
// without the other), is well-formed XML, shows every figure and label of its data, and the page
// embeds it. A data file of the wrong shape is refused by name and field.
import { DOMParser } from '@xmldom/xmldom';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { plot } from '../../bench/plot.js';
import { plotSources } from '../../bench/plots.js';
import { parseResult, type BenchResult } from '../../bench/results.js';

const sources = plotSources();
const cases = sources.map((source) => [source.svg, source] as const);
const page = readFileSync('docs/benchmarks.md', 'utf8');

const integer = (n: number) => n.toLocaleString('en-US');
const tenths = (n: number) => n.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** The texts a plot of the result must show: its row labels and values as written on the bars, and its date. */
function expectedTexts(result: BenchResult): string[] {
  switch (result.benchmark) {
    case 'throughput':
      return result.figures.configurations.flatMap((c) => [c.name, integer(c.rps)]);
    case 'operator':
      return result.figures.batches.flatMap((b) => [
        `${b.frontends} frontends, ${b.keys} keys`,
        tenths(b.seconds),
        ...(b.baselineSeconds === null ? [] : [tenths(b.baselineSeconds)]),
      ]);
    case 'agent':
      return result.figures.latencies.flatMap((l) => [`${l.name} (${l.count})`, integer(l.p50Ms), integer(l.p99Ms)]);
  }
}

test('there are results for the throughput, operator and agent plots', () => {
  expect(new Set(sources.map((s) => s.result.benchmark))).toEqual(new Set(['throughput', 'operator', 'agent']));
  for (const { result } of sources) expect(result.command).toMatch(/npm run bench -- /);
});

test.each(cases)('%s is what npm run plots draws from its data', async (_svg, { svg, result }) => {
  expect(readFileSync(svg, 'utf8')).toBe(await plot(result));
});

test.each(cases)('%s is well-formed and shows its figures and labels', (_svg, { svg, result }) => {
  const problems: string[] = [];
  const document = new DOMParser({
    onError: (level, message) => {
      if (level !== 'warning') problems.push(message);
    },
  }).parseFromString(readFileSync(svg, 'utf8'), 'image/svg+xml');
  expect(problems).toEqual([]);
  expect(document.documentElement?.tagName).toBe('svg');
  const texts = Array.from(document.getElementsByTagName('text'), (t) => t.textContent ?? '');
  for (const text of expectedTexts(result)) expect(texts).toContain(text);
  expect(texts.some((t) => t.startsWith(`${result.date}, ${result.machine}`))).toBe(true);
});

test.each(cases)('docs/benchmarks.md embeds %s', (_svg, { svg }) => {
  expect(page).toContain(`](benchmarks/${basename(svg)})`);
});

test('a result with a wrong field is refused with the file and the field named', () => {
  const { data } = sources.find((s) => s.result.benchmark === 'operator')!;
  const result = JSON.parse(readFileSync(data, 'utf8'));
  result.figures.batches[0].frontends = '100';
  expect(() => parseResult(data, JSON.stringify(result))).toThrow(
    `${data}/figures/batches/0/frontends: Expected integer`,
  );
  expect(() => parseResult(data, JSON.stringify({ ...result, benchmark: 'render' }))).toThrow(
    `${data}/benchmark: must be one of throughput, operator, agent`,
  );
});
