// Offline validation agrees with the API server plus the operator, case for case. The same YAML
// file goes to `wso2-frontend render -f` and to `kubectl apply --dry-run=server -f`, and the
// object the API server would store goes through the operator's validation. A resource is
// either valid everywhere, or refused by render and by the API server naming the same field, or
// (for what only the presets can tell) refused by render and by the operator, never accepted by
// one and refused by the other.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { formatProblem } from '../../src/api/validate.js';
import { validateSpec } from '../../src/model/validate.js';
import { createNamespace, kubectlOutcome } from '../support/cluster.js';
import { installCrd } from '../support/resources.js';

const execFileAsync = promisify(execFile);

type Verdict =
  | { valid: true }
  /** Refused by the API server at kubectl apply (and so by render), on this field. */
  | { refusedBy: 'api-server'; field: string }
  /** Stored by the API server, refused by the operator (and by render), on this field. */
  | { refusedBy: 'operator'; field: string };

interface Case {
  name: string;
  /** The resource as a user writes it (YAML text: `off` unquoted is not the string "off" for kubectl). */
  yaml: string;
  verdict: Verdict;
  /** Text both render and the API server show, exactly (a quoted value with escapes). */
  bothShow?: string;
  /** Apply server-side: client-side apply would copy the whole file into an annotation of the resource itself. */
  serverSide?: true;
}

const resource = (name: string, spec: string) => `apiVersion: wso2-frontend.dev/v1alpha1
kind: Wso2Frontend
metadata:
  name: ${name}
spec:
  product: api-manager
  pattern: apim-single
${spec}`;
const external = (address = '192.0.2.21') =>
  `  backends: {external: {nodes: [{name: node-1, address: ${JSON.stringify(address)}, roles: [all-in-one]}]}}`;
const managed = (component: string) => `  backends: {managed: {components: {all-in-one: ${component}}}}`;
const name = (length: number) => `n${'a'.repeat(length - 1)}`;
const annotations = (entries: Record<string, string>) =>
  `  nginx: {service: {annotations: ${JSON.stringify(entries)}}}`;
const valid = { valid: true } as const;
const byServer = (field: string) => ({ refusedBy: 'api-server', field }) as const;
const byOperator = (field: string) => ({ refusedBy: 'operator', field }) as const;
const ADDRESS = 'spec.backends.external.nodes[0].address';

const cases: Case[] = [
  { name: 'an example as shipped', yaml: resource('apim-single', external()), verdict: valid },
  // metadata.name: every derived name must be one Kubernetes allows.
  { name: 'a name of 57 characters (external nodes)', yaml: resource(name(57), external()), verdict: valid },
  {
    name: 'a name of 58 characters (its Service <name>-nginx would have 64)',
    yaml: resource(name(58), external()),
    verdict: byServer('metadata.name'),
  },
  {
    name: 'a name of 64 characters (label values have at most 63)',
    yaml: resource(name(64), external()),
    verdict: byServer('metadata.name'),
  },
  { name: 'a name of 52 characters with managed pods', yaml: resource(name(52), managed('{}')), verdict: valid },
  {
    name: 'a name of 53 characters with managed pods (Service <name>-all-in-one)',
    yaml: resource(name(53), managed('{}')),
    verdict: byServer('metadata.name'),
  },
  {
    name: 'a name with a dot (no Service may have it)',
    yaml: resource('a.b', external()),
    verdict: byServer('metadata.name'),
  },
  { name: 'a name starting with a digit', yaml: resource('1abc', external()), verdict: byServer('metadata.name') },
  // Addresses: canonical IPv4, IPv6 or a DNS name, nothing a resolver reads as another address.
  { name: 'an IPv6 node address', yaml: resource('ipv6', external('2001:db8::21')), verdict: valid },
  { name: 'a DNS node address', yaml: resource('dns', external('node-1.wso2.example')), verdict: valid },
  { name: 'address 999.1.1.1', yaml: resource('a', external('999.1.1.1')), verdict: byServer(ADDRESS) },
  { name: 'address 1.2.3 (read as 1.2.0.3)', yaml: resource('a', external('1.2.3')), verdict: byServer(ADDRESS) },
  {
    name: 'address 2130706433 (read as 127.0.0.1)',
    yaml: resource('a', external('2130706433')),
    verdict: byServer(ADDRESS),
  },
  {
    name: 'address 0x7f.0.0.1 (read as 127.0.0.1)',
    yaml: resource('a', external('0x7f.0.0.1')),
    verdict: byServer(ADDRESS),
  },
  {
    name: 'address 010.0.0.1 (read as 8.0.0.1)',
    yaml: resource('a', external('010.0.0.1')),
    verdict: byServer(ADDRESS),
  },
  {
    name: 'an IPv4-mapped IPv6 address',
    yaml: resource('a', external('::ffff:192.0.2.1')),
    verdict: byServer(ADDRESS),
  },
  // Sizes NGINX refuses or the renderer could not write.
  {
    name: 'proxyBufferSize 0',
    yaml: resource('a', `${external()}\n  nginx: {proxyBufferSize: "0"}`),
    verdict: byServer('spec.nginx.proxyBufferSize'),
  },
  {
    name: 'proxyBufferSize 999999k',
    yaml: resource('a', `${external()}\n  nginx: {proxyBufferSize: 999999k}`),
    verdict: byServer('spec.nginx.proxyBufferSize'),
  },
  { name: 'proxyBufferSize 1k', yaml: resource('a', `${external()}\n  nginx: {proxyBufferSize: 1k}`), verdict: valid },
  { name: 'proxyBufferSize 1m', yaml: resource('a', `${external()}\n  nginx: {proxyBufferSize: 1m}`), verdict: valid },
  // What the owned objects would be refused for.
  {
    name: 'Service annotations of more than 256 KiB in total',
    yaml: resource(
      'a',
      `${external()}\n${annotations(Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, 'v'.repeat(4096)])))}`,
    ),
    verdict: byServer('spec.nginx.service.annotations'),
    serverSide: true,
  },
  {
    name: 'an annotation key with a space',
    yaml: resource('a', `${external()}\n${annotations({ 'bad key': 'x' })}`),
    verdict: byServer('spec.nginx.service.annotations'),
  },
  {
    name: 'an annotation key with two slashes',
    yaml: resource('a', `${external()}\n${annotations({ 'a/b/c': 'x' })}`),
    verdict: byServer('spec.nginx.service.annotations'),
  },
  {
    name: 'a prefixed annotation key',
    yaml: resource(
      'a',
      `${external()}\n${annotations({ 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' })}`,
    ),
    verdict: valid,
  },
  {
    name: '3000 emoji in an annotation (3000 characters, 6000 UTF-16 units)',
    yaml: resource('a', `${external()}\n${annotations({ note: '\u{1F600}'.repeat(3000) })}`),
    verdict: valid,
  },
  {
    name: 'a resource that is not a container resource',
    yaml: resource('a', managed('{resources: {requests: {gpu: "1"}}}')),
    verdict: byServer('spec.backends.managed.components[all-in-one].resources'),
  },
  {
    name: 'requests above limits',
    yaml: resource('a', managed('{resources: {requests: {cpu: "2"}, limits: {cpu: 1500m}}}')),
    verdict: byServer('spec.backends.managed.components[all-in-one].resources'),
  },
  {
    name: 'requests equal to limits in other units',
    yaml: resource('a', managed('{resources: {requests: {memory: 1Gi}, limits: {memory: "1073741824"}}}')),
    verdict: valid,
  },
  // YAML and JSON as the API server reads them.
  {
    name: 'a repeated extra SAN',
    yaml: resource('a', `${external()}\n  tls: {extraSANs: [localhost, localhost]}`),
    verdict: byServer('spec.tls.extraSANs[1]'),
  },
  {
    name: 'http: off unquoted (a boolean for kubectl)',
    yaml: resource('a', `${external()}\n  sites: {portal: {http: off}}`),
    verdict: byServer('spec.sites.portal.http'),
  },
  {
    name: 'http: "off" quoted',
    yaml: resource('a', `${external()}\n  sites: {portal: {http: "off"}}`),
    verdict: valid,
  },
  { name: 'host: null', yaml: resource('a', `${external()}\n  sites: {portal: {host: null}}`), verdict: valid },
  {
    name: 'a host with a right-to-left override, CR and ESC (escaped in both messages)',
    yaml: resource('a', `${external()}\n  sites: {portal: {host: "api.\\u202emoc.elpmaxe\\r\\e"}}`),
    verdict: byServer('spec.sites.portal.host'),
    bothShow: '"api.\\u202emoc.elpmaxe\\r\\x1b"',
  },
  {
    name: 'a host with a line separator',
    yaml: resource('a', `${external()}\n  sites: {portal: {host: "api\\u2028x.com"}}`),
    verdict: byServer('spec.sites.portal.host'),
    bothShow: '"api\\u2028x.com"',
  },
  // Only the presets can tell: the API server stores these, the operator refuses them.
  {
    name: "a host that is another site's default host",
    yaml: resource('a', `${external()}\n  sites: {gateway: {host: api.am.wso2.com}}`),
    verdict: byOperator('spec.sites.gateway.host'),
  },
];

let scratch: string;
let namespace: string;
beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'wso2-frontend-agreement-'));
  await installCrd();
  namespace = await createNamespace('agree');
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function render(file: string): Promise<{ code: number; stderr: string }> {
  try {
    await execFileAsync(process.execPath, ['dist/cli/main.js', 'render', '-f', file], { maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stderr: '' };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

test.each(cases.map((c, i) => [c.name, c, i] as const))('%s', async (_name, c, i) => {
  const file = join(scratch, `case-${i}.yaml`);
  writeFileSync(file, c.yaml);
  const [offline, server] = await Promise.all([
    render(file),
    kubectlOutcome([
      'apply',
      ...(c.serverSide ? ['--server-side'] : []),
      '--dry-run=server',
      '-n',
      namespace,
      '-o',
      'json',
      '-f',
      file,
    ]),
  ]);

  if ('valid' in c.verdict) {
    expect(offline).toEqual({ code: 0, stderr: '' });
    expect(server.stderr).toBe('');
    const stored = JSON.parse(server.stdout) as { spec: unknown };
    expect(validateSpec(stored.spec)).toMatchObject({ ok: true });
    return;
  }
  expect(offline.code).toBe(1);
  expect(offline.stderr).toContain(`  ${c.verdict.field}: `);
  if (c.verdict.refusedBy === 'api-server') {
    expect(server.code).not.toBe(0);
    // A rule on metadata.name sits at the root, which the API server names <nil>; its message names the field.
    expect(server.stderr).toContain(c.verdict.field === 'metadata.name' ? 'metadata.name ' : `${c.verdict.field}: `);
  } else {
    expect(server.stderr).toBe('');
    const stored = JSON.parse(server.stdout) as { spec: unknown };
    const operator = validateSpec(stored.spec);
    expect(operator.ok ? [] : operator.problems.map(formatProblem)).toContainEqual(
      expect.stringMatching(new RegExp(`^${c.verdict.field.replace(/[.[\]]/g, '\\$&')}: `)),
    );
  }
  if (c.bothShow) {
    expect(offline.stderr).toContain(c.bothShow);
    expect(server.stderr).toContain(c.bothShow);
  }
});

test('render refuses a name with a newline or NUL, which the API server never stores, and shows it escaped', async () => {
  for (const [text, shown] of [
    ['"bad\\nname"', '"bad\\nname"'],
    ['"bad\\0name"', '"bad\\x00name"'],
  ] as const) {
    const file = join(scratch, `name-${shown.length}.yaml`);
    writeFileSync(file, resource(text, external()));
    const offline = await render(file);
    expect(offline.code).toBe(1);
    expect(offline.stderr).toContain(`${shown} is not valid`);
    expect(offline.stderr).toContain('  metadata.name: ');
    expect(offline.stderr.split('\n')[0]).not.toMatch(/[\0\r]/);
  }
});
