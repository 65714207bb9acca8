// Golden files: for each seed pattern, the exact NGINX text the operator serves (container
// layout), commented with the seed settings it reproduces, and accepted by nginx -t.
// After an intended change of the output: UPDATE_GOLDEN=1 npm test -- test/render/golden
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containerLayout, renderNginx } from '../../src/render/nginx/config.js';
import { onLoopback, topologyOf } from '../support/frontend.js';
import { nginxTest, writeNginxTree } from '../support/nginx.js';
import { example, is7ConsoleFrontend } from '../support/resources.js';

const SEED_EXAMPLES = [
  'ei-cluster.yaml',
  'apim-single.yaml',
  'apim-active-active.yaml',
  'apim-ha-gateway.yaml',
  'apim-ha-publisher.yaml',
  'apim-ha-store.yaml',
  'apim-ha-key-manager.yaml',
  'apim-2-active-active.yaml',
  'is-pattern-1.yaml',
];
// IS 7 with the Console on its own host (docs-is configure-console-hostname.md).
const IS_7_CONSOLE = 'is-7-console.yaml';
const CASES = [...SEED_EXAMPLES, IS_7_CONSOLE];
const resourceOf = (file: string) => (file === IS_7_CONSOLE ? is7ConsoleFrontend() : example(file));

const goldenDir = (file: string) => join('test', 'golden', file.replace(/\.yaml$/, ''));
// The seed 004 example names its nodes by DNS; the golden files keep loopback addresses so nginx -t can load them.
const rendered = (file: string) => {
  const topology = topologyOf(onLoopback(resourceOf(file), 90));
  return renderNginx(topology, containerLayout(topology));
};

test.each(CASES)('%s renders exactly its golden files', (file) => {
  const files = rendered(file);
  const dir = goldenDir(file);
  if (process.env.UPDATE_GOLDEN === '1') {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  }
  expect(existsSync(dir)).toBe(true);
  expect(readdirSync(dir).sort()).toEqual(Object.keys(files).sort());
  for (const [name, text] of Object.entries(files)) expect(readFileSync(join(dir, name), 'utf8')).toBe(text);
});

test.each(CASES)('the golden files of %s pass nginx -t', (file) => {
  const scratch = mkdtempSync(join(tmpdir(), 'wso2-frontend-golden-'));
  try {
    const topology = topologyOf(onLoopback(resourceOf(file), 90));
    writeNginxTree(scratch, topology, containerLayout(topology));
    cpSync(goldenDir(file), scratch, { recursive: true });
    expect(nginxTest(scratch)).toEqual({ ok: true, output: '' });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

test.each(CASES)(
  'every vhost of %s names the WSO2 document it reproduces, and the settings from it are commented',
  (file) => {
    for (const [name, text] of Object.entries(rendered(file))) {
      if (name === 'nginx.conf') {
        expect(text).toContain("# WSO2's load-balancer documents: proxy_read_timeout 5m");
        expect(text).toContain('"ssl on;" was removed in NGINX 1.25.1');
      } else {
        expect(text).toMatch(/^# Site [a-z-]+: [a-z0-9.-]+\.\n# Pattern [a-z0-9-]+, from WSO2 (API-M|IS|EI) "/);
        expect(text).toContain('# replaces the documents\' "listen 443; ssl on;"');
      }
    }
  },
);
