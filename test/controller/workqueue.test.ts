// The work queue's contract, on a fake clock: coalescing, one run per key at a time,
// exponential backoff with a cap, and a shut-down that waits for the runs in flight.
import { WorkQueue, type WorkResult } from '../../src/controller/runtime/workqueue.js';
import { FakeClock, settle } from './fake-clock.js';

/** A processor whose runs finish when the test says so, recording what ran and what ran at once. */
class ControlledProcessor {
  readonly started: string[] = [];
  readonly running = new Map<string, number>();
  maxRunning = 0;
  maxRunningPerKey = 0;
  private readonly finishers: Array<{ key: string; finish: () => void }> = [];

  readonly process = async (key: string): Promise<WorkResult> => {
    this.started.push(key);
    this.running.set(key, (this.running.get(key) ?? 0) + 1);
    this.maxRunningPerKey = Math.max(this.maxRunningPerKey, this.running.get(key)!);
    this.maxRunning = Math.max(
      this.maxRunning,
      [...this.running.values()].reduce((a, b) => a + b, 0),
    );
    await new Promise<void>((resolve) => this.finishers.push({ key, finish: resolve }));
    this.running.set(key, this.running.get(key)! - 1);
  };

  /** Finishes the oldest run of `key` (or the oldest run of any key). */
  async finish(key?: string): Promise<void> {
    const index = this.finishers.findIndex((f) => key === undefined || f.key === key);
    if (index < 0) throw new Error(`no run of ${key ?? 'any key'} to finish`);
    this.finishers.splice(index, 1)[0]!.finish();
    await settle();
  }

  async finishAll(): Promise<void> {
    while (this.finishers.length > 0) await this.finish();
  }
}

test('keys added while queued are coalesced into one run', async () => {
  const processor = new ControlledProcessor();
  const queue = new WorkQueue(processor.process, { clock: new FakeClock() });
  queue.add('ns/busy');
  queue.add('ns/a');
  queue.add('ns/a');
  queue.add('ns/a');
  await processor.finishAll();

  expect(processor.started).toEqual(['ns/busy', 'ns/a']);
  expect(queue.stats()).toMatchObject({ adds: 2, depth: 0, inFlight: 0 });
});

test('a key added during its own run runs exactly once more, after the current run', async () => {
  const processor = new ControlledProcessor();
  const queue = new WorkQueue(processor.process, { concurrency: 4, clock: new FakeClock() });
  queue.add('ns/a');
  await settle();
  queue.add('ns/a');
  queue.add('ns/a');
  await settle();

  expect(processor.started).toEqual(['ns/a']);
  await processor.finish('ns/a');
  expect(processor.started).toEqual(['ns/a', 'ns/a']);
  await processor.finishAll();
  expect(processor.started).toEqual(['ns/a', 'ns/a']);
  expect(processor.maxRunningPerKey).toBe(1);
});

test('no more keys run at once than the configured concurrency', async () => {
  const processor = new ControlledProcessor();
  const queue = new WorkQueue(processor.process, { concurrency: 2, clock: new FakeClock() });
  for (const name of ['a', 'b', 'c', 'd', 'e']) queue.add(`ns/${name}`);
  await settle();

  expect(processor.started).toEqual(['ns/a', 'ns/b']);
  expect(queue.stats()).toMatchObject({ depth: 3, inFlight: 2 });
  await processor.finishAll();
  expect(processor.started).toEqual(['ns/a', 'ns/b', 'ns/c', 'ns/d', 'ns/e']);
  expect(processor.maxRunning).toBe(2);
});

test('a failing key is retried with a delay that doubles up to the cap', async () => {
  const clock = new FakeClock();
  const runsAt: number[] = [];
  const queue = new WorkQueue(
    () => {
      runsAt.push(clock.now());
      throw new Error('backend unavailable');
    },
    { clock, baseDelayMs: 100, maxDelayMs: 1000 },
  );
  queue.add('ns/a');
  await clock.advance(5000);

  // Delays 100, 200, 400, 800, then capped at 1000.
  expect(runsAt.slice(0, 7)).toEqual([0, 100, 300, 700, 1500, 2500, 3500]);
  expect(queue.stats().retries).toBe(runsAt.length);
});

test('a success resets the backoff of its key', async () => {
  const clock = new FakeClock();
  const outcomes = ['fail', 'fail', 'fail', 'succeed', 'fail'];
  const runsAt: number[] = [];
  const queue = new WorkQueue(
    () => {
      runsAt.push(clock.now());
      if (outcomes.shift() === 'fail') throw new Error('backend unavailable');
    },
    { clock, baseDelayMs: 100 },
  );
  queue.add('ns/a');
  await clock.advance(700);
  expect(runsAt).toEqual([0, 100, 300, 700]);

  queue.add('ns/a');
  await clock.advance(1000);
  expect(runsAt).toEqual([0, 100, 300, 700, 700, 800]);
});

test('the backoff of one key does not slow down another', async () => {
  const clock = new FakeClock();
  const runs: string[] = [];
  const queue = new WorkQueue(
    (key) => {
      runs.push(`${key}@${clock.now()}`);
      if (key === 'ns/broken') throw new Error('invalid spec');
    },
    { clock, baseDelayMs: 100 },
  );
  queue.add('ns/broken');
  await clock.advance(300);
  queue.add('ns/healthy');
  await clock.advance(0);

  expect(runs).toEqual(['ns/broken@0', 'ns/broken@100', 'ns/broken@300', 'ns/healthy@300']);
});

test('requeue-after runs the key again after exactly that delay', async () => {
  const clock = new FakeClock();
  const runsAt: number[] = [];
  const queue = new WorkQueue(
    () => {
      runsAt.push(clock.now());
      return runsAt.length === 1 ? { requeueAfterMs: 5000 } : undefined;
    },
    { clock },
  );
  queue.add('ns/a');
  await clock.advance(4999);
  expect(runsAt).toEqual([0]);

  await clock.advance(1);
  expect(runsAt).toEqual([0, 5000]);
  await clock.advance(60_000);
  expect(runsAt).toEqual([0, 5000]);
});

test('a key delayed twice runs once, at the earlier time', async () => {
  const clock = new FakeClock();
  const runsAt: number[] = [];
  const queue = new WorkQueue(() => void runsAt.push(clock.now()), { clock });
  queue.addAfter('ns/a', 3000);
  queue.addAfter('ns/a', 1000);
  queue.addAfter('ns/a', 2000);
  await clock.advance(10_000);

  expect(runsAt).toEqual([1000]);
});

test('shutDown waits for the runs in flight and drops queued, delayed and later work', async () => {
  const clock = new FakeClock();
  const processor = new ControlledProcessor();
  const queue = new WorkQueue(processor.process, { clock });
  queue.add('ns/running');
  queue.add('ns/queued');
  queue.addAfter('ns/delayed', 1000);
  await settle();

  let drained = false;
  const shutDown = queue.shutDown().then(() => (drained = true));
  queue.add('ns/late');
  await settle();
  expect(drained).toBe(false);

  await processor.finish('ns/running');
  await shutDown;
  await clock.advance(5000);
  expect(processor.started).toEqual(['ns/running']);
  expect(clock.pendingTimers).toBe(0);
  expect(queue.stats()).toMatchObject({ depth: 0, inFlight: 0, delayed: 0 });
});

test('shutDown of an idle queue resolves at once', async () => {
  const queue = new WorkQueue(() => undefined, { clock: new FakeClock() });
  await expect(queue.shutDown()).resolves.toBeUndefined();
});

test('errors are reported with the key and the delay before the retry', async () => {
  const clock = new FakeClock();
  const reported: Array<[string, string, number]> = [];
  const queue = new WorkQueue(
    () => {
      throw new Error('spec.hosts[0]: not a DNS name');
    },
    { clock, baseDelayMs: 250, onError: (key, error, retryInMs) => reported.push([key, String(error), retryInMs]) },
  );
  queue.add('ns/a');
  await clock.advance(250);

  expect(reported).toEqual([
    ['ns/a', 'Error: spec.hosts[0]: not a DNS name', 250],
    ['ns/a', 'Error: spec.hosts[0]: not a DNS name', 500],
  ]);
  await queue.shutDown();
});
