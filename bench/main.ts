// npm run bench: every benchmark, printing its figures; `npm run bench -- operator tls` runs
// only the parts named (render, tls, throughput, traffic, operator, agent, fuzz, images, realnode), and
// `--json DIR` also writes the figures of those that return them to DIR/PART.json (bench/results.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { benchAgent } from './agent.js';
import { benchFuzz } from './fuzz.js';
import { benchImages } from './images.js';
import { benchOperator } from './operator.js';
import { benchRealNode } from './realnode.js';
import { benchRender } from './render.js';
import { benchThroughput } from './throughput.js';
import { benchTls } from './tls.js';
import { benchTrafficCost } from './traffic-cost.js';
import { machine, parseResult, type Figures } from './results.js';

const parts: Record<string, () => Promise<Figures[keyof Figures] | void> | void> = {
  render: benchRender,
  tls: benchTls,
  throughput: benchThroughput,
  operator: benchOperator,
  agent: benchAgent,
  fuzz: benchFuzz,
  traffic: benchTrafficCost,
  images: benchImages,
  realnode: benchRealNode,
};
const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
const jsonDir = jsonAt >= 0 ? args.splice(jsonAt, 2)[1] : undefined;
if (jsonAt >= 0 && !jsonDir) {
  console.error('--json needs a directory to write PART.json files into');
  process.exit(2);
}
const named = args;
const unknown = named.filter((name) => !(name in parts));
if (unknown.length) {
  console.error(`unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(parts).join(', ')}`);
  process.exit(2);
}
for (const [name, run] of Object.entries(parts)) {
  if (named.length && !named.includes(name)) continue;
  const date = new Date().toISOString();
  const load = loadavg()[0]!;
  const figures = await run();
  if (!figures || !jsonDir) continue;
  // The BENCH_* settings the run used belong to its command.
  const settings = Object.entries(process.env)
    .filter(([key]) => key.startsWith('BENCH_'))
    .map(([key, value]) => `${key}=${JSON.stringify(value)} `);
  const command = `${settings.join('')}npm run bench -- ${process.argv.slice(2).join(' ')}`;
  const file = join(jsonDir, `${name}.json`);
  const text = `${JSON.stringify({ benchmark: name, command, machine: machine(load), date, figures }, null, 2)}\n`;
  // Checked as npm run plots reads it, so a result written is one it can draw.
  parseResult(file, text);
  mkdirSync(jsonDir, { recursive: true });
  writeFileSync(file, text);
}
