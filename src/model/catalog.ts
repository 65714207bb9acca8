// Product and pattern knowledge: every deployment the seed procedures describe, as a named
// preset. Pure data. The names (products, patterns, roles) are the API's (src/api/vocabulary.ts);
// the model turns a preset plus the user's overrides into a topology.
import {
  PATTERNS,
  ROLES,
  type AffinityMode,
  type HttpMode,
  type PatternName,
  type Product,
  type Role,
} from '../api/vocabulary.js';
import type { PatternShapes } from '../api/rules.js';

export type ConfigFormat = 'deployment-toml' | 'carbon4';

export interface ProductInfo {
  defaultVersion: string;
  defaultImage: (version: string) => string;
  /** Carbon 4 products keep proxy settings in XML/JSON files; later ones in deployment.toml. */
  configFormat: (version: SemVer) => ConfigFormat;
  /**
   * SameSite of the route cookie unless the spec says: None where logins end with a cross-site
   * form POST (SAML POST binding to /commonauth, OIDC form_post), which a Lax cookie misses.
   */
  routeCookieSameSite: 'None' | 'Lax';
  /** The uid (and gid) the official image of this version runs as (its Dockerfile's `USER_ID`). */
  imageUser: (version: SemVer) => number;
}

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
}

// The user the official images run as. wso2/docker-apim moved from 802 to 10001 in 4.3.0 (commit
// ce4e84cb "Change user ID to 10001", first in tag v4.3.0.1); wso2/docker-ei (which builds the MI
// images) from 802 to 10802 in 4.4.0 (commit 4fce6a4, first in tag v4.4.0.1); wso2/docker-is has
// used 802 in every Dockerfile up to 7.3 (alpine, rocky, ubuntu, pqc), as have EI 6 and 7.
const WSO2CARBON_UID = 802;
const atLeast = (v: SemVer, major: number, minor: number) => v.major > major || (v.major === major && v.minor >= minor);

export const PRODUCT_INFO: Record<Product, ProductInfo> = {
  'api-manager': {
    defaultVersion: '4.5.0',
    defaultImage: (v) => `wso2/wso2am:${v}`,
    configFormat: (v) => (v.major >= 3 ? 'deployment-toml' : 'carbon4'),
    // Portals and the key manager log in through /commonauth, federated IdPs POST to it.
    routeCookieSameSite: 'None',
    imageUser: (v) => (atLeast(v, 4, 3) ? 10001 : WSO2CARBON_UID),
  },
  'identity-server': {
    defaultVersion: '7.1.0',
    defaultImage: (v) => `wso2/wso2is:${v}`,
    configFormat: (v) => (v.major > 5 || (v.major === 5 && v.minor >= 9) ? 'deployment-toml' : 'carbon4'),
    // As WSO2's kubernetes-is chart: SAML and OIDC form_post responses arrive as cross-site POSTs.
    routeCookieSameSite: 'None',
    imageUser: () => WSO2CARBON_UID,
  },
  'enterprise-integrator': {
    defaultVersion: '6.6.0',
    defaultImage: (v) => `wso2/wso2ei-integrator:${v}`,
    configFormat: (v) => (v.major >= 7 ? 'deployment-toml' : 'carbon4'),
    routeCookieSameSite: 'Lax',
    imageUser: () => WSO2CARBON_UID,
  },
  'micro-integrator': {
    defaultVersion: '4.4.0',
    defaultImage: (v) => `wso2/wso2mi:${v}`,
    configFormat: () => 'deployment-toml',
    routeCookieSameSite: 'Lax',
    imageUser: (v) => (atLeast(v, 4, 4) ? 10802 : WSO2CARBON_UID),
  },
};

/** What a managed role's pods run: the image, and the API-M profile it starts with (none: the image's default). */
export interface RoleRuntime {
  image: string;
  profile?: string;
}

/**
 * API-M 4.0 to 4.4 distributed: one image for every role, each started with its profile.
 * wso2/helm-apim 4.4.x distributed/{control-plane,gateway,traffic-manager} deployments set the env
 * PROFILE_NAME, which the image's entrypoint (wso2/docker-apim v4.0.0.1 to v4.4.0.x
 * dockerfiles/ubuntu/apim/docker-entrypoint.sh) runs as `profileSetup.sh -Dprofile=<name>` and then
 * `api-manager.sh -Dprofile=<name>`, as the docs' "Start the API-M nodes" step does by hand.
 */
const APIM_PROFILES: Partial<Record<Role, string>> = {
  'control-plane': 'control-plane',
  gateway: 'gateway-worker',
  'traffic-manager': 'traffic-manager',
};
/**
 * API-M 4.5 and later: each role is its own distribution and image, whose entrypoint starts it
 * (api-cp.sh, api-gateway.sh, traffic-manager.sh) from its own home (/home/wso2carbon/<name>-<version>):
 * wso2/docker-apim dockerfiles/ubuntu/apim-acp, apim-universal-gw and apim-tm (WSO2_SERVER_NAME),
 * first in tag v4.5.0.1; helm-apim 4.5.x names its charts after them.
 */
export const APIM_ROLE_IMAGES: Partial<Record<Role, string>> = {
  'control-plane': 'wso2am-acp',
  gateway: 'wso2am-universal-gw',
  'traffic-manager': 'wso2am-tm',
};
const APIM_IMAGE_NAMES = ['wso2am', ...Object.values(APIM_ROLE_IMAGES)];

const separateImages = (product: Product, version: SemVer, pattern: PatternName) =>
  product === 'api-manager' && pattern === 'apim-distributed' && atLeast(version, 4, 5);

/** The default image and profile of a managed role. */
export function roleRuntime(product: Product, version: string, pattern: PatternName, role: Role): RoleRuntime {
  const semver = parseVersion(version)!;
  if (separateImages(product, semver, pattern)) return { image: `wso2/${APIM_ROLE_IMAGES[role]!}:${version}` };
  const profile = product === 'api-manager' && pattern === 'apim-distributed' ? APIM_PROFILES[role] : undefined;
  return { image: PRODUCT_INFO[product].defaultImage(version), ...(profile ? { profile } : {}) };
}

/** An image's repository name without registry, path, tag or digest: `wso2am-tm` of `wso2/wso2am-tm:4.5.0`. */
export const repositoryName = (image: string) => image.split('@')[0]!.split('/').pop()!.split(':')[0]!;

/**
 * Why an image cannot run a role, when it is one of WSO2's API-M images meant for another role or
 * version (images of other names are the user's own and pass).
 */
export function roleImageProblem(
  product: Product,
  version: string,
  pattern: PatternName,
  role: Role,
  image: string,
): string | undefined {
  const semver = parseVersion(version);
  const name = repositoryName(image);
  if (!semver || product !== 'api-manager' || pattern !== 'apim-distributed' || !APIM_IMAGE_NAMES.includes(name))
    return undefined;
  const expected = repositoryName(roleRuntime(product, version, pattern, role).image);
  if (name === expected) return undefined;
  return separateImages(product, semver, pattern)
    ? `API Manager ${version} runs the ${role} from its own image ${expected} (WSO2 ships each role as a separate image from 4.5), not ${name}; set spec.backends.managed.components.${role}.image, or leave it out for wso2/${expected}:${version}`
    : `API Manager ${version} has no ${name} image (the separate role images start with 4.5): every role runs ${expected} with its profile; leave the image out for wso2/${expected}:${version}`;
}

/** Where a public listener sends traffic: a port of the nodes of one role. */
export interface BackendPort {
  role: Role;
  port: number;
}

/**
 * What a site carries. `gateway`: API and integration messages that the node passes on to
 * backends of its own (API-M gateways, EI/MI), so its 5xx can be an API's answer. `ui`: pages,
 * portals, management consoles and Identity Server endpoints that the node renders itself.
 */
export type TrafficKind = 'gateway' | 'ui';

export interface SitePreset {
  host: string;
  traffic: TrafficKind;
  /** HTTPS listener target. */
  https: BackendPort;
  /** The node's plain-HTTP port for the same service, when it has one (needed for http: proxy). */
  httpPort?: number;
  http: HttpMode;
  affinity: AffinityMode;
  /** Management hosts go to exactly one node of the role (the first listed, or the one named). */
  pinned?: boolean;
}

export interface RolePreset {
  /** Replicas when the operator runs the pods. */
  replicas: number;
  /** Ports other components of the pattern reach this role on (never through NGINX). */
  internalPorts?: Listener[];
  /**
   * Other components address every instance of the role, not one Service: wso2/helm-apim gives
   * each control-plane and traffic-manager instance its own Service (distributed/control-plane
   * and traffic-manager templates/<role>/instance-1|2/wso2am-cp|tm-service.yaml). Managed pods get stable names
   * (a StatefulSet) and a DNS name each (a headless Service).
   */
  peers?: boolean;
}

// API-M 4.x distributed: the event hub and the traffic manager's throttle events (JMS 5672) and
// data receivers (binary 9611, with authentication 9711), as wso2/helm-apim wires them.
const EVENT_PORTS: Listener[] = [
  { protocol: 'jms', port: 5672 },
  { protocol: 'binary', port: 9611 },
  { protocol: 'binary', port: 9711 },
];

export interface PatternPreset {
  product: Product;
  /** The seed document and section it reproduces. */
  seed: string;
  description: string;
  /** The lowest product version the layout exists in. */
  minVersion?: SemVer;
  roles: Partial<Record<Role, RolePreset>>;
  sites: Record<string, SitePreset>;
}

// Ports the products listen on with no port offset.
const CARBON_HTTPS = 9443;
const CARBON_HTTP = 9763;
const PASSTHROUGH_HTTPS = 8243;
const PASSTHROUGH_HTTP = 8280;

export const PATTERN_PRESETS: Record<PatternName, PatternPreset> = {
  'apim-single': {
    product: 'api-manager',
    seed: 'WSO2 API-M "Configuring the Proxy Server and the Load Balancer", "NGINX for a Single Node deployment"',
    description: 'one all-in-one node; portals on one host, API traffic on another; no stickiness',
    roles: { 'all-in-one': { replicas: 1 } },
    sites: {
      portal: {
        host: 'api.am.wso2.com',
        traffic: 'ui',
        https: { role: 'all-in-one', port: CARBON_HTTPS },
        httpPort: CARBON_HTTP,
        http: 'redirect',
        affinity: 'none',
      },
      gateway: {
        host: 'gw.am.wso2.com',
        traffic: 'gateway',
        https: { role: 'all-in-one', port: PASSTHROUGH_HTTPS },
        httpPort: PASSTHROUGH_HTTP,
        http: 'proxy',
        affinity: 'none',
      },
    },
  },
  'apim-active-active': {
    product: 'api-manager',
    seed: 'WSO2 API-M "Configuring the Proxy Server and the Load Balancer", "NGINX for an Active-Active deployment"',
    description: 'two all-in-one nodes; portals sticky (mandatory for Publisher and Store), API traffic not',
    roles: { 'all-in-one': { replicas: 2 } },
    sites: {
      portal: {
        host: 'api.am.wso2.com',
        traffic: 'ui',
        https: { role: 'all-in-one', port: CARBON_HTTPS },
        httpPort: CARBON_HTTP,
        http: 'redirect',
        affinity: 'cookie',
      },
      gateway: {
        host: 'gw.am.wso2.com',
        traffic: 'gateway',
        https: { role: 'all-in-one', port: PASSTHROUGH_HTTPS },
        httpPort: PASSTHROUGH_HTTP,
        http: 'proxy',
        affinity: 'none',
      },
    },
  },
  'apim-ha-gateway': {
    product: 'api-manager',
    seed: 'WSO2 API-M "Configuring the Proxy Server and the Load Balancer", "NGINX for a deployment with HA for the Gateway"',
    description:
      'gateway manager on its own host (sticky on 9443), gateway workers behind the API host (no stickiness on 8243)',
    roles: { 'gateway-manager': { replicas: 1 }, 'gateway-worker': { replicas: 2 } },
    sites: {
      management: {
        host: 'mgtgw.am.wso2.com',
        traffic: 'ui',
        https: { role: 'gateway-manager', port: CARBON_HTTPS },
        httpPort: CARBON_HTTP,
        http: 'redirect',
        affinity: 'cookie',
      },
      gateway: {
        host: 'gw.am.wso2.com',
        traffic: 'gateway',
        https: { role: 'gateway-worker', port: PASSTHROUGH_HTTPS },
        httpPort: PASSTHROUGH_HTTP,
        http: 'proxy',
        affinity: 'none',
      },
    },
  },
  'apim-ha-publisher': {
    product: 'api-manager',
    seed: 'WSO2 API-M "Configuring the Proxy Server and the Load Balancer", "NGINX for a deployment with HA for the Publisher"',
    description: 'two Publisher nodes, sticky',
    roles: { publisher: { replicas: 2 } },
    sites: {
      publisher: {
        host: 'publisher.am.wso2.com',
        traffic: 'ui',
        https: { role: 'publisher', port: CARBON_HTTPS },
        httpPort: CARBON_HTTP,
        http: 'redirect',
        affinity: 'cookie',
      },
    },
  },
  'apim-ha-store': {
    product: 'api-manager',
    seed: 'WSO2 API-M "Configuring the Proxy Server and the Load Balancer", "NGINX for a deployment with HA for the API Store"',
    description: 'two Store (Developer Portal) nodes, sticky',
    roles: { store: { replicas: 2 } },
    sites: {
      store: {
        host: 'store.am.wso2.com',
        traffic: 'ui',
        https: { role: 'store', port: CARBON_HTTPS },
        httpPort: CARBON_HTTP,
        http: 'redirect',
        affinity: 'cookie',
      },
    },
  },
  'apim-ha-key-manager': {
    product: 'api-manager',
    seed: 'WSO2 API-M "Configuring the Proxy Server and the Load Balancer", "NGINX for a deployment with HA for the Key Manager"',
    description: 'two Key Manager nodes, sticky',
    roles: { 'key-manager': { replicas: 2 } },
    sites: {
      'key-manager': {
        host: 'km.am.wso2.com',
        traffic: 'ui',
        https: { role: 'key-manager', port: CARBON_HTTPS },
        httpPort: CARBON_HTTP,
        http: 'redirect',
        affinity: 'cookie',
      },
    },
  },
  'apim-distributed': {
    product: 'api-manager',
    seed: 'API Manager 4.x distributed layout (control plane, gateway, traffic manager)',
    description:
      'control plane portals (sticky), gateway for REST, WebSocket and WebSub traffic; the traffic manager has no public host',
    minVersion: { major: 4, minor: 0, patch: 0 },
    roles: {
      'control-plane': { replicas: 2, internalPorts: EVENT_PORTS, peers: true },
      // The control plane deploys APIs through the gateway's Carbon port, as helm-apim's gateway
      // Service exposes it (4.4.x distributed/gateway/templates/gateway/wso2am-gateway-service.yaml servlet-https).
      gateway: { replicas: 2, internalPorts: [{ protocol: 'https', port: CARBON_HTTPS, name: 'servlet-https' }] },
      'traffic-manager': { replicas: 2, internalPorts: EVENT_PORTS, peers: true },
    },
    sites: {
      portal: {
        host: 'am.wso2.com',
        traffic: 'ui',
        https: { role: 'control-plane', port: CARBON_HTTPS },
        httpPort: CARBON_HTTP,
        http: 'redirect',
        affinity: 'cookie',
      },
      gateway: {
        host: 'gw.wso2.com',
        traffic: 'gateway',
        https: { role: 'gateway', port: PASSTHROUGH_HTTPS },
        httpPort: PASSTHROUGH_HTTP,
        http: 'proxy',
        affinity: 'none',
      },
      websocket: {
        host: 'websocket.wso2.com',
        traffic: 'gateway',
        https: { role: 'gateway', port: 8099 },
        httpPort: 9099,
        http: 'proxy',
        affinity: 'none',
      },
      websub: {
        host: 'websub.wso2.com',
        traffic: 'gateway',
        https: { role: 'gateway', port: 8021 },
        httpPort: 9021,
        http: 'proxy',
        affinity: 'none',
      },
    },
  },
  'is-pattern-1': {
    product: 'identity-server',
    seed: 'WSO2 IS "Setting Up Deployment Pattern 1", "Fronting with a load balancer (Nginx)"',
    description:
      'two-node cluster; workers behind is host (HTTP proxied to 9763), node redirects rewritten to the public host (endpoint locations of WSO2 IS "Setting Up Deployment Pattern 1"), management host pinned to the manager node',
    roles: { worker: { replicas: 2 }, manager: { replicas: 1 } },
    sites: {
      identity: {
        host: 'is.wso2.com',
        traffic: 'ui',
        https: { role: 'worker', port: CARBON_HTTPS },
        httpPort: CARBON_HTTP,
        http: 'proxy',
        affinity: 'cookie',
      },
      management: {
        host: 'mgt.is.wso2.com',
        traffic: 'ui',
        https: { role: 'manager', port: CARBON_HTTPS },
        httpPort: CARBON_HTTP,
        http: 'redirect',
        affinity: 'none',
        pinned: true,
      },
    },
  },
  'ei-cluster': {
    product: 'enterprise-integrator',
    seed: 'WSO2 EI "Setting up a Load balancer", "Configuring the load balancer"',
    description:
      'two ESB nodes; HTTPS to 8243 (sticky), HTTP proxied to 8280, management console host pinned to node 1',
    roles: { integrator: { replicas: 2 } },
    sites: {
      integrator: {
        host: 'ei.wso2.com',
        traffic: 'gateway',
        https: { role: 'integrator', port: PASSTHROUGH_HTTPS },
        httpPort: PASSTHROUGH_HTTP,
        http: 'proxy',
        affinity: 'cookie',
      },
      management: {
        host: 'ui.ei.wso2.com',
        traffic: 'ui',
        https: { role: 'integrator', port: CARBON_HTTPS },
        httpPort: CARBON_HTTP,
        http: 'redirect',
        affinity: 'none',
        pinned: true,
      },
    },
  },
  'mi-cluster': {
    product: 'micro-integrator',
    seed: 'Micro Integrator behind NGINX (HTTPS 8253, HTTP 8290, management API 9164)',
    description: 'stateless integration nodes (no stickiness), HTTP proxied to 8290, management API pinned to one node',
    roles: { 'micro-integrator': { replicas: 2 } },
    sites: {
      integrator: {
        host: 'mi.wso2.com',
        traffic: 'gateway',
        https: { role: 'micro-integrator', port: 8253 },
        httpPort: 8290,
        http: 'proxy',
        affinity: 'none',
      },
      management: {
        host: 'mgt.mi.wso2.com',
        traffic: 'ui',
        https: { role: 'micro-integrator', port: 9164 },
        http: 'redirect',
        affinity: 'none',
        pinned: true,
      },
    },
  },
};

/** The presets' shapes, for the API's cross-field rules. */
export const PATTERN_SHAPES: PatternShapes = { patternsOf, rolesOf, sitesOf };

export function patternsOf(product: Product): PatternName[] {
  return PATTERNS.filter((p) => PATTERN_PRESETS[p].product === product);
}

export function rolesOf(pattern: PatternName): Role[] {
  return ROLES.filter((r) => PATTERN_PRESETS[pattern].roles[r] !== undefined);
}

export function sitesOf(pattern: PatternName): string[] {
  return Object.keys(PATTERN_PRESETS[pattern].sites);
}

/** A port a role's product listens on: for NGINX (https, http), or for the other components (jms, binary). */
export interface Listener {
  protocol: 'https' | 'http' | 'jms' | 'binary';
  port: number;
  /** The port's name in the pod and Service when WSO2's charts give it one; else `<protocol>-<port>`. */
  name?: string;
}

/** The product ports a role listens on, HTTPS first per site; Carbon's management port for a role no public host reaches (the traffic manager). */
export function roleListeners(pattern: PatternName, role: Role): Listener[] {
  // From the pattern, not the upstreams: the product listens on its HTTP ports whether or not
  // NGINX proxies HTTP, and switching `http: proxy` on a site must not roll the WSO2 pods.
  const sites = Object.values(PATTERN_PRESETS[pattern].sites).filter((s) => s.https.role === role);
  const listeners = sites.flatMap((s): Listener[] => [
    { protocol: 'https', port: s.https.port },
    ...(s.httpPort === undefined ? [] : [{ protocol: 'http' as const, port: s.httpPort }]),
  ]);
  const served: Listener[] = listeners.length ? listeners : [{ protocol: 'https', port: CARBON_HTTPS }];
  const all = [...served, ...(PATTERN_PRESETS[pattern].roles[role]?.internalPorts ?? [])];
  return all.filter((l, i) => all.findIndex((o) => o.port === l.port) === i);
}

/** Whether other components address every instance of the role (RolePreset.peers). */
export const hasPeers = (pattern: PatternName, role: Role): boolean => !!PATTERN_PRESETS[pattern].roles[role]?.peers;

/** Whether a pinned (management) site is served by the role. */
export function servesPinnedSite(pattern: PatternName, role: Role): boolean {
  return Object.values(PATTERN_PRESETS[pattern].sites).some((s) => s.pinned && s.https.role === role);
}

/**
 * The path a site probe asks every node of the site for: a health endpoint WSO2 documents as
 * unauthenticated on the port the site fronts, else a page every node serves on that port. Any
 * answer of a node below 500 counts (a 401 or 404 from the node still proves it serves); a 5xx
 * from a health endpoint is the node saying it is unhealthy.
 */
export function probePath(product: Product, version: SemVer, site: SitePreset): string {
  const port = site.https.port;
  switch (product) {
    case 'identity-server':
      // The Carbon health-check API, unauthenticated by default since IS 5.7.0 (IS docs "Monitoring
      // server health"; wso2/docker-is images' HEALTHCHECK and the kubernetes-is readiness probe use
      // it on 9443). Older releases: the management console's login page.
      return atLeast(version, 5, 7) ? '/api/health-check/v1.0/health' : '/carbon/admin/login.jsp';
    case 'api-manager':
      // API-M docs "Basic Health Checks" (2.x to 4.6): the Axis2 `Version` service on 9443/9763
      // (and on the gateway's 8243/8280, as WSO2's performance scripts poll it); WebSocket ports
      // 8099/9099 answer /health. The gateway's /api/am/gateway/v2/server-startup-healthcheck
      // (4.1+) is on the gateway node's 9443, which no gateway site fronts.
      if (port === 8099) return '/health';
      if (port === CARBON_HTTPS || port === PASSTHROUGH_HTTPS) return '/services/Version';
      return '/';
    case 'enterprise-integrator':
      // EI 6 is Carbon 4: the `Version` service on its pass-through port, the console's login page
      // on 9443. EI 7's integrator (Micro Integrator 1.x) keeps its health API on the internal
      // port 9201, which NGINX does not front: any answer of the node.
      if (version.major < 7) return port === CARBON_HTTPS ? '/carbon/admin/login.jsp' : '/services/Version';
      return '/';
    case 'micro-integrator':
      // MI's /healthz and /liveness are on the internal port 9201 (MI docs "Health checks"), not
      // fronted: the pass-through port gets "/" (any answer of the node), the management API its
      // login resource (401 without credentials, from the node).
      return port === 9164 ? '/management/login' : '/';
  }
}

export function parseVersion(version: string): SemVer | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  return match ? { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) } : undefined;
}
