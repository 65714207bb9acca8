// How certificate names compare: DNS names case-insensitively, IP addresses by value. Users write
// `::1`, a certificate parser prints `0:0:0:0:0:0:0:1`; both mean the same SAN.
import { isIP } from 'node:net';
import { ipv6Groups } from '../api/addresses.js';

/** The form two names are compared in. */
export function canonicalName(name: string): string {
  const version = isIP(name);
  if (version === 6)
    return ipv6Groups(name)
      .map((group) => group.toString(16))
      .join(':');
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
