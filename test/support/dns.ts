// A DNS server on loopback whose answers a test sets: A records for the names it knows (TTL 1 s),
// NXDOMAIN for the others, no AAAA records. Enough for NGINX's resolver, so tests can make a
// node's name unresolvable, resolvable, or move it to another address while NGINX runs.
import { createSocket, type Socket } from 'node:dgram';

const TYPE_A = 1;

export class TestDns {
  private readonly records = new Map<string, string>();
  /** Queries received, by name (lower case). */
  readonly queries = new Map<string, number>();

  private constructor(
    private readonly socket: Socket,
    readonly port: number,
  ) {
    socket.on('message', (query, client) => {
      const response = this.answer(query);
      if (response) socket.send(response, client.port, client.address);
    });
  }

  static async start(): Promise<TestDns> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    return new TestDns(socket, socket.address().port);
  }

  /** `address` undefined: the name does not exist (NXDOMAIN). */
  set(name: string, address: string | undefined): void {
    if (address === undefined) this.records.delete(name.toLowerCase());
    else this.records.set(name.toLowerCase(), address);
  }

  private answer(query: Buffer): Buffer | undefined {
    if (query.length < 17) return undefined;
    const labels: string[] = [];
    let offset = 12;
    while (offset < query.length && query[offset] !== 0) {
      const length = query[offset]!;
      labels.push(query.subarray(offset + 1, offset + 1 + length).toString('ascii'));
      offset += length + 1;
    }
    const questionEnd = offset + 5; // the terminating 0, QTYPE and QCLASS
    if (questionEnd > query.length) return undefined;
    const name = labels.join('.').toLowerCase();
    const type = query.readUInt16BE(offset + 1);
    this.queries.set(name, (this.queries.get(name) ?? 0) + 1);

    const address = this.records.get(name);
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // the query's ID
    // QR, RD copied, RA; RCODE 3 (NXDOMAIN) for names it does not know.
    header.writeUInt16BE(0x8180 | (query.readUInt16BE(2) & 0x0100) | (address === undefined ? 3 : 0), 2);
    header.writeUInt16BE(1, 4);
    const answers = address !== undefined && type === TYPE_A ? 1 : 0;
    header.writeUInt16BE(answers, 6);
    const question = query.subarray(12, questionEnd);
    if (!answers) return Buffer.concat([header, question]);
    const record = Buffer.alloc(16);
    record.writeUInt16BE(0xc00c, 0); // the name, as a pointer to the question
    record.writeUInt16BE(TYPE_A, 2);
    record.writeUInt16BE(1, 4); // IN
    record.writeUInt32BE(1, 6); // TTL 1 s
    record.writeUInt16BE(4, 10);
    address!.split('.').forEach((octet, i) => record.writeUInt8(Number(octet), 12 + i));
    return Buffer.concat([header, question, record]);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}
