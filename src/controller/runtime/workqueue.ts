// A work queue keyed by object ("namespace/name"), with the semantics of client-go's
// workqueue: a key is queued at most once, is never processed concurrently with itself, and is
// retried with per-key exponential backoff. Unlike client-go the queue also runs the workers,
// so a controller only supplies the function that processes one key.

/** What processing a key asks for next: nothing, or another run after a delay. */
export type WorkResult = { requeueAfterMs?: number } | void;

/** Processes one key; may return at once or a promise (the queue awaits either). */
export type ProcessKey = (key: string) => WorkResult | Promise<WorkResult>;

/** Time source and timer, injected so tests of delays and backoff run without real waiting. */
export interface Clock {
  now(): number;
  /** Calls `callback` after `ms`; the returned function cancels it. */
  setTimer(callback: () => void, ms: number): () => void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimer: (callback, ms) => {
    const timer = setTimeout(callback, ms);
    return () => clearTimeout(timer);
  },
};

export interface WorkQueueOptions {
  /** How many keys are processed at the same time (default 1). */
  concurrency?: number;
  /** First retry delay after an error (default 100 ms); doubled (by `backoffFactor`) per consecutive error. */
  baseDelayMs?: number;
  backoffFactor?: number;
  /** Upper bound of the retry delay (default 5 min), so a broken object is still retried regularly. */
  maxDelayMs?: number;
  clock?: Clock;
  /** Told about every failed run, for logging; the key is retried after `retryInMs`. */
  onError?: (key: string, error: unknown, retryInMs: number) => void;
}

/** Counters an operator can export as metrics. */
export interface WorkQueueStats {
  /** Keys waiting to be processed. */
  depth: number;
  /** Keys being processed now. */
  inFlight: number;
  /** Keys waiting for a delay (requeue-after or backoff) to pass. */
  delayed: number;
  /** Calls to add that queued a key (coalesced adds are not counted). */
  adds: number;
  /** Runs that failed and were scheduled for a retry with backoff. */
  retries: number;
}

export class WorkQueue {
  private readonly concurrency: number;
  private readonly baseDelayMs: number;
  private readonly backoffFactor: number;
  private readonly maxDelayMs: number;
  private readonly clock: Clock;
  private readonly onError: (key: string, error: unknown, retryInMs: number) => void;

  /** Keys in processing order; a key is in here at most once. */
  private readonly pending: string[] = [];
  /** Keys that must run (again): queued, or added while being processed. */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly delayed = new Map<string, { readyAt: number; cancel: () => void }>();
  private readonly failures = new Map<string, number>();
  private adds = 0;
  private retries = 0;
  private shuttingDown = false;
  private drained: (() => void) | undefined;

  constructor(
    private readonly process: ProcessKey,
    options: WorkQueueOptions = {},
  ) {
    this.concurrency = options.concurrency ?? 1;
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.backoffFactor = options.backoffFactor ?? 2;
    this.maxDelayMs = options.maxDelayMs ?? 5 * 60_000;
    this.clock = options.clock ?? realClock;
    this.onError = options.onError ?? (() => undefined);
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1)
      throw new Error(`concurrency must be a positive integer, got ${this.concurrency}`);
  }

  /** Queues `key`; a key already queued is processed once, a key being processed runs once more afterwards. */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    this.adds++;
    if (this.processing.has(key)) return;
    this.pending.push(key);
    this.startWorkers();
  }

  /** Queues `key` after `ms`; when it is already waiting, the earlier of the two times wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const readyAt = this.clock.now() + ms;
    const waiting = this.delayed.get(key);
    if (waiting && waiting.readyAt <= readyAt) return;
    waiting?.cancel();
    const cancel = this.clock.setTimer(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { readyAt, cancel });
  }

  /** Resets the backoff of `key`; done after every successful run. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  stats(): WorkQueueStats {
    return {
      depth: this.pending.length,
      inFlight: this.processing.size,
      delayed: this.delayed.size,
      adds: this.adds,
      retries: this.retries,
    };
  }

  /** Stops taking work (queued and delayed keys are dropped) and resolves once the runs in flight have finished. */
  shutDown(): Promise<void> {
    this.shuttingDown = true;
    for (const { cancel } of this.delayed.values()) cancel();
    this.delayed.clear();
    this.pending.length = 0;
    this.dirty.clear();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.drained = resolve));
  }

  private startWorkers(): void {
    while (this.processing.size < this.concurrency && this.pending.length > 0) {
      const key = this.pending.shift()!;
      this.dirty.delete(key);
      this.processing.add(key);
      void this.run(key);
    }
  }

  private async run(key: string): Promise<void> {
    try {
      const result = await this.process(key);
      this.forget(key);
      if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
    } catch (error) {
      const retryInMs = this.nextBackoff(key);
      this.retries++;
      this.onError(key, error, retryInMs);
      this.addAfter(key, retryInMs);
    } finally {
      this.processing.delete(key);
      if (this.dirty.has(key)) this.pending.push(key);
      if (this.shuttingDown && this.processing.size === 0) this.drained?.();
      this.startWorkers();
    }
  }

  private nextBackoff(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    return Math.min(this.baseDelayMs * this.backoffFactor ** failures, this.maxDelayMs);
  }
}
