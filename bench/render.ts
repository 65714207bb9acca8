// Render time per resource: validation, topology and every NGINX file, for each example.
import { readdirSync, readFileSync } from 'node:fs';
import * as yaml from 'js-yaml';
import type { Wso2Frontend } from '../src/api/schema.js';
import { buildTopology } from '../src/model/topology.js';
import { validateSpec } from '../src/model/validate.js';
import { containerLayout, renderNginx } from '../src/render/nginx/config.js';
import { ms, time } from './stats.js';

export function benchRender(): void {
  console.log('\nRender time per resource (validate + topology + NGINX files), 2000 runs each:');
  for (const file of readdirSync('examples')
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    const resource = yaml.load(readFileSync(`examples/${file}`, 'utf8')) as Wso2Frontend;
    const { p50, p99 } = time(() => {
      const result = validateSpec(resource.spec);
      if (!result.ok) throw new Error(`${file} is invalid`);
      const topology = buildTopology(result.spec);
      renderNginx(topology, containerLayout(topology));
    }, 2000);
    console.log(`  ${file.padEnd(28)} p50 ${ms(p50).padStart(9)}  p99 ${ms(p99).padStart(9)}`);
  }
}
