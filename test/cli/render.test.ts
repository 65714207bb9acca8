// `wso2-frontend render`: the objects as YAML, or a runnable NGINX tree; bad input is named and
// nothing is written.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { send } from '../support/client.js';
import { freePort, onLoopback } from '../support/frontend.js';
import { NginxProcess, nginxTest } from '../support/nginx.js';
import { example } from '../support/resources.js';

const cli = join(process.cwd(), 'dist', 'cli', 'main.js');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'render', ...args], { encoding: 'utf8' });

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'wso2-frontend-cli-render-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

test('render -f prints the NGINX ConfigMap as YAML and names the Secrets it does not print', () => {
  const result = run('-f', 'examples/apim-single.yaml');
  expect(result.status).toBe(0);
  const [configMap] = yaml.loadAll(result.stdout.split('\n# ')[0]!) as {
    kind: string;
    metadata: { name: string; labels: Record<string, string> };
    data: Record<string, string>;
  }[];
  expect(configMap!.kind).toBe('ConfigMap');
  expect(configMap!.metadata.name).toBe('apim-single-nginx');
  expect(configMap!.metadata.labels['app.kubernetes.io/instance']).toBe('apim-single');
  expect(Object.keys(configMap!.data).sort()).toEqual([
    'nginx.conf',
    'probes.json',
    'upstreams.json',
    'vhost-gateway.conf',
    'vhost-portal.conf',
  ]);
  expect(configMap!.data['vhost-portal.conf']).toContain('listen 8443 ssl;');
  expect(result.stdout).toContain(
    'not printed as they hold private keys: apim-single-tls-ca, apim-single-tls-frontend',
  );
  expect(result.stdout).not.toContain('PRIVATE KEY');
});

test("render -f of a frontend serving the user's Secret names the operator's copy that NGINX's agent reads", () => {
  const result = run('-f', 'examples/is-7-managed.yaml');
  expect(result.status).toBe(0);
  expect(result.stdout).toContain('not printed as they hold private keys: identity-7-tls-secret-example-com-tls\n');
  expect(result.stdout).toContain(
    '- tls/secret-example-com-tls=identity-7-tls-secret-example-com-tls:tls.crt,tls.key,ca.crt?\n',
  );
  expect(result.stdout).not.toMatch(/[=\s]example-com-tls[:\s]/);
});

test('render -f of a frontend with tls.mode issuer prints the cert-manager Certificate first, then what serves it', () => {
  const resource = example('apim-single.yaml');
  resource.spec.tls = { mode: 'issuer', issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer' } };
  const file = join(scratch, 'issuer.yaml');
  writeFileSync(file, yaml.dump(resource));
  const result = run('-f', file);
  expect(result.status).toBe(0);
  const [certificate] = yaml.loadAll(result.stdout.split('\n# ')[0]!) as { kind: string; spec: unknown }[];
  expect(certificate).toMatchObject({
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name: 'apim-single-tls-frontend' },
    spec: {
      secretName: 'apim-single-tls-frontend-issued',
      dnsNames: ['api.am.wso2.com', 'gw.am.wso2.com'],
      issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer', group: 'cert-manager.io' },
      privateKey: { algorithm: 'RSA', size: 2048, rotationPolicy: 'Always' },
    },
  });
  // NGINX's agent reads the operator's checked copy, never cert-manager's Secret.
  expect(result.stdout).toContain('not printed as they hold private keys: apim-single-tls-frontend\n');
  expect(result.stdout).not.toMatch(/=apim-single-tls-frontend-issued:/);
});

test('render --nginx-dir writes a tree that nginx -p DIR -c nginx.conf serves on the chosen address and ports', async () => {
  const file = join(scratch, 'ei.yaml');
  writeFileSync(file, yaml.dump(onLoopback(example('ei-cluster.yaml'), 70)));
  const dir = join(scratch, 'ei-tree');
  const ports = { http: await freePort(), https: await freePort() };
  const result = run(
    '-f',
    file,
    '--nginx-dir',
    dir,
    '--bind',
    '127.0.0.1',
    '--http-port',
    String(ports.http),
    '--https-port',
    String(ports.https),
  );
  expect(result.status).toBe(0);
  expect(result.stdout).toContain(`nginx -p ${dir} -c nginx.conf`);
  expect(nginxTest(dir)).toEqual({ ok: true, output: '' });

  const nginx = await NginxProcess.start(dir, ports.https);
  try {
    const redirect = await send({ scheme: 'http', port: ports.http, host: 'ui.ei.wso2.com', path: '/carbon/' });
    expect(redirect.headers.location).toBe(`https://ui.ei.wso2.com:${ports.https}/carbon/`);
    // No node runs behind it here: the TLS handshake with the generated certificate is what matters.
    const response = await send({
      scheme: 'https',
      port: ports.https,
      host: 'ei.wso2.com',
      ca: readFileSync(join(dir, 'tls', 'ca', 'ca.crt'), 'utf8'),
    });
    expect(response.status).toBe(502);
  } finally {
    await nginx.stop();
  }
});

test('an invalid resource is rejected with each field named, exit code 1, and nothing written', () => {
  const file = join(scratch, 'bad.yaml');
  const bad = example('apim-single.yaml');
  bad.spec.sites = { portal: { host: 'API.example.com' } };
  bad.spec.nginx = { replicas: 0 };
  writeFileSync(file, yaml.dump(bad));
  const dir = join(scratch, 'never-written');
  const result = run('-f', file, '--nginx-dir', dir);
  expect(result.status).toBe(1);
  expect(result.stderr).toContain(
    'spec.sites.portal.host: Invalid value: "API.example.com": must be a lower-case RFC 1123 host name',
  );
  expect(result.stderr).toContain('spec.nginx.replicas: Invalid value: 0: must be greater than or equal to 1');
  expect(existsSync(dir)).toBe(false);
});

test('usage mistakes exit 2 with the reason', () => {
  expect(run().stderr).toContain('-f RESOURCE.yaml is required');
  expect(run().status).toBe(2);
  const wrongKind = join(scratch, 'wrong-kind.yaml');
  writeFileSync(wrongKind, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n');
  expect(run('-f', wrongKind).stderr).toContain('expected apiVersion wso2-frontend.dev/v1alpha1 and kind Wso2Frontend');
  expect(
    run('-f', 'examples/apim-single.yaml', '--nginx-dir', join(scratch, 'p'), '--https-port', '70000').stderr,
  ).toContain('--https-port: must be a port number from 1 to 65535');
});

test('the render commands of docs/operations.md run as written, through npx, with an older node first on the PATH', () => {
  const doc = readFileSync('docs/operations.md', 'utf8');
  const section = doc.slice(doc.indexOf('## Render offline'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
  const commands = block
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line.startsWith('npx wso2-frontend'));
  expect(commands).toHaveLength(2);
  // As on a fresh machine: no node_modules/.bin on the PATH, the machine's node (20 here) first.
  const path = (process.env.PATH ?? '')
    .split(':')
    .filter((dir) => !dir.includes('node_modules'))
    .join(':');
  const dir = join(scratch, 'readme-preview');
  for (const command of commands) {
    const result = spawnSync('sh', ['-c', command.replace('/tmp/apim', dir)], {
      encoding: 'utf8',
      env: { ...process.env, PATH: path },
    });
    // npm itself may warn that the Node.js running npm is older than `engines` (seen when npm
    // re-reads the tree while other tests run); that is about npm's Node, not the command's.
    const npmEngineNotice = /^npm warn EBADENGINE .*$/gm;
    expect(result.stderr.replace(npmEngineNotice, '').trim()).toBe('');
    expect(result.status).toBe(0);
  }
  expect(nginxTest(dir).ok).toBe(true);
});
