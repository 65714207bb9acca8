// The product-configuration patch engine on realistic base files (test/fixtures/product, written
// for these tests after the files each product ships): golden results byte for byte, results that
// re-parse, idempotence, a diff that touches only the owned keys, each seed's "configure the
// product" steps, overrides and parse errors reported with file and line, and 1000 random specs.
// After an intended change of the output: UPDATE_GOLDEN=1 npm test -- test/render/product-config
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOMParser } from '@xmldom/xmldom';
import jsonc from 'jsonc-parser';
import { parse as parseToml } from 'smol-toml';
import type { Wso2Frontend } from '../../src/api/schema.js';
import type { Role } from '../../src/api/vocabulary.js';
import {
  nodeConfiguration,
  productConfiguration,
  roleConfiguration,
  type ProductFile,
  type RoleConfiguration,
} from '../../src/model/product-config.js';
import { buildTopology } from '../../src/model/topology.js';
import { validateSpec } from '../../src/model/validate.js';
import {
  MAX_PRODUCT_FILE_BYTES,
  patchFile,
  patchRole,
  ProductConfigError,
  productSnippets,
  settingName,
} from '../../src/render/product/patch.js';
import { topologyOf } from '../support/frontend.js';
import { example } from '../support/resources.js';
import { generator, random } from '../support/spec-generator.js';

const FIXTURES = join('test', 'fixtures', 'product');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const PLACEMENT = { name: 'fe', namespace: 'wso2' };

/** Which fixture stands for which file of the product home. */
const BASES: Record<string, string> = {
  'apim-4': 'apim-4/deployment.toml',
  'apim-3': 'apim-3/deployment.toml',
  'is-7': 'is-7/deployment.toml',
  'mi-4': 'mi-4/deployment.toml',
};
const CARBON4: Record<string, string> = {
  'repository/conf/carbon.xml': 'carbon4/carbon.xml',
  'repository/conf/tomcat/catalina-server.xml': 'carbon4/catalina-server.xml',
  'repository/conf/api-manager.xml': 'apim-2/api-manager.xml',
  'repository/deployment/server/jaggeryapps/store/site/conf/site.json': 'apim-2/store-site.json',
  'repository/deployment/server/jaggeryapps/publisher/site/conf/site.json': 'apim-2/publisher-site.json',
  'repository/deployment/server/jaggeryapps/admin/site/conf/site.json': 'apim-2/admin-site.json',
  'repository/deployment/server/jaggeryapps/dashboard/conf/site.json': 'is-5/dashboard-site.json',
  'conf/carbon.xml': 'carbon4/carbon.xml',
  'conf/tomcat/catalina-server.xml': 'carbon4/catalina-server.xml',
  'conf/axis2/axis2.xml': 'ei-6/axis2.xml',
};

function withVersion(resource: Wso2Frontend, version: string): Wso2Frontend {
  return { ...resource, spec: { ...resource.spec, version } };
}

interface Case {
  name: string;
  resource: Wso2Frontend;
  role: Role;
  /** The deployment.toml fixture, for deployment.toml products. */
  toml?: string;
}

const CASES: Case[] = [
  { name: 'apim-4-all-in-one', resource: example('apim-single.yaml'), role: 'all-in-one', toml: 'apim-4' },
  { name: 'apim-4-control-plane', resource: example('apim-distributed.yaml'), role: 'control-plane', toml: 'apim-4' },
  { name: 'apim-4-gateway', resource: example('apim-distributed.yaml'), role: 'gateway', toml: 'apim-4' },
  {
    name: 'apim-4-traffic-manager',
    resource: example('apim-distributed.yaml'),
    role: 'traffic-manager',
    toml: 'apim-4',
  },
  {
    name: 'apim-3-all-in-one',
    resource: withVersion(example('apim-active-active.yaml'), '3.2.0'),
    role: 'all-in-one',
    toml: 'apim-3',
  },
  { name: 'is-7-worker', resource: example('is-7-managed.yaml'), role: 'worker', toml: 'is-7' },
  { name: 'mi-4', resource: example('mi-cluster.yaml'), role: 'micro-integrator', toml: 'mi-4' },
  { name: 'apim-2-all-in-one', resource: example('apim-2-active-active.yaml'), role: 'all-in-one' },
  { name: 'is-5-worker', resource: example('is-pattern-1.yaml'), role: 'worker' },
  { name: 'ei-6-integrator', resource: example('ei-cluster.yaml'), role: 'integrator' },
];

function configOf(c: Case): RoleConfiguration {
  return roleConfiguration(topologyOf(c.resource), PLACEMENT, c.role);
}

function baseOf(c: Case, path: string): string | undefined {
  if (path.endsWith('deployment.toml')) return c.toml ? fixture(BASES[c.toml]!) : undefined;
  const name = CARBON4[path];
  return name ? fixture(name) : undefined;
}

function patched(c: Case) {
  return patchRole(configOf(c), (path) => baseOf(c, path));
}

const goldenName = (path: string) => path.replace(/\//g, '__');
const goldenDir = (c: Case) => join('test', 'golden', 'product', c.name);

function reparse(file: ProductFile, text: string): unknown {
  switch (file.format) {
    case 'toml':
      return parseToml(text);
    case 'json': {
      const errors: jsonc.ParseError[] = [];
      const value: unknown = jsonc.parse(text, errors, { allowTrailingComma: true });
      expect(errors).toEqual([]);
      return value;
    }
    case 'xml': {
      const problems: string[] = [];
      const document = new DOMParser({
        onError: (level, message) => {
          if (level !== 'warning') problems.push(message);
        },
      }).parseFromString(text, 'text/xml');
      expect(problems).toEqual([]);
      return document;
    }
  }
}

describe.each(CASES)('$name', (c) => {
  test('patches exactly its golden files, byte for byte', () => {
    const { files } = patched(c);
    const dir = goldenDir(c);
    if (process.env.UPDATE_GOLDEN === '1') {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      for (const f of files) writeFileSync(join(dir, goldenName(f.path)), f.text);
    }
    expect(existsSync(dir)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(files.map((f) => goldenName(f.path)).sort());
    for (const f of files) expect(f.text).toBe(readFileSync(join(dir, goldenName(f.path)), 'utf8'));
  });

  test("the product's own files as the base: no owned key counts as overridden", () => {
    // A key left at the value the product ships is not the user's choice (issue 26: WSO2's stock
    // deployment.toml, hostname = "localhost", gave an OwnedKeyOverridden Warning per role).
    expect(patched(c).files.flatMap((f) => f.overrides)).toEqual([]);
  });

  test('the patched files re-parse, and patching them again changes nothing', () => {
    const config = configOf(c);
    for (const f of patched(c).files) {
      const file = config.files.find((x) => x.path === f.path)!;
      reparse(file, f.text);
      expect(patchFile(file, f.text)).toEqual({ path: f.path, text: f.text, overrides: [] });
    }
  });

  test('a diff of base and result touches only lines of owned keys', () => {
    const config = configOf(c);
    for (const f of patched(c).files) {
      const file = config.files.find((x) => x.path === f.path)!;
      const { removed, added } = lineDiff(baseOf(c, f.path)!, f.text);
      const owned = ownedWords(file);
      for (const line of [...removed, ...added]) {
        if (line.trim() === '') continue;
        expect({ file: f.path, line, owned: owned.some((w) => line.includes(w)) }).toEqual({
          file: f.path,
          line,
          owned: true,
        });
      }
      expect(added.length + removed.length).toBeGreaterThan(0);
    }
  });
});

/** Words an owned line contains: the keys, their tables, and for a new array entry the keys it starts with. */
function ownedWords(file: ProductFile): string[] {
  return file.settings.flatMap((s) => {
    switch (s.kind) {
      case 'toml':
        return [s.key[s.key.length - 1]!, `[${s.table.join('.')}]`, ...Object.keys(s.entry?.create ?? {})];
      case 'json':
        return [`"${s.path[s.path.length - 1]}"`];
      case 'xml-attribute':
        return [`${s.attribute}=`];
      case 'xml-text':
        return [`<${s.element[s.element.length - 1]!.name}`];
    }
  });
}

/** Lines only in `before` and lines only in `after`, by longest common subsequence. */
function lineDiff(before: string, after: string): { removed: string[]; added: string[] } {
  const a = before.split('\n');
  const b = after.split('\n');
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const removed: string[] = [];
  const added: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) removed.push(a[i++]!);
    else added.push(b[j++]!);
  }
  removed.push(...a.slice(i));
  added.push(...b.slice(j));
  return { removed, added };
}

const caseNamed = (name: string) => CASES.find((c) => c.name === name)!;
const fileOf = (name: string, path: string) => patched(caseNamed(name)).files.find((f) => f.path === path)!.text;
const xmlOf = (text: string) => new DOMParser().parseFromString(text, 'text/xml');

describe('the seeds\' "configure the product" steps hold on the patched files', () => {
  test('seed 001/002: deployment.toml [server] hostname and [transport.https.properties] proxyPort = 443', () => {
    const doc = parseToml(fileOf('apim-4-all-in-one', 'repository/conf/deployment.toml')) as {
      server: { hostname: string };
      transport: { https: { properties: { proxyPort: number } } };
    };
    expect(doc.server.hostname).toBe('api.am.wso2.com');
    expect(doc.transport.https.properties.proxyPort).toBe(443);
  });

  test('seed 003: carbon.xml HostName/MgtHostName, catalina-server.xml proxyPort 443/80, dashboard site.json proxy', () => {
    const carbon = xmlOf(fileOf('is-5-worker', 'repository/conf/carbon.xml'));
    expect(carbon.getElementsByTagName('HostName')[0]!.textContent).toBe('is.wso2.com');
    expect(carbon.getElementsByTagName('MgtHostName')[0]!.textContent).toBe('mgt.is.wso2.com');
    const connectors = Array.from(
      xmlOf(fileOf('is-5-worker', 'repository/conf/tomcat/catalina-server.xml')).getElementsByTagName('Connector'),
    ).map((e) => `${e.getAttribute('port')}->${e.getAttribute('proxyPort')}`);
    expect(connectors).toEqual(['9763->80', '9443->443']);
    const site = jsonc.parse(
      fileOf('is-5-worker', 'repository/deployment/server/jaggeryapps/dashboard/conf/site.json'),
    );
    expect(site.proxy).toMatchObject({ proxyHost: 'is.wso2.com', proxyHTTPSPort: '443' });
  });

  test('seed 004: store, publisher and admin site.json reverseProxy enabled with the host and the app context', () => {
    for (const app of ['store', 'publisher', 'admin']) {
      const text = fileOf('apim-2-all-in-one', `repository/deployment/server/jaggeryapps/${app}/site/conf/site.json`);
      expect(jsonc.parse(text).reverseProxy).toEqual({ enabled: true, host: 'apim.example.com', context: `/${app}` });
      expect(text).toContain('// values true , false , "auto" - will look for  X-Forwarded-* headers');
    }
  });

  test('seed 000: EI WSDLEPRPrefix on the http and https receivers, inserted next to their port', () => {
    const axis2 = fileOf('ei-6-integrator', 'conf/axis2/axis2.xml');
    expect(axis2).toContain(
      '<parameter name="port" locked="false">8280</parameter>\n       <parameter name="WSDLEPRPrefix" locked="false">http://ei.wso2.com</parameter>',
    );
    expect(axis2).toContain(
      '<parameter name="port" locked="false">8243</parameter>\n        <parameter name="WSDLEPRPrefix" locked="false">https://ei.wso2.com</parameter>',
    );
  });
});

describe('Identity Server 7: the Console and My Account callback URLs follow the public hosts', () => {
  const callbacks = (resource: Wso2Frontend) => {
    const doc = parseToml(patchFile(configOf({ ...caseNamed('is-7-worker'), resource }).files[0]!, '').text) as {
      console?: { callback_url: string };
      myaccount?: { callback_url: string };
    };
    return { console: doc.console?.callback_url, myaccount: doc.myaccount?.callback_url };
  };

  test('every public host, for the root, tenant (/t/) and organization (/o/) paths; dots escaped', () => {
    const { console: consoleUrl, myaccount } = callbacks(example('is-7-managed.yaml'));
    const origins = ['https://login\\.example\\.com', 'https://console\\.example\\.com'];
    expect(consoleUrl).toBe(
      `regexp=(${origins
        .flatMap((o) =>
          [
            '/console',
            '/t/(.*)/console',
            '/console/login',
            '/t/(.*)/console/login',
            '/o/(.*)/console',
            '/o/(.*)/console/login',
          ].map((p) => o + p),
        )
        .join('|')})`,
    );
    expect(myaccount).toBe(
      `regexp=(${origins
        .flatMap((o) =>
          ['/myaccount', '/t/(.*)/myaccount', '/myaccount/login', '/t/(.*)/myaccount/login'].map((p) => o + p),
        )
        .join('|')})`,
    );
    const pattern = new RegExp(`^(?:${myaccount!.slice('regexp='.length)})$`);
    expect(pattern.test('https://login.example.com/t/carbon.super/myaccount/login')).toBe(true);
    expect(pattern.test('https://loginXexample.com/myaccount')).toBe(false);
  });

  test('a public HTTPS port other than 443 is part of the origin', () => {
    const resource = example('is-7-managed.yaml');
    const moved = { ...resource, spec: { ...resource.spec, ports: { http: 8080, https: 8443 } } };
    expect(callbacks(moved).console).toContain('https://login\\.example\\.com:8443/console|');
  });

  test('before 7.0 (no such keys) they are not set', () => {
    expect(callbacks(withVersion(example('is-7-managed.yaml'), '6.1.0'))).toEqual({
      console: undefined,
      myaccount: undefined,
    });
  });
});

describe("Identity Server 7: the Console's origin joins the user's [cors] allowed_origins", () => {
  const config = configOf(caseNamed('is-7-worker'));
  const toml = config.files[0]!;
  const origins = (base: string) => {
    const result = patchFile(toml, base, 'deployment.toml');
    return {
      origins: (parseToml(result.text) as { cors: { allowed_origins: string[] } }).cors.allowed_origins,
      overrides: result.overrides.filter((o) => o.key.startsWith('[cors]')),
    };
  };

  test.each([
    {
      name: "the user's SPAs: kept, the Console's origin added",
      base: '[cors]\nallowed_origins = ["https://spa.example.com", "https://shop.example.com"]\n',
      expected: ['https://spa.example.com', 'https://shop.example.com', 'https://console.example.com'],
    },
    {
      name: 'already listed: the list as it was',
      base: '[cors]\nallowed_origins = ["https://console.example.com", "https://spa.example.com"]\n',
      expected: ['https://console.example.com', 'https://spa.example.com'],
    },
    { name: 'no list: only the Console', base: '', expected: ['https://console.example.com'] },
  ])('$name; no override reported', ({ base, expected }) => {
    expect(origins(base)).toEqual({ origins: expected, overrides: [] });
  });

  test('CHANGES.txt says to add the origin, not to replace the list', () => {
    expect(productSnippets(config)['CHANGES.txt']).toContain(
      '[cors] allowed_origins includes "https://console.example.com" (keep your other entries)',
    );
  });
});

describe('an external node with several roles', () => {
  /** Distributed API-M on two external nodes: control plane and traffic manager on one, the gateway on the other. */
  const onNodes = (cpTm: string, gw: string): Wso2Frontend => {
    const resource = example('apim-distributed.yaml');
    return {
      ...resource,
      spec: {
        ...resource.spec,
        backends: {
          external: {
            nodes: [
              { name: 'cp-tm', address: cpTm, roles: ['control-plane', 'traffic-manager'] as Role[] },
              { name: 'gw', address: gw, roles: ['gateway'] as Role[] },
            ],
          },
        },
      },
    };
  };
  const distributed = onNodes('192.0.2.1', '192.0.2.2');
  const names = (files: ProductFile[]) =>
    files.flatMap((f) => f.settings.map((s) => `${settingName(s)} = ${String(s.value)}`));

  test("gets every role's keys, each once", () => {
    const topology = topologyOf(distributed);
    const node = nodeConfiguration(topology, PLACEMENT, ['control-plane', 'traffic-manager']);
    const controlPlane = names(roleConfiguration(topology, PLACEMENT, 'control-plane').files);
    const trafficManager = names(roleConfiguration(topology, PLACEMENT, 'traffic-manager').files);
    const merged = names(node.files);
    expect(node.files.map((f) => f.path)).toEqual(['repository/conf/deployment.toml']);
    expect(merged).toEqual(
      expect.arrayContaining([...controlPlane, ...trafficManager.filter((t) => !t.startsWith('[server] hostname'))]),
    );
    expect(merged).toContain('[apim.key_manager] service_url = https://192.0.2.1:9443/services/');
    expect(merged).toContain('[[apim.gateway.environment]] service_url = https://192.0.2.2:9443/services/');
    expect(new Set(merged.map((m) => m.split(' = ')[0])).size).toBe(merged.length);
  });

  test('IPv6 node addresses are bracketed in every URL built from them', () => {
    const topology = topologyOf(onNodes('2001:db8::1', '2001:db8::2'));
    const urls = (['control-plane', 'traffic-manager', 'gateway'] as Role[])
      .flatMap((role) => roleConfiguration(topology, PLACEMENT, role).files.flatMap((f) => f.settings))
      .flatMap((s) => (Array.isArray(s.value) ? s.value : [s.value]))
      .filter((v): v is string => typeof v === 'string' && v.includes('2001:db8'));
    expect(urls).toEqual(
      expect.arrayContaining([
        'tcp://[2001:db8::1]:5672',
        'ssl://[2001:db8::1]:9711',
        'https://[2001:db8::1]:9443/services/',
        'https://[2001:db8::2]:9443/services/',
      ]),
    );
    for (const u of urls) expect(new URL(u).hostname).toMatch(/^\[2001:db8::[12]\]$/);
  });

  test("a key two roles set differently takes the node's first role's value", () => {
    const resource = example('apim-ha-gateway.yaml');
    const topology = topologyOf(resource);
    const hostname = (roles: Role[]) =>
      names(nodeConfiguration(topology, PLACEMENT, roles).files).filter((n) => n.startsWith('[server] hostname'));
    expect(hostname(['gateway-manager', 'gateway-worker'])).toEqual(['[server] hostname = mgtgw.am.wso2.com']);
    expect(hostname(['gateway-worker', 'gateway-manager'])).toEqual(['[server] hostname = gw.am.wso2.com']);
  });
});

describe('what the engine reports', () => {
  const config = configOf(caseNamed('apim-4-all-in-one'));
  const toml = config.files[0]!;

  test('a base file that sets an owned key to another value: file, key, both values', () => {
    const base = '[server]\nhostname = "portal.internal"  # set by hand\n';
    const result = patchFile(toml, base, 'configmap/apim-base/deployment.toml');
    expect(result.overrides).toEqual([
      {
        file: 'configmap/apim-base/deployment.toml',
        key: '[server] hostname',
        found: '"portal.internal"',
        value: '"api.am.wso2.com"',
      },
    ]);
    expect(result.text.split('\n')[1]).toBe('hostname = "api.am.wso2.com"  # set by hand');
  });

  test('a deployment.toml that does not parse: file, line and the parser message', () => {
    expect(() => patchFile(toml, '[server]\nhostname = "a"\n[server]\n', 'deployment.toml')).toThrow(
      new ProductConfigError(
        'deployment.toml',
        3,
        'Invalid TOML document: trying to redefine an already defined table or value',
      ),
    );
  });

  test('an XML file that does not parse: file, line and the parser message', () => {
    const carbon = configOf(caseNamed('is-5-worker')).files[0]!;
    const error = captureError(() => patchFile(carbon, '<Server>\n  <HostName>a</Host>\n</Server>\n', 'carbon.xml'));
    expect({ file: error.file, line: error.line }).toEqual({ file: 'carbon.xml', line: 2 });
    expect(error.detail).toContain('Opening and ending tag mismatch');
  });

  test('a site.json that does not parse: file, line and the parser message', () => {
    const site = configOf(caseNamed('apim-2-all-in-one')).files.find((f) => f.format === 'json')!;
    const error = captureError(() =>
      patchFile(site, '{\n  "reverseProxy": {\n    "enabled": tru\n  }\n}\n', 'site.json'),
    );
    expect({ file: error.file, line: error.line, detail: error.detail }).toEqual({
      file: 'site.json',
      line: 3,
      detail: 'InvalidSymbol',
    });
  });

  test('a base file larger than 1 MiB: file, the line where it passes the limit, and its size; not parsed', () => {
    const big = `[server]\nhostname = "a"\n${'x'.repeat(MAX_PRODUCT_FILE_BYTES)}\n`;
    const error = captureError(() => patchFile(toml, big, 'deployment.toml'));
    expect({ file: error.file, line: error.line }).toEqual({ file: 'deployment.toml', line: 3 });
    expect(error.detail).toBe(
      `passes 1 MiB on this line (${MAX_PRODUCT_FILE_BYTES + 25} bytes in all); a product configuration file is far smaller`,
    );
  });

  test('without base files: a minimal deployment.toml and the list of what to set', () => {
    const snippets = productSnippets(config);
    expect(parseToml(snippets['repository__conf__deployment.toml']!)).toMatchObject({
      server: { hostname: 'api.am.wso2.com' },
      transport: { http: { properties: { proxyPort: 80 } }, https: { properties: { proxyPort: 443 } } },
    });
    expect(snippets['CHANGES.txt']).toContain('[transport.https.properties] proxyPort = 443');
    for (const s of toml.settings) expect(snippets['CHANGES.txt']).toContain(settingName(s));
  });
});

function captureError(run: () => unknown): ProductConfigError {
  try {
    run();
  } catch (e) {
    if (e instanceof ProductConfigError) return e;
    throw e;
  }
  throw new Error('expected a ProductConfigError');
}

test('1000 random valid specs: every role of every product and version patches its base files into files that re-parse', () => {
  const next = generator(random(20261127));
  const failures: string[] = [];
  let patchedFiles = 0;
  for (let i = 0; i < 1000; i++) {
    const spec = next();
    const result = validateSpec(spec);
    if (!result.ok) {
      failures.push(`spec ${i} is not valid: ${JSON.stringify(result.problems)}`);
      continue;
    }
    const topology = buildTopology(result.spec);
    const toml =
      topology.product === 'api-manager'
        ? topology.version.startsWith('3.')
          ? 'apim-3'
          : 'apim-4'
        : topology.product === 'identity-server'
          ? 'is-7'
          : 'mi-4';
    for (const config of productConfiguration(topology, PLACEMENT)) {
      try {
        for (const file of config.files) {
          const base =
            file.format === 'toml'
              ? fixture(BASES[toml]!)
              : CARBON4[file.path]
                ? fixture(CARBON4[file.path]!)
                : undefined;
          if (base === undefined) continue;
          const once = patchFile(file, base);
          reparse(file, once.text);
          if (patchFile(file, once.text).text !== once.text)
            failures.push(`spec ${i} ${config.role} ${file.path}: not idempotent`);
          patchedFiles++;
        }
      } catch (e) {
        failures.push(`spec ${i} ${config.role}: ${(e as Error).message}\n${JSON.stringify(spec)}`);
      }
    }
  }
  expect(failures.slice(0, 3)).toEqual([]);
  expect(patchedFiles).toBeGreaterThan(1000);
});
