// The contract between the rendered NGINX configuration and the reload agent's
// `upstream_server_up` gauge: the upstream servers of every role, as a file of the NGINX
// ConfigMap, so the agent shows each server of the configuration it serves from the moment it
// serves it (not only once NGINX has sent the server a request) and forgets those a new
// configuration no longer has. Both sides import these names from here only.
import { isIP } from 'node:net';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ipv6Groups } from './addresses.js';

/** The key of the NGINX ConfigMap (a file of the served configuration) holding the JSON `UpstreamServersPlan`. */
export const UPSTREAM_SERVERS_FILE = 'upstreams.json';

/**
 * `address:port` as NGINX writes a server in `$upstream_addr` (IPv6 in brackets), or `name:port`
 * for a node named by DNS, which NGINX resolves at run time (`server ... resolve`).
 */
const Server = Type.String({ pattern: '^([-.:0-9A-Za-z]+|\\[[0-9A-Fa-f:.]+\\]):[0-9]{1,5}$', maxLength: 300 });

export const UpstreamServersPlan = Type.Object({
  roles: Type.Array(
    Type.Object({
      /** The role label of the traffic metrics (the upstreams' role). */
      role: Type.String({ minLength: 1, maxLength: 63 }),
      /** Every server of the role's upstreams, once each. */
      servers: Type.Array(Server, { maxItems: 4096 }),
    }),
    { maxItems: 256 },
  ),
});

export type UpstreamServersPlan = Static<typeof UpstreamServersPlan>;

/** A server as `$upstream_addr` shows it: IPv6 addresses in brackets, written as NGINX writes them. */
export function upstreamServer(address: string, port: number): string {
  return isIP(address) === 6 ? `[${nginxIpv6Text(ipv6Groups(address))}]:${port}` : `${address}:${port}`;
}

/**
 * An IPv6 address as NGINX prints it (ngx_inet6_ntop): lowercase hex without leading zeros, the
 * first longest run of two or more zero groups as ::, and, where the zeros lead, an IPv4-mapped
 * (::ffff:a.b.c.d) or IPv4-compatible (::a.b.c.d) address with its last 32 bits dotted, as RFC
 * 5952's canonical text (and a URL's) does not for the latter.
 */
export function nginxIpv6Text(groups: readonly number[]): string {
  let [zero, max, run, start] = [-1, 1, 0, -1];
  for (let i = 0; i < 8; i++) {
    if (groups[i] !== 0) {
      if (max < run) [zero, max] = [start, run];
      run = 0;
    } else if (run++ === 0) start = i;
  }
  if (max < run) [zero, max] = [start, run];
  const [g5, g6, g7] = [groups[5]!, groups[6]!, groups[7]!];
  const dotted =
    zero === 0 && ((max === 5 && g5 === 0xffff) || max === 6 || (max === 7 && g7 >> 8 !== 0 && (g7 & 0xff) !== 1));
  let text = zero === 0 ? ':' : '';
  for (let i = 0; i < (dotted ? 6 : 8); i++) {
    if (i === zero) {
      text += ':';
      i += max - 1;
      continue;
    }
    text += groups[i]!.toString(16);
    if (i < 7) text += ':';
  }
  return dotted ? `${text}${g6 >> 8}.${g6 & 0xff}.${g7 >> 8}.${g7 & 0xff}` : text;
}

/** Whether a server is given by address (NGINX uses it as written) rather than by a name it resolves. */
export function namedByAddress(server: string): boolean {
  const host = server.slice(0, server.lastIndexOf(':'));
  return host.startsWith('[') || isIP(host) === 4;
}

/** The plan in a served configuration, or why it cannot be used. */
export function parseUpstreamServersPlan(text: string): UpstreamServersPlan | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `${UPSTREAM_SERVERS_FILE} is not JSON: ${String(error)}`;
  }
  const error = Value.Errors(UpstreamServersPlan, value).First();
  return error ? `${UPSTREAM_SERVERS_FILE}${error.path}: ${error.message}` : (value as UpstreamServersPlan);
}
