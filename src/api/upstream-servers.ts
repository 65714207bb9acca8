// The contract between the rendered NGINX configuration and the reload agent's
// `upstream_server_up` gauge: the upstream servers of every role, as a file of the NGINX
// ConfigMap, so the agent shows each server of the configuration it serves from the moment it
// serves it (not only once NGINX has sent the server a request) and forgets those a new
// configuration no longer has. Both sides import these names from here only.
import { isIP } from 'node:net';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

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

/** A server as `$upstream_addr` shows it: IPv6 addresses in brackets, in their canonical form. */
export function upstreamServer(address: string, port: number): string {
  return isIP(address) === 6 ? `${new URL(`http://[${address}]/`).hostname}:${port}` : `${address}:${port}`;
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
