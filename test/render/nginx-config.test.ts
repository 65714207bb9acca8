// The rendered NGINX configuration: accepted by a real `nginx -t` for every example,
// byte-identical for the same input, valid and answering 503 when an upstream has no
// endpoints, and never carrying a value its kind does not allow.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTopology } from '../../src/model/topology.js';
import { validateSpec } from '../../src/model/validate.js';
import { containerLayout, renderNginx, type NginxLayout } from '../../src/render/nginx/config.js';
import { directive, toText, value } from '../../src/render/nginx/syntax.js';
import { nginxConfiguration } from '../../src/render/objects.js';
import { CONFIG_HASH_PATH } from '../../src/api/agent.js';
import { send } from '../support/client.js';
import { freePort, onLoopback, topologyOf } from '../support/frontend.js';
import { NginxProcess, nginxTest, writeNginxTree } from '../support/nginx.js';
import { example, examples, is7ConsoleFrontend } from '../support/resources.js';

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'wso2-frontend-render-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// Nodes named by DNS are resolved at run time through the cluster's DNS Service, whose own name
// NGINX resolves when it loads the configuration, and which only exists in a cluster: the check
// runs the examples with their nodes on loopback (test/dataplane/dns.test.ts covers names).
test.each(examples().map((e, i) => [e.file, onLoopback(e.resource, 60 + i)] as const))(
  '%s renders a configuration that nginx -t accepts',
  (file, resource) => {
    const dir = join(scratch, file);
    writeNginxTree(dir, topologyOf(resource), containerLayout(topologyOf(resource)));
    const result = nginxTest(dir);
    expect(result.output).not.toMatch(/emerg|\[warn\]/);
    expect(result.ok).toBe(true);
  },
);

test.each([
  ['46', 46],
  ['47', 47],
  ['253 (the longest the schema allows)', 253],
])(
  'a host name of %s characters renders trees that nginx -t accepts, as ConfigMap files and for a local preview',
  (_, length) => {
    const labels = [];
    for (let left = length; left > 0; left -= 64) labels.push('h'.repeat(Math.min(63, left)));
    const host = labels.join('.');
    expect(host).toHaveLength(length);
    const resource = onLoopback(example('apim-single.yaml'), 90);
    resource.spec.sites = { portal: { host } };
    const topology = topologyOf(resource);
    const local: NginxLayout = {
      listen: { address: '127.0.0.1', http: 8080, https: 8443 },
      publicPorts: { http: 8080, https: 8443 },
    };
    for (const [name, layout] of [
      ['configmap', containerLayout(topology)],
      ['local', local],
    ] as const) {
      const dir = join(scratch, `host-${length}-${name}`);
      writeNginxTree(dir, topology, layout);
      const result = nginxTest(dir);
      expect(result.output).not.toMatch(/emerg|\[warn\]/);
      expect(result.ok).toBe(true);
    }
  },
);

test('the same resource renders byte-identical files every time', () => {
  for (const { resource } of examples()) {
    const first = renderNginx(topologyOf(resource), containerLayout(topologyOf(resource)));
    const again = renderNginx(topologyOf(structuredClone(resource)), containerLayout(topologyOf(resource)));
    expect(again).toEqual(first);
  }
});

test("IS 7's Console host serves only the Console's paths on a proxied HTTP listener too, to the HTTP upstream", () => {
  const resource = onLoopback(is7ConsoleFrontend(), 79);
  resource.spec.sites!.management!.http = 'proxy';
  const topology = topologyOf(resource);
  const dir = join(scratch, 'is-7-console-http');
  writeNginxTree(dir, topology, containerLayout(topology));
  expect(nginxTest(dir)).toEqual({ ok: true, output: '' });
  const vhost = renderNginx(topology, containerLayout(topology))['vhost-management.conf']!;
  const httpServer = vhost.slice(vhost.indexOf('    listen 8080;'));
  const consoleLocation = httpServer.slice(httpServer.indexOf('(console|oauth2|oidc|'));
  const end = consoleLocation.indexOf('\n    }\n');
  expect(consoleLocation.slice(0, end)).toContain('proxy_set_header X-Forwarded-Proto http;');
  expect(consoleLocation.slice(0, end)).toContain("sub_filter 'login.example.com' 'console.example.com';");
  expect(consoleLocation.slice(0, end)).toContain('proxy_pass http://management-http;');
  expect(httpServer).toContain('location / {  # no other path on the Console host\n        return 404;');
});

test('one vhost file per public host, plus nginx.conf', () => {
  const files = renderNginx(
    topologyOf(example('apim-distributed.yaml')),
    containerLayout(topologyOf(example('apim-distributed.yaml'))),
  );
  expect(Object.keys(files).sort()).toEqual([
    'nginx.conf',
    'vhost-gateway.conf',
    'vhost-portal.conf',
    'vhost-websocket.conf',
    'vhost-websub.conf',
  ]);
});

test('a site whose upstream has no endpoints yet answers 503 with a clear body on a real NGINX', async () => {
  const topology = topologyOf(example('apim-distributed.yaml'));
  expect(topology.upstreams.every((u) => u.servers.length === 0)).toBe(true);
  const dir = join(scratch, 'no-endpoints');
  const ports = { http: await freePort(), https: await freePort() };
  writeNginxTree(dir, topology, { listen: { address: '127.0.0.1', ...ports }, publicPorts: ports });
  const nginx = await NginxProcess.start(dir, ports.https);
  try {
    const { readFileSync } = await import('node:fs');
    const response = await send({
      scheme: 'https',
      port: ports.https,
      host: 'gw.wso2.com',
      ca: readFileSync(join(dir, 'tls', 'ca', 'ca.crt'), 'utf8'),
    });
    expect(response.status).toBe(503);
    expect(response.body).toBe('No ready WSO2 node for site gateway (role gateway, port 8243).\n');
  } finally {
    await nginx.stop();
  }
});

test('the health listener tells the reload agent, and only a local client, which configuration a worker loaded', async () => {
  const resource = onLoopback(example('apim-single.yaml'), 59);
  const topology = topologyOf(resource);
  const listen = { http: await freePort(), https: await freePort(), health: await freePort() };
  const dir = join(scratch, 'config-hash');
  writeNginxTree(dir, topology, { listen: { address: '127.0.0.1', ...listen }, publicPorts: listen });
  const nginx = await NginxProcess.start(dir, listen.health);
  try {
    const { hash } = nginxConfiguration(topology, { listen: { address: '127.0.0.1', ...listen }, publicPorts: listen });
    const local = await send({ scheme: 'http', port: listen.health, host: 'localhost', path: CONFIG_HASH_PATH });
    expect(local.status).toBe(200);
    expect(local.body).toBe(`${hash}\n`);
    const other = await send({
      scheme: 'http',
      port: listen.health,
      host: 'localhost',
      path: CONFIG_HASH_PATH,
      localAddress: '127.0.0.2',
    });
    expect(other.status).toBe(403);
  } finally {
    await nginx.stop();
  }
});

test("NGINX Plus users get the seeds' sticky learn directive on JSESSIONID", () => {
  const resource = example('apim-ha-key-manager.yaml');
  resource.spec.nginx = { edition: 'plus' };
  resource.spec.sites = { 'key-manager': { sessionAffinity: { mode: 'nginx-plus-sticky' } } };
  const result = validateSpec(resource.spec);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  const vhost = renderNginx(buildTopology(result.spec), containerLayout(buildTopology(result.spec)))[
    'vhost-key-manager.conf'
  ]!;
  expect(vhost).toContain(
    'sticky learn create=$upstream_cookie_jsessionid lookup=$cookie_jsessionid zone=key_manager_https_sessions:1m;',
  );
  expect(vhost).not.toContain('Set-Cookie');
});

test('the syntax builder refuses a value that does not fit its kind, whatever validation let through', () => {
  for (const [kind, bad] of [
    ['host', 'api.example.com;'],
    ['host', 'a b'],
    ['address', '10.0.0.1:80 backup'],
    ['duration', '5m; return 200'],
    ['size', '1m}'],
    ['cookie-name', 'ROUTE$x'],
    ['cookie-path', '/"'],
    ['port', '443 ssl'],
  ] as const) {
    expect(() => toText([directive('server_name', value(kind, bad))])).toThrow(
      `refusing to write ${JSON.stringify(bad)} into NGINX configuration`,
    );
  }
  expect(toText([directive('server', [value('address', '2001:db8::1'), ':', value('port', 9443)])])).toBe(
    'server [2001:db8::1]:9443;\n',
  );
});

test('a pod name from the cluster cannot end a comment and start a directive, nor become a redirect host', () => {
  // A pinned management site names its pod in a comment.
  const managed = example('is-7-managed.yaml');
  const result = validateSpec(managed.spec);
  if (!result.ok) throw new Error('the example is valid');
  // EndpointSlices are written by whoever may write them in the namespace: their targetRef names are not checked.
  const hostile = 'is-0\nserver evil.example.com:443;\r#';
  const topology = buildTopology(result.spec, { manager: [{ pod: hostile, address: '10.244.0.7' }] });
  const text = Object.values(renderNginx(topology, containerLayout(topology))).join('\n');
  expect(text).toContain('# Pinned: only node is-0\n    # server evil.example.com:443;?# (management console).');
  expect(text).not.toMatch(/^\s*server evil\.example\.com/m);
  expect(text).toContain('proxy_redirect https://10.244.0.7:9443/ https://console.example.com/;');
  expect(text).not.toMatch(/proxy_redirect https:\/\/is-0/);
});
