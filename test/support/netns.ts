// A network namespace of its own for a process under test that must listen where the operator
// tells it to (the NGINX pods' fixed container ports 8080, 8443, 8081 on every address), so that
// it never collides with anything else on this shared machine. The process runs under
// `unshare --net` (root only) behind netns-forward.js; this side serves the Unix sockets that
// carry its connections out (to the API server, to fake WSO2 nodes standing in for pod
// addresses) and exposes chosen in-namespace ports on free loopback ports here.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/localcluster/ports.js';

export interface Address {
  host: string;
  port: number;
}

/** Where a connection made inside to `host:port` goes here; undefined refuses it. */
export type Route = (inside: Address) => Address | undefined;

const pipe = (a: Socket, b: Socket) => {
  a.pipe(b);
  b.pipe(a);
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const) {
    x.on('error', () => y.destroy());
    x.on('close', () => y.destroy());
  }
};

/** Reads the first line ("host:port") of a connection; the rest is left unread in the socket. */
function firstLine(socket: Socket): Promise<{ line: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf(10);
      if (end < 0) return;
      socket.off('data', onData);
      socket.pause();
      resolve({ line: head.subarray(0, end).toString(), rest: head.subarray(end + 1) });
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

const parse = (text: string): Address => {
  const colon = text.lastIndexOf(':');
  return { host: text.slice(0, colon), port: Number(text.slice(colon + 1)) };
};

export class NetworkNamespace {
  private readonly servers: Server[] = [];

  private constructor(
    readonly dir: string,
    private readonly toHost: string,
    private readonly fromHost: string,
  ) {}

  /** Serves connections made inside to the addresses `route` knows. */
  static async start(route: Route): Promise<NetworkNamespace> {
    // Unix socket paths are limited to 108 bytes: a short directory.
    const dir = mkdtempSync(join(tmpdir(), 'w2fe-ns-'));
    const ns = new NetworkNamespace(dir, join(dir, 'out.sock'), join(dir, 'in.sock'));
    const server = createServer((socket) => {
      firstLine(socket)
        .then(({ line, rest }) => {
          const target = route(parse(line));
          if (!target) return socket.destroy();
          const outside = connect(target.port, target.host, () => {
            if (rest.length) outside.write(rest);
            pipe(socket, outside);
            socket.resume();
          });
          outside.on('error', () => socket.destroy());
        })
        .catch(() => socket.destroy());
    });
    await new Promise<void>((resolve) => server.listen(ns.toHost, resolve));
    ns.servers.push(server);
    return ns;
  }

  /** A free loopback port here whose connections go to `port` on 127.0.0.1 inside. */
  async expose(port: number): Promise<number> {
    const local = await freePort();
    const server = createServer((socket) => {
      const inside = connect(this.fromHost);
      inside.write(`127.0.0.1:${port}\n`);
      pipe(socket, inside);
    });
    await new Promise<void>((resolve) => server.listen(local, '127.0.0.1', resolve));
    this.servers.push(server);
    return local;
  }

  /**
   * The command line that runs `command` inside a new network namespace, with loopback up, every
   * address of `localCidrs` local there too (as a pod network's addresses), and connections to
   * each of `listen` inside passed out through `route`.
   */
  wrap(command: string[], listen: Address[], localCidrs: string[] = []): [string, string[]] {
    const config = join(this.dir, 'forward.json');
    writeFileSync(config, JSON.stringify({ toHost: this.toHost, fromHost: this.fromHost, listen }));
    const ip = spawnSync('sh', ['-c', 'command -v ip'], { encoding: 'utf8' }).stdout.trim() || '/usr/sbin/ip';
    const setup = [`${ip} link set lo up`, ...localCidrs.map((cidr) => `${ip} route add local ${cidr} dev lo`)];
    const script = join(process.cwd(), 'test', 'support', 'netns-forward.js');
    return [
      'unshare',
      [
        '--net',
        'sh',
        '-c',
        `${setup.join(' && ')} && exec "$0" "$@"`,
        process.execPath,
        script,
        config,
        '--',
        ...command,
      ],
    ];
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise((resolve) => s.close(resolve))));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
