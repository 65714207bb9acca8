// Constant load for tests and benchmarks that count failed requests across a change: clients on
// kept-alive connections and clients opening a connection per request, until stopped.
import { Agent } from 'node:https';

export interface LoadCounts {
  ok: number;
  failed: number;
  /** Failures by message. */
  errors: Map<string, number>;
}

/** `keepAlive` clients sharing a keep-alive agent and `fresh` clients without one, each calling `send` in a loop. */
export function loadUntilStopped(
  send: (agent: Agent | false) => Promise<unknown>,
  keepAlive: number,
  fresh: number,
): { counts: LoadCounts; stop: () => Promise<LoadCounts> } {
  let stopped = false;
  const counts: LoadCounts = { ok: 0, failed: 0, errors: new Map() };
  const pool = new Agent({ keepAlive: true, maxSockets: keepAlive });
  const client = async (agent: Agent | false) => {
    while (!stopped) {
      try {
        await send(agent);
        counts.ok++;
      } catch (error) {
        counts.failed++;
        const message = (error as Error).message;
        counts.errors.set(message, (counts.errors.get(message) ?? 0) + 1);
      }
    }
  };
  const clients = [
    ...Array.from({ length: keepAlive }, () => client(pool)),
    ...Array.from({ length: fresh }, () => client(false)),
  ];
  return {
    counts,
    async stop() {
      stopped = true;
      await Promise.all(clients);
      pool.destroy();
      return counts;
    },
  };
}
