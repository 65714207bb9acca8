// IP address literals as the API server's CEL isIP() reads them (Go's netip.ParseAddr without
// zones or IPv4-mapped IPv6): IPv4 only as four decimal numbers without leading zeros.
import { isIPv4, isIPv6 } from 'node:net';

/** The eight 16-bit groups of a valid IPv6 address. */
export function ipv6Groups(text: string): number[] {
  let address = text.toLowerCase();
  const embedded = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  if (embedded) {
    const [a, b, c, d] = embedded.slice(1).map(Number) as [number, number, number, number];
    address = `${address.slice(0, embedded.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = address.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  if (tail === undefined) return parse(head);
  const [first, last] = [parse(head), parse(tail)];
  return [...first, ...Array<number>(8 - first.length - last.length).fill(0), ...last];
}

export function isCanonicalIp(text: string): boolean {
  if (isIPv4(text)) return true;
  if (!isIPv6(text) || text.includes('%')) return false;
  const groups = ipv6Groups(text);
  const ipv4Mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  return !ipv4Mapped;
}
