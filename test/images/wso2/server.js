// The WSO2 stand-in's server: in a pod, it answers on the product's ports as the fake nodes of
// the data-plane tests do (test/support/fake-wso2.ts): HTTPS with a certificate of its own (made
// at start, for localhost and the pod's addresses), plain HTTP on the HTTP ports, a JSESSIONID
// cookie, redirects that carry the node's own address and port (/…/redirect-to-self), a chosen
// status on /status/<code>, and a JSON answer saying which pod and port answered and which
// headers arrived. It also serves the product files it started with (after the entrypoint
// copied the config volume over the home), so a test can read the patched keys:
//   GET /stand-in/files/<path relative to WSO2_SERVER_HOME>
// Plain Node.js (no dependencies): the image has Node.js, not the project's node_modules.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer } from 'node:net';
import { hostname, networkInterfaces, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

const home = process.env.WSO2_SERVER_HOME;
const ports = (name) =>
  (process.env[name] ?? '')
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number);
const httpsPorts = ports('WSO2_STAND_IN_HTTPS_PORTS');
const httpPorts = ports('WSO2_STAND_IN_HTTP_PORTS');
// Ports other components reach by protocols of their own (JMS, binary): accepted, nothing more.
const tcpPorts = ports('WSO2_STAND_IN_TCP_PORTS');
const name = hostname();
// Every address, as Carbon listens; a test outside a pod network names one of its own.
const address = process.env.WSO2_STAND_IN_ADDRESS || undefined;

function certificate() {
  const addresses = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && !a.internal)
    .map((a) => `IP:${a.address}`);
  const dir = mkdtempSync(join(tmpdir(), 'stand-in-tls-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '30',
        '-subj',
        `/CN=${name}`,
        '-addext',
        `subjectAltName=${['DNS:localhost', `DNS:${name}`, 'IP:127.0.0.1', ...(address ? [`IP:${address}`] : []), ...addresses].join(',')}`,
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(key), cert: readFileSync(cert) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let sessions = 0;

function handle(scheme, port, req, res) {
  const url = new URL(req.url ?? '/', `${scheme}://localhost:${port}`);
  const headers = {};
  if (!/(^|;\s*)JSESSIONID=/.test(req.headers.cookie ?? '')) {
    headers['set-cookie'] = `JSESSIONID=${name}.${++sessions}; Path=/; HttpOnly`;
  }
  req.resume();
  if (url.pathname.startsWith('/stand-in/files/')) {
    const file = resolve(home, decodeURIComponent(url.pathname.slice('/stand-in/files/'.length)));
    const inside = !relative(home, file).startsWith('..');
    if (!inside || !existsSync(file)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no such file in ${home}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(file));
    return;
  }
  // WSO2 endpoints redirect with the node's own URL (seed 003), which NGINX must rewrite.
  if (url.pathname.endsWith('/redirect-to-self')) {
    const self = req.socket.localAddress?.replace(/^::ffff:/, '') ?? 'localhost';
    const host = self.includes(':') ? `[${self}]` : self;
    headers.location = `${scheme}://${host}:${port}/authenticationendpoint/login.do?from=${name}`;
    res.writeHead(302, headers).end();
    return;
  }
  headers['content-type'] = 'application/json';
  const status = Number(/\/status\/([1-5]\d\d)(\/|$)/.exec(url.pathname)?.[1] ?? 200);
  const answer = { node: name, port, scheme, method: req.method ?? '', path: req.url ?? '', headers: req.headers };
  req.on('end', () => res.writeHead(status, headers).end(JSON.stringify(answer)));
}

const tls = certificate();
const servers = [];
const listen = (server, port) =>
  new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(port, address, () => done());
  });
for (const port of httpsPorts) {
  const server = createHttpsServer(tls, (req, res) => handle('https', port, req, res));
  await listen(server, port);
  servers.push(server);
}
for (const port of httpPorts) {
  const server = createHttpServer((req, res) => handle('http', port, req, res));
  await listen(server, port);
  servers.push(server);
}
for (const port of tcpPorts) {
  const server = createTcpServer((socket) => socket.on('error', () => {}).resume());
  await listen(server, port);
  servers.push(server);
}
console.log(
  `WSO2 stand-in ${name}: ${home} on https ${httpsPorts.join(' ')}, http ${httpPorts.join(' ') || '-'}, tcp ${tcpPorts.join(' ') || '-'}`,
);

// As Carbon's graceful shutdown: stop accepting, let requests in flight finish, then exit.
process.once('SIGTERM', () => {
  console.log('SIGTERM: finishing requests in flight');
  let open = servers.length;
  for (const server of servers) {
    server.close(() => --open === 0 && process.exit(0));
    server.closeIdleConnections?.();
  }
});
