// A clock whose time only moves when a test advances it, so delays and backoff are asserted
// to the millisecond without waiting.
import type { Clock } from '../../src/controller/runtime/workqueue.js';

interface Timer {
  at: number;
  callback: () => void;
}

/** Lets every promise chain that is ready run (not a sleep: no time passes on the fake clock). */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

export class FakeClock implements Clock {
  private time = 0;
  private readonly timers = new Set<Timer>();

  now(): number {
    return this.time;
  }

  setTimer(callback: () => void, ms: number): () => void {
    const timer = { at: this.time + ms, callback };
    this.timers.add(timer);
    return () => this.timers.delete(timer);
  }

  get pendingTimers(): number {
    return this.timers.size;
  }

  /** How far ahead each pending timer is due, soonest first. */
  pendingDelays(): number[] {
    return [...this.timers].map((t) => t.at - this.time).sort((a, b) => a - b);
  }

  /** Moves time forward by `ms`, firing due timers in time order and letting their work settle. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    for (;;) {
      await settle();
      const next = [...this.timers].filter((t) => t.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.timers.delete(next);
      this.time = next.at;
      next.callback();
    }
    this.time = target;
    await settle();
  }
}
