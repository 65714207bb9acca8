// A TCP proxy between a client and a server (plain passthrough: a TLS stream crosses it as
// bytes), whose network can be cut: `cut()` destroys every proxied connection and then
// blackholes (connections are accepted, as a lossy path's SYN-ACK may still come back, but
// nothing is forwarded either way, and nothing is closed: the client must notice by itself);
// `restore()` forwards new connections again. Connections held while blackholed stay held.
import { connect, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private readonly proxied = new Set<Socket>();
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
    for (const socket of [client, upstream]) {
      this.proxied.add(socket);
      socket.on('close', () => this.proxied.delete(socket));
    }
    client.pipe(upstream);
    upstream.pipe(client);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  /** Destroys every proxied connection, then forwards nothing until restore(). */
  cut(): void {
    this.blackholed = true;
    for (const socket of this.proxied) socket.destroy();
  }

  restore(): void {
    this.blackholed = false;
  }

  async stop(): Promise<void> {
    for (const socket of [...this.proxied, ...this.held]) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
