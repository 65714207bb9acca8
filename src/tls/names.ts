// How certificate names compare: DNS names case-insensitively, IP addresses by value. Users write
// `::1`, a certificate parser prints `0:0:0:0:0:0:0:1`; both mean the same SAN.
import { isIP } from 'node:net';

function canonicalIpv6(ip: string): string {
  let text = ip.toLowerCase();
  const embeddedIpv4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (embeddedIpv4) {
    const [a, b, c, d] = embeddedIpv4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, embeddedIpv4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined
      ? headGroups
      : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  return groups.map((group) => Number.parseInt(group, 16).toString(16)).join(':');
}

/** The form two names are compared in. */
export function canonicalName(name: string): string {
  const version = isIP(name);
  if (version === 6) return canonicalIpv6(name);
  return version === 4 ? name : name.toLowerCase();
}

/** The names without repeats, each kept in the spelling it first appeared in. */
export function uniqueNames(names: readonly string[]): string[] {
  const seen = new Set<string>();
  return names.filter((name) => {
    const key = canonicalName(name);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** What `wanted` has that `present` lacks (added), and the reverse (removed). */
export function nameDifference(
  wanted: readonly string[],
  present: readonly string[],
): { added: string[]; removed: string[] } {
  const wantedKeys = new Set(wanted.map(canonicalName));
  const presentKeys = new Set(present.map(canonicalName));
  return {
    added: uniqueNames(wanted).filter((name) => !presentKeys.has(canonicalName(name))),
    removed: uniqueNames(present).filter((name) => !wantedKeys.has(canonicalName(name))),
  };
}
