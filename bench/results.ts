// The figures worth plotting, as `npm run bench -- --json DIR PART...` writes them (DIR/PART.json)
// and as docs/benchmarks/data/*.json holds them; bench/plots.ts draws docs/benchmarks/*.svg from them.
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { cpus, loadavg, totalmem } from 'node:os';

const ThroughputFigures = Type.Object({
  /** Requests per second through each configuration: the median and every round's figure. */
  configurations: Type.Array(
    Type.Object({
      name: Type.String(),
      rps: Type.Number(),
      p99Ms: Type.Union([Type.Number(), Type.Null()]),
      rounds: Type.Array(Type.Number()),
    }),
  ),
});

const OperatorFigures = Type.Object({
  /** Seconds from applying a batch of frontends to all Ready; the baseline applies the same objects without the operator. */
  batches: Type.Array(
    Type.Object({
      frontends: Type.Integer(),
      keys: Type.String(),
      seconds: Type.Number(),
      baselineSeconds: Type.Union([Type.Number(), Type.Null()]),
    }),
  ),
});

const AgentFigures = Type.Object({
  latencies: Type.Array(
    Type.Object({ name: Type.String(), p50Ms: Type.Number(), p99Ms: Type.Number(), count: Type.Integer() }),
  ),
});

const FIGURES = { throughput: ThroughputFigures, operator: OperatorFigures, agent: AgentFigures };

/** A run's benchmark and where its figures come from, as a reader needs to weigh them; its figures are checked by benchmark. */
const Run = Type.Object({
  benchmark: Type.Union(Object.keys(FIGURES).map((name) => Type.Literal(name))),
  command: Type.String(),
  machine: Type.String(),
  date: Type.String(),
  figures: Type.Unknown(),
});

export type ThroughputFigures = Static<typeof ThroughputFigures>;
export type OperatorFigures = Static<typeof OperatorFigures>;
export type AgentFigures = Static<typeof AgentFigures>;
export type Figures = { [P in keyof typeof FIGURES]: Static<(typeof FIGURES)[P]> };
export type BenchResult = {
  [P in keyof Figures]: Omit<Static<typeof Run>, 'benchmark' | 'figures'> & { benchmark: P; figures: Figures[P] };
}[keyof Figures];

/** A result file's text as a result, or an error naming the file and the first field that is wrong. */
export function parseResult(file: string, text: string): BenchResult {
  const value: unknown = JSON.parse(text);
  const wrong = (path: string, message: string) => new Error(`${file}${path || ' (top level)'}: ${message}`);
  const header = Value.Errors(Run, value).First();
  if (header?.path === '/benchmark') throw wrong(header.path, `must be one of ${Object.keys(FIGURES).join(', ')}`);
  if (header) throw wrong(header.path, header.message);
  const { benchmark, figures } = value as BenchResult;
  const error = Value.Errors(FIGURES[benchmark], figures).First();
  if (error) throw wrong(`/figures${error.path}`, error.message);
  return value as BenchResult;
}

/** The machine a run was on: cores, memory and the load average (1 minute) when it started and ended. */
export function machine(loadAtStart: number): string {
  const gb = Math.round(totalmem() / 2 ** 30);
  return `${cpus().length} cores, ${gb} GB, load average ${loadAtStart.toFixed(1)} at the start and ${loadavg()[0]!.toFixed(1)} at the end`;
}
