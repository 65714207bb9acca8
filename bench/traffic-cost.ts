// The CPU the agent spends per traffic log line: the reader (TrafficLogTail) and the metrics
// (TrafficMetrics) on a file of a day's mix of lines, as the agent runs them, measured as process
// CPU time (user + system) rather than wall time, so that neighbours on the machine count less.
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { TrafficLogTail } from '../src/agent/traffic-log.js';
import { parseTrafficLine, TrafficMetrics } from '../src/agent/traffic.js';
import { sampleTraffic } from '../test/support/traffic-lines.js';

const LINES = 300_000;
const ROUNDS = 5;

const cpuMicros = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return used.user + used.system;
};

export async function benchTrafficCost(): Promise<void> {
  const lines = sampleTraffic(LINES);
  const text = lines.join('\n') + '\n';
  const dir = mkdtempSync(join(tmpdir(), 'wso2-frontend-traffic-cost-'));
  const file = join(dir, 'traffic.log');
  const perLine = { parse: [] as number[], all: [] as number[] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      let start = process.cpuUsage();
      let parsed = 0;
      for (const line of lines) if (parseTrafficLine(line)) parsed++;
      perLine.parse.push(cpuMicros(start) / LINES);
      if (parsed !== LINES) throw new Error(`parsed ${parsed} of ${LINES} lines`);

      writeFileSync(file, '');
      const registry = new Registry();
      const metrics = new TrafficMetrics(registry, 'bench');
      let read = 0;
      const tail = new TrafficLogTail({
        file,
        onLine: (line) => {
          read++;
          metrics.line(line);
        },
        reopenLogs: () => false,
        writers: () => [],
        rotateBytes: 1 << 30,
      });
      tail.start();
      appendFileSync(file, text);
      start = process.cpuUsage();
      tail.poll();
      await registry.metrics();
      perLine.all.push(cpuMicros(start) / LINES);
      tail.stop();
      if (read !== LINES) throw new Error(`read ${read} of ${LINES} lines`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  console.log(`\nTraffic log CPU per line (${LINES} lines of a mixed day x ${ROUNDS} rounds, medians, CPU time):`);
  console.log(`  parse only:                      ${median(perLine.parse).toFixed(2)} us`);
  console.log(`  read + parse + count + a scrape: ${median(perLine.all).toFixed(2)} us`);
  console.log(
    `  at 25,000 requests/s (this machine's NGINX): ${((median(perLine.all) * 25_000) / 1e4).toFixed(1)}% of a core`,
  );
}
