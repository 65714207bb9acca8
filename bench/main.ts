// npm run bench: every benchmark, printing its figures; `npm run bench -- operator tls` runs
// only the parts named (render, tls, throughput, traffic, operator, agent, fuzz, images).
import { benchAgent } from './agent.js';
import { benchFuzz } from './fuzz.js';
import { benchImages } from './images.js';
import { benchOperator } from './operator.js';
import { benchRender } from './render.js';
import { benchThroughput } from './throughput.js';
import { benchTls } from './tls.js';
import { benchTrafficCost } from './traffic-cost.js';

const parts: Record<string, () => void | Promise<void>> = {
  render: benchRender,
  tls: benchTls,
  throughput: benchThroughput,
  operator: benchOperator,
  agent: benchAgent,
  fuzz: benchFuzz,
  traffic: benchTrafficCost,
  images: benchImages,
};
const named = process.argv.slice(2);
const unknown = named.filter((name) => !(name in parts));
if (unknown.length) {
  console.error(`unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(parts).join(', ')}`);
  process.exit(2);
}
for (const [name, run] of Object.entries(parts)) if (!named.length || named.includes(name)) await run();
