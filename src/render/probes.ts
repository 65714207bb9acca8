// The probe plan: what the reload agent in each NGINX pod probes, rendered into the NGINX
// ConfigMap (`probes.json`), so it is covered by the configuration hash and reaches the agent
// with the configuration it describes. Pure: same topology and layout, same bytes.
import { PROBE_PLAN_FILE, type ProbePlan, type SiteProbePlan } from '../api/probe.js';
import type { Site, Topology } from '../model/topology.js';
import {
  certificatePaths,
  nodeProbePrefix,
  PROBE_ADDRESS,
  siteHttpsUpstream,
  type NginxLayout,
} from './nginx/config.js';

/** https://host, with the port only when it is not the scheme's default (as browsers write origins). */
function origin(scheme: 'https' | 'http', host: string, port: number): string {
  const isDefault = (scheme === 'https' && port === 443) || (scheme === 'http' && port === 80);
  return isDefault ? `${scheme}://${host}` : `${scheme}://${host}:${port}`;
}

function sitePlan(t: Topology, site: Site, layout: NginxLayout): SiteProbePlan {
  const publicHttps = layout.publicPorts.https;
  const probePort = layout.listen.probe;
  return {
    site: site.name,
    host: site.host,
    hostHeader: publicHttps === 443 ? site.host : `${site.host}:${publicHttps}`,
    // The pod's own listener, on loopback when it listens on every address.
    address: layout.listen.address ?? PROBE_ADDRESS,
    port: layout.listen.https,
    path: site.probePath,
    // A redirect to plain HTTP stays public only where the site serves plain HTTP itself.
    publicOrigins: [
      origin('https', site.host, publicHttps),
      ...(site.http.mode === 'proxy' ? [origin('http', site.host, layout.publicPorts.http)] : []),
    ],
    caFile: certificatePaths(site.certificate.name).ca,
    nodes:
      probePort === undefined
        ? []
        : siteHttpsUpstream(t, site).servers.map((server, index) => ({
            node: server.node,
            port: probePort,
            pathPrefix: nodeProbePrefix(index),
          })),
  };
}

/** The plan, or nothing when probes are off (the agent then probes nothing and withdraws its report). */
export function renderProbePlan(t: Topology, layout: NginxLayout): ProbePlan | undefined {
  if (!t.probes.enabled) return undefined;
  const { intervalSeconds, timeoutSeconds, failureThreshold, successThreshold } = t.probes;
  return {
    intervalSeconds,
    timeoutSeconds,
    failureThreshold,
    successThreshold,
    sites: t.sites.map((site) => sitePlan(t, site, layout)),
  };
}

/** The plan as a file of the NGINX ConfigMap (none when probes are off). */
export function probePlanFiles(t: Topology, layout: NginxLayout): Record<string, string> {
  const plan = renderProbePlan(t, layout);
  return plan ? { [PROBE_PLAN_FILE]: `${JSON.stringify(plan, null, 2)}\n` } : {};
}
