// The figures worth plotting, as `npm run bench -- --json DIR PART...` writes them (DIR/PART.json)
// and as docs/benchmarks/data/*.json holds them; bench/plots.ts draws docs/benchmarks/*.svg from them.
import { cpus, loadavg, totalmem } from 'node:os';

export interface ThroughputFigures {
  /** Requests per second through each configuration: the median and every round's figure. */
  configurations: { name: string; rps: number; p99Ms: number | null; rounds: number[] }[];
}

export interface OperatorFigures {
  /** Seconds from applying a batch of frontends to all Ready; the baseline applies the same objects without the operator. */
  batches: { frontends: number; keys: string; seconds: number; baselineSeconds: number | null }[];
}

export interface AgentFigures {
  latencies: { name: string; p50Ms: number; p99Ms: number; count: number }[];
}

export interface Figures {
  throughput: ThroughputFigures;
  operator: OperatorFigures;
  agent: AgentFigures;
}

export type BenchResult = {
  [P in keyof Figures]: { benchmark: P; command: string; machine: string; date: string; figures: Figures[P] };
}[keyof Figures];

/** The machine a run was on: cores, memory and the load average (1 minute) when it started and ended. */
export function machine(loadAtStart: number): string {
  const gb = Math.round(totalmem() / 2 ** 30);
  return `${cpus().length} cores, ${gb} GB, load average ${loadAtStart.toFixed(1)} at the start and ${loadavg()[0]!.toFixed(1)} at the end`;
}
