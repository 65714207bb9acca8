// A TCP proxy between a client and a server (plain passthrough: a TLS stream crosses it as
// bytes), whose network can be cut: `cut('reset')` destroys every proxied connection, then
// blackholes (new connections are accepted, as a lossy path's SYN-ACK may still come back, but
// nothing is forwarded either way and nothing is closed: the client must notice by itself);
// `cut('freeze')` blackholes without closing anything, leaving the open connections half-open
// (bytes written into them go nowhere, no answer, no reset). `restore()` forwards new
// connections again; connections held or frozen during the cut stay dead.
import { connect, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  /** Each proxied connection's two sockets, client first. */
  private readonly proxied = new Set<[Socket, Socket]>();
  private readonly held = new Set<Socket>();
  private blackholed = false;
  /** Connections accepted, and those held without forwarding, since the start. */
  readonly counts = { accepted: 0, held: 0 };

  private constructor(
    private readonly server: Server,
    readonly host: string,
    readonly port: number,
  ) {}

  static async start(host: string, target: { host: string; port: number }): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, resolve);
    });
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('the proxy has no TCP address');
    const proxy = new TcpProxy(server, host, address.port);
    server.on('connection', (client) => proxy.accept(client, target));
    return proxy;
  }

  private accept(client: Socket, target: { host: string; port: number }): void {
    this.counts.accepted++;
    client.on('error', () => client.destroy());
    if (this.blackholed) {
      this.counts.held++;
      this.held.add(client);
      client.pause(); // read nothing, answer nothing
      client.on('close', () => this.held.delete(client));
      return;
    }
    const upstream = connect(target.port, target.host);
    const pair: [Socket, Socket] = [client, upstream];
    this.proxied.add(pair);
    client.on('close', () => this.proxied.delete(pair));
    client.pipe(upstream);
    upstream.pipe(client);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  /** Forwards nothing until restore(); 'reset' first destroys every proxied connection, 'freeze' leaves them open and silent. */
  cut(how: 'reset' | 'freeze'): void {
    this.blackholed = true;
    for (const pair of this.proxied) {
      const [client, upstream] = pair;
      if (how === 'reset') {
        client.destroy();
        continue;
      }
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
      // The server's side of a dead path: what it sends or closes never reaches the client.
      upstream.removeAllListeners('close');
      upstream.removeAllListeners('error');
      upstream.on('error', () => undefined);
      this.proxied.delete(pair);
      for (const socket of pair) {
        this.held.add(socket);
        socket.on('close', () => this.held.delete(socket));
      }
    }
  }

  restore(): void {
    this.blackholed = false;
  }

  async stop(): Promise<void> {
    for (const socket of [...[...this.proxied].flat(), ...this.held]) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
