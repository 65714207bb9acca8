// One SVG per benchmark result (bench/results.ts): horizontal bars with their values written on
// them, drawn by Vega-Lite and rendered to SVG by Vega in Node (no browser, no canvas: text widths
// are estimated, so the same result always gives the same bytes).
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { BenchResult } from './results.js';

/** A bar: its row, its series within the row (one bar each), its value. */
interface Bar {
  row: string;
  series: string;
  value: number;
}

/** What a plot shows: its bars, extra points (one throughput round each) and the value axis. */
interface Chart {
  title: string;
  /** Where the figures come from: date and machine (docs/benchmarks.md names the command). */
  subtitle: string;
  axis: string;
  /** d3-format of the values written on the bars. */
  format: string;
  bars: Bar[];
  points: Bar[];
}

function chartOf(result: BenchResult): Chart {
  const subtitle = `${result.date}, ${result.machine}`;
  switch (result.benchmark) {
    case 'throughput': {
      const { configurations } = result.figures;
      return {
        title: 'Requests per second through NGINX (bars: median of the rounds; dots: each round, where recorded)',
        subtitle,
        axis: 'requests per second',
        format: ',d',
        bars: configurations.map((c) => ({ row: c.name, series: 'median', value: c.rps })),
        points: configurations.flatMap((c) => c.rounds.map((value) => ({ row: c.name, series: 'round', value }))),
      };
    }
    case 'operator':
      return {
        title: 'Seconds from applying a batch of frontends to all of them Ready',
        subtitle,
        axis: 'seconds',
        format: ',.1f',
        bars: result.figures.batches.flatMap((b) => {
          const row = `${b.frontends} frontends, ${b.keys} keys`;
          const operator = { row, series: 'the operator', value: b.seconds };
          return b.baselineSeconds === null
            ? [operator]
            : [operator, { row, series: 'baseline', value: b.baselineSeconds }];
        }),
        points: [],
      };
    case 'agent':
      return {
        title: 'Reload agent: from a change to NGINX serving it (changes counted in brackets)',
        subtitle,
        axis: 'milliseconds',
        format: ',d',
        bars: result.figures.latencies.flatMap((l) => [
          { row: `${l.name} (${l.count})`, series: 'p50', value: l.p50Ms },
          { row: `${l.name} (${l.count})`, series: 'p99', value: l.p99Ms },
        ]),
        points: [],
      };
  }
}

function specOf(chart: Chart): TopLevelSpec {
  const rows = [...new Set(chart.bars.map((b) => b.row))];
  const y = { field: 'row', type: 'nominal', sort: rows, title: null, axis: { labelLimit: 400 } } as const;
  const x = { field: 'value', type: 'quantitative', title: chart.axis } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: chart.title, subtitle: chart.subtitle, fontSize: 13, anchor: 'start', limit: 0 },
    width: 360,
    background: 'white',
    config: { font: 'Helvetica, Arial, sans-serif' },
    layer: [
      {
        data: { values: chart.bars },
        encoding: { y, yOffset: { field: 'series' }, x },
        layer: [
          { mark: 'bar', encoding: { color: { field: 'series', title: null } } },
          // Written at the start of the bar, clear of the dots near its end.
          {
            mark: { type: 'text', align: 'left', dx: 4, color: 'white' },
            encoding: { x: { datum: 0 }, text: { field: 'value', format: chart.format } },
          },
        ],
      },
      ...(chart.points.length
        ? [{ data: { values: chart.points }, mark: { type: 'point', color: 'black' }, encoding: { y, x } } as const]
        : []),
    ],
  };
}

export async function plot(result: BenchResult): Promise<string> {
  const view = new vega.View(vega.parse(compile(specOf(chartOf(result))).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return `${svg}\n`;
}
