// The upstream servers of every role, rendered into the NGINX ConfigMap (`upstreams.json`) next
// to the configuration that defines them, so the reload agent's `upstream_server_up` gauge knows
// exactly the servers of the configuration it serves. Pure: same topology, same bytes.
import { UPSTREAM_SERVERS_FILE, upstreamServer, type UpstreamServersPlan } from '../api/upstream-servers.js';
import type { Topology } from '../model/topology.js';
import { siteUpstreams, type NginxLayout } from './nginx/config.js';

/** The servers of the upstreams the vhosts write, by role, in the order of the topology. */
export function renderUpstreamServersPlan(t: Topology): UpstreamServersPlan {
  const byRole = new Map<string, Set<string>>();
  for (const site of t.sites)
    for (const upstream of siteUpstreams(t, site)) {
      const servers = byRole.get(upstream.role) ?? new Set<string>();
      for (const server of upstream.servers) servers.add(upstreamServer(server.address, server.port));
      byRole.set(upstream.role, servers);
    }
  return { roles: [...byRole].map(([role, servers]) => ({ role, servers: [...servers] })) };
}

/** The plan as a file of the NGINX ConfigMap, when NGINX writes the traffic log the gauge is replayed from. */
export function upstreamServersFiles(t: Topology, layout: NginxLayout): Record<string, string> {
  return layout.trafficLog
    ? { [UPSTREAM_SERVERS_FILE]: `${JSON.stringify(renderUpstreamServersPlan(t), null, 2)}\n` }
    : {};
}
