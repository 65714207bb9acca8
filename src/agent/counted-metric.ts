// Metrics counted in plain numbers on the agent's hot path and handed to prom-client only when
// scraped. prom-client's own `inc` and `observe` check and hash the labels on every call, which
// was a third of the agent's CPU per traffic log line (`npm run bench -- traffic`); here a line
// costs an array increment, and the labels are written once per scrape.
import type { Metric, Registry } from 'prom-client';

type Labels = Record<string, string>;

/** One exported sample, as prom-client's registry formats it. */
export interface Sample {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}

/**
 * A counter or histogram whose values `collect` lists at scrape time, registered with a prom-client
 * registry like prom-client's own metrics (name, help, type, label names, `get`).
 */
export class CountedMetric {
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    readonly labelNames: readonly string[],
    private readonly collect: () => Sample[],
  ) {}

  register(registry: Registry): this {
    // The registry needs only what this class has; prom-client's typings name its own classes.
    registry.registerMetric(this as unknown as Metric);
    return this;
  }

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.collect(),
    });
  }

  /** The counts belong to their owner, which never resets them (a counter only goes up). */
  reset(): void {}
}

/** A histogram's buckets for one label set: `observe` is a scan of the bounds and two additions. */
export class Buckets {
  /** Per bucket, not cumulative; the last is +Inf. */
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }

  /** The `_bucket` (cumulative, `le`), `_sum` and `_count` samples of `name`. */
  samples(name: string, labels: Labels): Sample[] {
    const samples: Sample[] = [];
    let cumulative = 0;
    for (let i = 0; i <= this.bounds.length; i++) {
      cumulative += this.counts[i]!;
      samples.push({
        metricName: `${name}_bucket`,
        labels: { ...labels, le: this.bounds[i] ?? '+Inf' },
        value: cumulative,
      });
    }
    samples.push({ metricName: `${name}_sum`, labels, value: this.sum });
    samples.push({ metricName: `${name}_count`, labels, value: this.count });
    return samples;
  }
}
