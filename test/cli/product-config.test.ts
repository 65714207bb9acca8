// `wso2-frontend patch-product-config` (the init container's job) and `render --product-config`
// (what to set on external nodes), run as the built command on the test fixtures.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jsonc from 'jsonc-parser';
import * as yaml from 'js-yaml';
import { parse as parseToml } from 'smol-toml';
import type { ExternalNode, Wso2Frontend } from '../../src/api/schema.js';
import { roleConfiguration } from '../../src/model/product-config.js';
import { topologyOf } from '../support/frontend.js';
import { example } from '../support/resources.js';

const cli = join(process.cwd(), 'dist', 'cli', 'main.js');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const FIXTURES = join('test', 'fixtures', 'product');
const GOLDEN = join('test', 'golden', 'product');

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'wso2-frontend-cli-product-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A product home holding the fixture files at their real paths. */
function productHome(name: string, files: Record<string, string>): string {
  const home = join(scratch, name);
  for (const [path, fixture] of Object.entries(files)) {
    mkdirSync(join(home, path, '..'), { recursive: true });
    cpSync(join(FIXTURES, fixture), join(home, path));
  }
  return home;
}

test('render --product-config without --base: per node, minimal site.json snippets and what to set in the XML files', () => {
  const out = join(scratch, 'apim-2-snippets');
  const result = run('render', '-f', 'examples/apim-2-active-active.yaml', '--product-config', out);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  // And the local CA the nodes trust (self-signed mode).
  expect(readdirSync(out).sort()).toEqual(['_ca', 'node-1', 'node-2']);
  const store = readFileSync(
    join(out, 'node-1', 'repository__deployment__server__jaggeryapps__store__site__conf__site.json'),
    'utf8',
  );
  expect(jsonc.parse(store)).toEqual({ reverseProxy: { enabled: true, host: 'apim.example.com', context: '/store' } });
  const changes = readFileSync(join(out, 'node-2', 'CHANGES.txt'), 'utf8');
  expect(changes).toContain('repository/conf/carbon.xml:\n  Server/HostName = "apim.example.com"');
  expect(changes).toContain('Server/Service/Connector[@port="9443"]/@proxyPort = "443"');
  expect(changes).toContain(
    `keytool -importcert -noprompt -trustcacerts -alias wso2-frontend-lb-ca -file ${join(out, '_ca', 'ca.crt')} -keystore repository/resources/security/client-truststore.p12`,
  );
});

test('render --product-config --base PRODUCT_HOME: the node gets its patched files', () => {
  const home = productHome('is-5-home', {
    'repository/conf/carbon.xml': 'carbon4/carbon.xml',
    'repository/conf/tomcat/catalina-server.xml': 'carbon4/catalina-server.xml',
    'repository/deployment/server/jaggeryapps/dashboard/conf/site.json': 'is-5/dashboard-site.json',
  });
  const out = join(scratch, 'is-5-patched');
  const result = run('render', '-f', 'examples/is-pattern-1.yaml', '--product-config', out, '--base', home);
  expect(result.status).toBe(0);
  const node = readdirSync(out).find((d) => d !== '_ca')!;
  for (const path of [
    'repository/conf/carbon.xml',
    'repository/conf/tomcat/catalina-server.xml',
    'repository/deployment/server/jaggeryapps/dashboard/conf/site.json',
  ])
    expect(readFileSync(join(out, node, path), 'utf8')).toBe(
      readFileSync(join(GOLDEN, 'is-5-worker', path.replace(/\//g, '__')), 'utf8'),
    );
});

/** `render --product-config --base` of the distributed API-M example on these external nodes; the output directory. */
function renderExternalApim(name: string, nodes: ExternalNode[]): string {
  const resource = yaml.load(readFileSync('examples/apim-distributed.yaml', 'utf8')) as Wso2Frontend;
  resource.spec.backends = { external: { nodes } };
  const file = join(scratch, `${name}.yaml`);
  writeFileSync(file, yaml.dump(resource));
  const home = productHome(`${name}-home`, { 'repository/conf/deployment.toml': 'apim-4/deployment.toml' });
  const out = join(scratch, name);
  const result = run('render', '-f', file, '--product-config', out, '--base', home);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return out;
}

test('render --product-config: a node with several roles gets the files and keys of each of them', () => {
  const out = renderExternalApim('apim-distributed-nodes', [
    { name: 'cp-tm', address: '192.0.2.1', roles: ['control-plane', 'traffic-manager'] },
    { name: 'gw', address: '192.0.2.2', roles: ['gateway'] },
  ]);
  const toml = parseToml(readFileSync(join(out, 'cp-tm', 'repository/conf/deployment.toml'), 'utf8')) as {
    apim: { key_manager: { service_url: string }; gateway: { environment: { service_url: string }[] } };
  };
  // The key manager link is the traffic manager's key, the gateway environment the control plane's.
  expect(toml.apim.key_manager.service_url).toBe('https://192.0.2.1:9443/services/');
  expect(toml.apim.gateway.environment[0]!.service_url).toBe('https://192.0.2.2:9443/services/');
  expect(readFileSync(join(out, 'cp-tm', 'CHANGES.txt'), 'utf8')).toMatch(
    /^# What to set on a node with roles control-plane, traffic-manager /,
  );
});

test('render --product-config for external distributed nodes: every node lists every instance of the roles it reaches, and its peers but not itself', () => {
  const out = renderExternalApim('apim-distributed-ha', [
    { name: 'cp-1', address: '192.0.2.11', roles: ['control-plane'] },
    { name: 'cp-2', address: '192.0.2.12', roles: ['control-plane'] },
    { name: 'tm-1', address: '192.0.2.21', roles: ['traffic-manager'] },
    { name: 'tm-2', address: '192.0.2.22', roles: ['traffic-manager'], portOffset: 1 },
    { name: 'gw-1', address: '192.0.2.31', roles: ['gateway'] },
  ]);
  // _ca: the local CA render keeps beside the nodes' directories (--ca-dir next time).
  expect(readdirSync(out).sort()).toEqual(['_ca', 'cp-1', 'cp-2', 'gw-1', 'tm-1', 'tm-2']);
  type Apim = {
    apim: {
      throttling: { throttle_decision_endpoints?: string[]; event_duplicate_url?: string[]; url_group?: unknown[] };
      event_hub: {
        event_listening_endpoints?: string[];
        event_duplicate_url?: string[];
        publish?: { url_group: { urls: string[] }[] };
      };
    };
  };
  const node = (name: string) =>
    parseToml(readFileSync(join(out, name, 'repository/conf/deployment.toml'), 'utf8')) as unknown as Apim;
  const gateway = node('gw-1').apim;
  expect(gateway.throttling.throttle_decision_endpoints).toEqual(['tcp://192.0.2.21:5672', 'tcp://192.0.2.22:5673']);
  expect(gateway.throttling.url_group).toHaveLength(2);
  expect(gateway.event_hub.event_listening_endpoints).toEqual(['tcp://192.0.2.11:5672', 'tcp://192.0.2.12:5672']);
  expect(node('cp-1').apim.event_hub.event_duplicate_url).toEqual(['tcp://192.0.2.12:5672']);
  expect(node('cp-2').apim.event_hub.event_duplicate_url).toEqual(['tcp://192.0.2.11:5672']);
  expect(node('cp-2').apim.event_hub.publish!.url_group.map((g) => g.urls)).toEqual([
    ['tcp://192.0.2.11:9611'],
    ['tcp://192.0.2.12:9611'],
  ]);
  expect(node('tm-1').apim.throttling.event_duplicate_url).toEqual(['tcp://192.0.2.22:5673']);
  expect(node('tm-2').apim.throttling.event_duplicate_url).toEqual(['tcp://192.0.2.21:5672']);
});

describe('patch-product-config', () => {
  const topology = topologyOf(example('apim-single.yaml'));
  const config = roleConfiguration(topology, { name: 'apim-single', namespace: 'wso2' }, 'all-in-one');
  const configFile = () => {
    const file = join(scratch, 'all-in-one.json');
    writeFileSync(file, JSON.stringify(config));
    return file;
  };

  test("lays the user's files over the product's, patches the owned keys, and names the user's overridden key", () => {
    const home = productHome('apim-4-home', { 'repository/conf/deployment.toml': 'apim-4/deployment.toml' });
    const user = join(scratch, 'apim-4-user');
    mkdirSync(user);
    writeFileSync(
      join(user, 'deployment.toml'),
      '[server]\nhostname = "apim.corp.internal"\n\n[database.apim_db]\ntype = "mysql"\n',
    );
    writeFileSync(join(user, 'repository__resources__security__extra.txt'), 'kept as is\n');
    const out = join(scratch, 'apim-4-out');
    const result = run('patch-product-config', '--config', configFile(), '--home', home, '--user', user, '--out', out);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(
      'repository/conf/deployment.toml: [server] hostname was "apim.corp.internal", set to "api.am.wso2.com"',
    );
    const patched = parseToml(readFileSync(join(out, 'repository/conf/deployment.toml'), 'utf8')) as Record<
      string,
      Record<string, unknown>
    >;
    expect(patched.server!.hostname).toBe('api.am.wso2.com');
    expect(patched.database).toEqual({ apim_db: { type: 'mysql' } });
    expect(readFileSync(join(out, 'repository/resources/security/extra.txt'), 'utf8')).toBe('kept as is\n');
  });

  test('a user file that does not parse: exit 1 with the file, the line and the parser message, nothing written', () => {
    const home = productHome('apim-4-home-bad', { 'repository/conf/deployment.toml': 'apim-4/deployment.toml' });
    const user = join(scratch, 'apim-4-user-bad');
    mkdirSync(user);
    writeFileSync(join(user, 'deployment.toml'), '[server]\nhostname = \n');
    const out = join(scratch, 'apim-4-out-bad');
    const result = run('patch-product-config', '--config', configFile(), '--home', home, '--user', user, '--out', out);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^wso2-frontend patch-product-config: repository\/conf\/deployment\.toml:2: /);
    expect(() => readdirSync(out)).toThrow();
  });
});
