// A process-local stand-in for a WSO2 node: HTTPS on the product's ports with its own
// self-signed certificate (plain HTTP on the HTTP ports), a JSESSIONID cookie, redirects that
// carry the node's own host and port, a chosen status on /status/<code> (a WSO2 gateway answers
// 503 when an API's own backend is down), and a WebSocket echo. Every response says which node
// and port answered and which headers arrived, so tests can see where NGINX sent a request, and
// each node counts the requests it received (and keeps the last one). On demand it redirects
// every request to a URL of its choice (a product that does not know its public host), or answers
// with an HTML page of its choice (gzipped when the request accepts gzip, as Tomcat compresses).
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { WebSocketServer } from 'ws';
import { createCertificate, generateRsaKeyPair } from '../../src/tls/x509.js';

export interface NodeAnswer {
  node: string;
  port: number;
  scheme: 'http' | 'https';
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface FakeNodePorts {
  https: number[];
  http: number[];
}

export class FakeWso2Node {
  private servers: Server[] = [];
  private sessions = 0;
  /** Requests this node received, WebSocket upgrades excluded. */
  received = 0;
  /** The last request it received (path and headers). */
  lastRequest: { path: string; headers: IncomingMessage['headers'] } | undefined;
  /**
   * While set, every request is redirected here: a product whose own host name is not set (it
   * redirects to https://localhost:9443/...), a URL NGINX has no reason to rewrite.
   */
  redirectEverythingTo: string | undefined;
  /** The next `count` requests on `port` only are redirected to `location` (a failure of known length). */
  redirectNext: { port: number; count: number; location: string } | undefined;
  /** While set, every request that is not redirected gets this HTML page (a page naming the product's public host). */
  htmlPage: string | undefined;
  private readonly tls: { key: string; cert: string };

  constructor(
    readonly name: string,
    readonly address: string,
    readonly ports: FakeNodePorts,
  ) {
    const keyPair = generateRsaKeyPair();
    const now = Date.now();
    const cert = createCertificate({
      subject: { commonName: name },
      keyPair,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 86_400_000),
      isCA: false,
      serverAuth: true,
      subjectAltNames: [{ ip: address }, { dns: 'localhost' }],
    });
    this.tls = { key: keyPair.privateKeyPem, cert };
  }

  private handle(scheme: 'http' | 'https', port: number, req: IncomingMessage, res: ServerResponse): void {
    this.received++;
    this.lastRequest = { path: req.url ?? '', headers: req.headers };
    const url = new URL(req.url ?? '/', `${scheme}://${this.address}:${port}`);
    const headers: Record<string, string> = {};
    if (!/(^|;\s*)JSESSIONID=/.test(req.headers.cookie ?? '')) {
      headers['set-cookie'] = `JSESSIONID=${this.name}.${++this.sessions}; Path=/; HttpOnly`;
    }
    const next = this.redirectNext?.port === port && this.redirectNext.count > 0 ? this.redirectNext : undefined;
    if (next) next.count--;
    const redirectTo = next?.location ?? this.redirectEverythingTo;
    if (redirectTo !== undefined) {
      req.resume();
      res.writeHead(302, { ...headers, location: redirectTo }).end();
      return;
    }
    // WSO2 endpoints redirect with the node's own URL (seed 003), which NGINX must rewrite.
    if (url.pathname.endsWith('/redirect-to-self')) {
      headers.location = `${scheme}://${this.address}:${port}/authenticationendpoint/login.do?from=${this.name}`;
      req.resume();
      res.writeHead(302, headers).end();
      return;
    }
    if (this.htmlPage !== undefined) {
      const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      req.resume();
      res
        .writeHead(200, { ...headers, 'content-type': 'text/html', ...(gzip ? { 'content-encoding': 'gzip' } : {}) })
        .end(gzip ? gzipSync(this.htmlPage) : this.htmlPage);
      return;
    }
    headers['content-type'] = 'application/json';
    const answer: NodeAnswer = {
      node: this.name,
      port,
      scheme,
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
    };
    req.resume();
    const status = Number(/\/status\/([1-5]\d\d)(\/|$)/.exec(url.pathname)?.[1] ?? 200);
    req.on('end', () => res.writeHead(status, headers).end(JSON.stringify(answer)));
  }

  private echoWebSockets(server: Server): void {
    const wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `${this.name}: ${(data as Buffer).toString()}`));
      });
    });
  }

  async start(): Promise<void> {
    const listen = (server: Server, port: number) =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, this.address, () => resolve());
      });
    for (const port of this.ports.https) {
      const server = createHttpsServer(this.tls, (req, res) => this.handle('https', port, req, res));
      this.echoWebSockets(server);
      await listen(server, port);
      this.servers.push(server);
    }
    for (const port of this.ports.http) {
      const server = createHttpServer((req, res) => this.handle('http', port, req, res));
      this.echoWebSockets(server);
      await listen(server, port);
      this.servers.push(server);
    }
  }

  /** Stops listening and drops open connections, as a crashed node would. */
  async stop(): Promise<void> {
    await Promise.all(
      this.servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
    this.servers = [];
  }
}
