// What a site probe trusts, against a real TLS server: the CA file of the served configuration
// may hold the issuing intermediate rather than a root (cert-manager CA issuers, Vault PKI), and
// a certificate from that intermediate is then trusted; one from another CA is not.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeSite } from '../../src/agent/probe.js';

const HOST = 'api.example.com';
let dir: string;
let server: Server;
let port: number;

const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
const read = (file: string) => readFileSync(join(dir, file), 'utf8');

/** An ECDSA key and certificate `name`, self-signed or signed by `issuer`, with the extensions given. */
function certificate(name: string, subject: string, extensions: string[], issuer?: string): void {
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`);
  openssl('req', '-new', '-key', `${name}.key`, '-subj', `/CN=${subject}`, '-out', `${name}.csr`);
  writeFileSync(join(dir, `${name}.ext`), extensions.join('\n') + '\n');
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-days',
    '30',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.crt`,
    ...(issuer ? ['-CA', `${issuer}.crt`, '-CAkey', `${issuer}.key`, '-CAcreateserial'] : ['-key', `${name}.key`]),
  );
}

const CA = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'];
const ca = (name: string, issuer?: string) => certificate(name, name, CA, issuer);
const leaf = (name: string, issuer: string) =>
  certificate(name, HOST, [`subjectAltName=DNS:${HOST}`, 'extendedKeyUsage=serverAuth'], issuer);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wso2-frontend-probe-trust-'));
  ca('root');
  ca('intermediate', 'root');
  leaf('server', 'intermediate');
  ca('other');
  server = createServer({ key: read('server.key'), cert: read('server.crt') + read('intermediate.crt') }, (_req, res) =>
    res.writeHead(200, { 'content-type': 'text/plain' }).end('node\n'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const plan = () => ({
  site: 'portal',
  host: HOST,
  hostHeader: HOST,
  address: '127.0.0.1',
  port,
  path: '/',
  publicOrigins: [`https://${HOST}`],
  caFile: 'tls/portal/ca.crt',
  nodes: [],
});

test('a ca.crt holding the issuing intermediate is a trust anchor: the site answers', async () => {
  const result = await probeSite(plan(), { ca: read('intermediate.crt'), label: 'the CA in tls/portal/ca.crt' }, 5000);
  expect(result).toMatchObject({ ok: true });
});

test('a ca.crt holding the root still verifies the chain the server sends', async () => {
  const result = await probeSite(plan(), { ca: read('root.crt'), label: 'the CA in tls/portal/ca.crt' }, 5000);
  expect(result).toMatchObject({ ok: true });
});

test('a certificate from another CA does not chain, and the reason says to what', async () => {
  const result = await probeSite(plan(), { ca: read('other.crt'), label: 'the CA in tls/portal/ca.crt' }, 5000);
  expect(result.ok).toBe(false);
  expect(result).toMatchObject({
    error: expect.stringContaining('certificate does not chain to the CA in tls/portal/ca.crt'),
  });
});
