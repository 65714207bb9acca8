// From a validated spec to the normalized topology the render layer works from: sites (public
// host, listeners, locations, TLS), upstreams (role, target port, protocol, stickiness, pinned
// node, servers) and the settings each product role needs. Pure: no I/O, same input, same output.
import { createHash } from 'node:crypto';
import { DEFAULT_KEY_SIZE, DNS_SUBDOMAIN, KEY_SIZES, type DefaultedSpec } from '../api/schema.js';
import { defaultCookie } from '../api/validate.js';
import type { AffinityMode, PatternName, Product, Role } from '../api/vocabulary.js';
import { FORMER_DEFAULT_NGINX_IMAGES, RELEASE_IMAGES, type OperatorImages } from './images.js';
import {
  PATTERN_PRESETS,
  PRODUCT_INFO,
  parseVersion,
  probePath,
  roleListeners,
  rolesOf,
  hasPeers,
  roleRuntime,
  servesPinnedSite,
  type RoleRuntime,
  type ConfigFormat,
  type Listener,
  type SitePreset,
  type TrafficKind,
} from './catalog.js';

export interface CookiePolicy {
  name: string;
  path: string;
  secure: boolean;
  sameSite: 'Strict' | 'Lax' | 'None';
  /** Unset: a session cookie. */
  maxAgeSeconds?: number;
}

export type StickinessPolicy =
  { mode: 'none' } | { mode: 'client-ip' } | { mode: 'cookie'; cookie: CookiePolicy } | { mode: 'nginx-plus-sticky' };

export interface UpstreamServer {
  node: string;
  address: string;
  port: number;
  /**
   * The node's value in the route cookie: derived from its name only, so every NGINX replica and
   * both listeners (HTTPS and HTTP) of a role name a node the same way, and no address leaks.
   */
  route: string;
}

export interface Upstream {
  name: string;
  role: Role;
  /** The product port, before any node's port offset. */
  port: number;
  protocol: 'https' | 'http';
  /** Decides which node answers count as failures and are retried elsewhere. */
  traffic: TrafficKind;
  stickiness: StickinessPolicy;
  /** Set when every request goes to this one node (management hosts). */
  pinnedNode?: string;
  /** External nodes, known now; for managed backends filled from endpoints by the controller. */
  servers: UpstreamServer[];
}

export interface Location {
  path: string;
  upstream: string;
}

/** The start of a URL a node may put in its own redirects: a name or address it has, and a product port. */
export interface NodeOrigin {
  scheme: 'https' | 'http';
  /** An IP address or DNS name. */
  host: string;
  port: number;
}

export type HttpListener = { mode: 'redirect' } | { mode: 'off' } | { mode: 'proxy'; locations: Location[] };

/** The certificate a site serves: issued by the operator, from a Secret the user names, or by a cert-manager issuer. */
export type SiteCertificate =
  | { source: 'self-signed'; name: string }
  | { source: 'secret'; name: string; secretName: string }
  | { source: 'issuer'; name: string };

export interface Site {
  name: string;
  host: string;
  https: { locations: Location[] };
  http: HttpListener;
  certificate: SiteCertificate;
  /** Every origin of the site's nodes, so that redirects to them are rewritten to the public URL (`proxy_redirect`). */
  nodeOrigins: NodeOrigin[];
  /** The product's health path the site probes ask for (src/model/catalog.ts, probePath). */
  probePath: string;
  /**
   * Set on IS 7's management site when it has a host of its own: the Console's host. It proxies
   * only the Console's paths, and the identity host in the node's redirects and pages becomes
   * this host (docs-is en/includes/deploy/configure-console-hostname.md).
   */
  consoleOf?: { identityHost: string };
}

/** spec.probes, defaulted. */
export interface ProbeSettings {
  enabled: boolean;
  intervalSeconds: number;
  timeoutSeconds: number;
  failureThreshold: number;
  successThreshold: number;
}

/** A certificate the frontend serves, with the public hosts it must cover. */
export interface CertificatePlan {
  name: string;
  source: SiteCertificate['source'];
  /** Mode secret: the user's Secret. */
  secretName?: string;
  hosts: string[];
}

export interface NginxSettings {
  edition: 'community' | 'plus';
  image: string;
  replicas: number;
  service: { type: 'ClusterIP' | 'NodePort' | 'LoadBalancer'; annotations: Record<string, string> };
  timeouts: { connect: string; read: string; send: string };
  proxyBufferSize: string;
  clientMaxBodySize: string;
  hsts: { enabled: boolean; maxAgeSeconds: number; includeSubDomains: boolean };
}

export interface RoleSettings {
  role: Role;
  /** The public host the product should consider its own (`[server] hostname`, carbon.xml HostName). */
  hostname: string;
  /** The management console host (carbon.xml MgtHostName). */
  managementHostname: string;
}

export interface ProductSettings {
  configFormat: ConfigFormat;
  /** The public ports the product must put in the URLs it generates (`proxyPort`). */
  proxyPorts: { http: number; https: number };
  roles: RoleSettings[];
}

export interface Component {
  role: Role;
  replicas: number;
  /** The product ports the role listens on, HTTPS first per site. */
  listeners: Listener[];
  /** A pinned site goes to the role's first pod, so its pods need stable names (a StatefulSet). */
  pinned: boolean;
  /** Other components address each pod (catalog RolePreset.peers): stable names and a DNS name each. */
  peers: boolean;
  image: string;
  /** The API-M profile the role starts with (catalog roleRuntime), when it has one. */
  profile?: string;
  /** The product container's compute resources, when the spec sets them (the render layer has the defaults). */
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

/** A node the operator does not run, as the spec lists it (the product configuration is published for it). */
export interface ExternalBackendNode {
  name: string;
  address: string;
  roles: Role[];
  portOffset: number;
}

/** A cert-manager issuerRef, defaulted. */
export type IssuerRef = NonNullable<DefaultedSpec['tls']['issuerRef']>;

/** The kind of private key self-signed certificates get (the size resolved by algorithm). */
export type PrivateKeySpec =
  | { algorithm: 'RSA'; size: (typeof KEY_SIZES.RSA)[number] }
  | { algorithm: 'ECDSA'; size: (typeof KEY_SIZES.ECDSA)[number] };

/** Validation has checked the size against the algorithm; the default size depends on the algorithm. */
function privateKeySpec(key: DefaultedSpec['tls']['privateKey']): PrivateKeySpec {
  return key.algorithm === 'ECDSA'
    ? { algorithm: 'ECDSA', size: (key.size ?? DEFAULT_KEY_SIZE.ECDSA) as (typeof KEY_SIZES.ECDSA)[number] }
    : { algorithm: 'RSA', size: (key.size ?? DEFAULT_KEY_SIZE.RSA) as (typeof KEY_SIZES.RSA)[number] };
}

export interface Topology {
  product: Product;
  version: string;
  pattern: PatternName;
  /** The seed procedure and section the pattern reproduces (named in the rendered configuration). */
  seed: string;
  ports: { http: number; https: number };
  sites: Site[];
  upstreams: Upstream[];
  backends:
    | { source: 'external'; nodes: ExternalBackendNode[] }
    | {
        source: 'managed';
        /** The uid and gid the product image runs as (its Dockerfile's USER_ID), for the pod's securityContext. */
        imageUser: number;
        components: Component[];
        /** The user's ConfigMap of base product files, laid under the patch. */
        baseConfigMap?: string;
        /** Where the client-truststore password is, when it is not WSO2's default (wso2carbon). */
        truststorePassword?: { secretName: string; key: string };
      };
  tls: {
    mode: 'self-signed' | 'secret' | 'issuer';
    certificatePerHost: boolean;
    extraSANs: string[];
    privateKey: PrivateKeySpec;
    /** Mode issuer: the cert-manager issuer of every certificate. */
    issuerRef?: IssuerRef;
  };
  certificates: CertificatePlan[];
  /** The operator's image, which patches the product configuration in the WSO2 pods. */
  operatorImage: string;
  /** Pull Secrets of every pod the operator runs for the frontend (spec.imagePullSecrets, then the operator's). */
  imagePullSecrets: string[];
  backendTls: { verify: boolean; caSecretName?: string };
  nginx: NginxSettings;
  probes: ProbeSettings;
  productSettings: ProductSettings;
  /** NetworkPolicies are rendered (spec.networkPolicy.enabled); the namespaces that may scrape NGINX, sorted. */
  networkPolicy?: { metricsNamespaces: string[] };
}

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

export function durationSeconds(duration: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(duration);
  if (!match) throw new Error(`not a duration: ${duration}`);
  return Math.ceil(Number(match[1]) * UNIT_SECONDS[match[2]!]!);
}

const DNS_NAME = new RegExp(DNS_SUBDOMAIN);

type SpecSite = NonNullable<DefaultedSpec['sites']>[string];

/**
 * The stickiness of one listener. The HTTP listener's cookie has a name of its own: a browser
 * keeps the HTTPS one Secure and neither sends it over HTTP nor lets HTTP overwrite it.
 */
function stickiness(
  product: Product,
  sitePreset: SitePreset,
  override: SpecSite | undefined,
  listener: 'https' | 'http',
): StickinessPolicy {
  const affinity = override?.sessionAffinity;
  const mode: AffinityMode = affinity?.mode ?? sitePreset.affinity;
  switch (mode) {
    case 'none':
    case 'client-ip':
    case 'nginx-plus-sticky':
      return { mode };
    case 'cookie': {
      const c = affinity?.cookie ?? defaultCookie();
      const sameSite = c.sameSite ?? (c.secure ? PRODUCT_INFO[product].routeCookieSameSite : 'Lax');
      return {
        mode,
        cookie: {
          name: listener === 'https' ? c.name : `${c.name}_HTTP`,
          path: c.path,
          secure: listener === 'https' && c.secure,
          // Browsers drop a SameSite=None cookie without Secure.
          sameSite: listener === 'http' && sameSite === 'None' ? 'Lax' : sameSite,
          ...(c.maxAge ? { maxAgeSeconds: durationSeconds(c.maxAge) } : {}),
        },
      };
    }
  }
}

/**
 * Ready endpoints of the operator-run pods, by role (from the role Services' EndpointSlices), with
 * the DNS names (pod and Service) the pod may use for itself in its redirects.
 */
export type ObservedEndpoints = Partial<Record<Role, { pod: string; address: string; hostnames?: string[] }[]>>;

/**
 * The DNS names a managed pod may put in its own URLs: its role Service's names, and the pod's own
 * name under it when the pod has a hostname there (StatefulSet pods), short and fully qualified.
 */
export function serviceDnsNames(service: string | undefined, namespace: string, hostname?: string): string[] {
  if (!service) return [];
  const names = [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
  return hostname ? [...names, ...names.map((n) => `${hostname}.${n}`)] : names;
}

interface BackendNode {
  name: string;
  address: string;
  /** Other names the node may use for itself in its URLs (a managed pod's name and DNS names). */
  names: string[];
  portOffset: number;
}

/** The nodes of a role: the spec's external nodes, or the ready pods observed for managed backends (by pod name, so the order is stable). */
function nodesOf(spec: DefaultedSpec, role: Role, observed: ObservedEndpoints): BackendNode[] {
  if (spec.backends.external) {
    return spec.backends.external.nodes
      .filter((n) => n.roles.includes(role))
      .map((n) => ({ name: n.name, address: n.address, names: [], portOffset: n.portOffset }));
  }
  return [...(observed[role] ?? [])]
    .sort((a, b) => (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0))
    .map((e) => ({
      name: e.pod,
      address: e.address,
      // EndpointSlice target names are not validated by the API server: only DNS names are kept.
      names: [e.pod, ...(e.hostnames ?? [])].filter((n) => DNS_NAME.test(n)),
      portOffset: 0,
    }));
}

const routeOf = (node: string) => createHash('sha256').update(node).digest('hex').slice(0, 16);

function serversOf(nodes: BackendNode[], port: number, pinnedNode: string | undefined): UpstreamServer[] {
  const chosen = pinnedNode === undefined ? nodes : nodes.filter((n) => n.name === pinnedNode);
  return chosen.map((n) => ({ node: n.name, address: n.address, port: port + n.portOffset, route: routeOf(n.name) }));
}

/**
 * The URLs a node of a site may redirect to: each of its addresses and names (a managed pod's
 * name too) with the site's HTTPS and HTTP product ports, whichever listener the request came in on.
 */
function nodeOrigins(nodes: BackendNode[], sitePreset: SitePreset): NodeOrigin[] {
  return nodes.flatMap((n) =>
    [...new Set([n.address, ...n.names])].flatMap((host): NodeOrigin[] => [
      { scheme: 'https', host, port: sitePreset.https.port + n.portOffset },
      ...(sitePreset.httpPort === undefined
        ? []
        : [{ scheme: 'http' as const, host, port: sitePreset.httpPort + n.portOffset }]),
    ]),
  );
}

/**
 * The topology of a spec that `validateSpec` accepted (defaults applied). For managed backends
 * the upstream servers are the observed ready endpoints; until there are some, none.
 */
export function buildTopology(
  spec: DefaultedSpec,
  observed: ObservedEndpoints = {},
  images: OperatorImages = RELEASE_IMAGES,
): Topology {
  const pattern = spec.pattern;
  const product = spec.product;
  const preset = PATTERN_PRESETS[pattern];
  const version = spec.version ?? PRODUCT_INFO[product].defaultVersion;
  const ports = { http: spec.ports.http, https: spec.ports.https };
  const external = spec.backends.external;

  const semver = parseVersion(version)!;
  const sites: Site[] = [];
  const upstreams: Upstream[] = [];
  for (const [name, sitePreset] of Object.entries(preset.sites)) {
    const override = spec.sites?.[name];
    const role = sitePreset.https.role;
    const nodes = nodesOf(spec, role, observed);
    // A pinned site goes to the node the user names, else the first node of the role (pod -0 when managed).
    const pinnedNode = sitePreset.pinned ? (override?.pinnedNode ?? nodes[0]?.name) : undefined;
    const upstream = (listener: 'https' | 'http', port: number): Upstream => ({
      name: `${name}-${listener}`,
      role,
      port,
      protocol: listener,
      traffic: sitePreset.traffic,
      stickiness: sitePreset.pinned ? { mode: 'none' } : stickiness(product, sitePreset, override, listener),
      ...(pinnedNode ? { pinnedNode } : {}),
      servers: serversOf(nodes, port, pinnedNode),
    });
    const locationsTo = (target: Upstream): Location[] => [{ path: '/', upstream: target.name }];

    const httpsUpstream = upstream('https', sitePreset.https.port);
    upstreams.push(httpsUpstream);
    const httpMode = override?.http ?? sitePreset.http;
    let http: HttpListener;
    if (httpMode === 'proxy' && sitePreset.httpPort !== undefined) {
      const httpUpstream = upstream('http', sitePreset.httpPort);
      upstreams.push(httpUpstream);
      http = { mode: 'proxy', locations: locationsTo(httpUpstream) };
    } else {
      http = { mode: httpMode === 'off' ? 'off' : 'redirect' };
    }
    const secretName = spec.tls.mode === 'secret' ? (override?.tlsSecretName ?? spec.tls.secretName) : undefined;
    const certificate: SiteCertificate = secretName
      ? { source: 'secret', name: `secret-${secretName}`, secretName }
      : {
          source: spec.tls.mode === 'issuer' ? 'issuer' : 'self-signed',
          name: spec.tls.certificatePerHost ? `site-${name}` : 'frontend',
        };
    sites.push({
      name,
      host: override?.host ?? sitePreset.host,
      https: { locations: locationsTo(httpsUpstream) },
      http,
      certificate,
      nodeOrigins: nodeOrigins(nodes, sitePreset),
      probePath: probePath(product, semver, sitePreset),
    });
  }

  // IS 7 has no Carbon management console: its management site is the Console's host.
  const identity = sites.find((s) => s.name === 'identity');
  const management = sites.find((s) => s.name === 'management');
  if (product === 'identity-server' && semver.major >= 7 && identity && management && management.host !== identity.host)
    management.consoleOf = { identityHost: identity.host };

  const roles = rolesOf(pattern);
  const hostServedBy = (role: Role, pinned: boolean) =>
    Object.entries(preset.sites)
      .filter(([, s]) => s.https.role === role && !!s.pinned === pinned)
      .map(([n]) => sites.find((site) => site.name === n)!.host)[0];
  const roleSettings = roles.map((role): RoleSettings => {
    const hostname = hostServedBy(role, false) ?? hostServedBy(role, true) ?? sites[0]!.host;
    return { role, hostname, managementHostname: hostServedBy(role, true) ?? hostname };
  });

  return {
    product,
    version,
    pattern,
    seed: preset.seed,
    ports,
    sites,
    upstreams,
    backends: external
      ? {
          source: 'external',
          nodes: external.nodes.map((n) => ({
            name: n.name,
            address: n.address,
            roles: n.roles,
            portOffset: n.portOffset,
          })),
        }
      : {
          source: 'managed',
          imageUser: PRODUCT_INFO[product].imageUser(semver),
          ...(spec.backends.managed?.configMapName ? { baseConfigMap: spec.backends.managed.configMapName } : {}),
          ...(spec.backends.managed?.truststorePassword
            ? {
                truststorePassword: {
                  secretName: spec.backends.managed.truststorePassword.secretName,
                  key: spec.backends.managed.truststorePassword.key,
                },
              }
            : {}),
          components: roles.map((role): Component => {
            const component = spec.backends.managed?.components?.[role];
            return {
              role,
              replicas: component?.replicas ?? preset.roles[role]!.replicas,
              listeners: roleListeners(pattern, role),
              pinned: servesPinnedSite(pattern, role),
              peers: hasPeers(pattern, role),
              ...runtimeOf(
                roleRuntime(product, version, pattern, role),
                component?.image ?? spec.backends.managed?.image,
              ),
              ...(component?.resources ? { resources: component.resources } : {}),
            };
          }),
        },
    tls: {
      mode: spec.tls.mode,
      certificatePerHost: spec.tls.certificatePerHost,
      extraSANs: spec.tls.extraSANs ?? [],
      privateKey: privateKeySpec(spec.tls.privateKey),
      ...(spec.tls.mode === 'issuer' && spec.tls.issuerRef ? { issuerRef: spec.tls.issuerRef } : {}),
    },
    certificates: certificatePlans(sites),
    operatorImage: images.operator,
    imagePullSecrets: [...new Set([...(spec.imagePullSecrets ?? []), ...images.pullSecrets])],
    backendTls: {
      verify: spec.backendTLS.verify,
      ...(spec.backendTLS.caSecretName ? { caSecretName: spec.backendTLS.caSecretName } : {}),
    },
    nginx: nginxSettings(spec.nginx, images.nginx),
    probes: { ...spec.probes },
    productSettings: {
      configFormat: PRODUCT_INFO[product].configFormat(semver),
      proxyPorts: ports,
      roles: roleSettings,
    },
    ...(spec.networkPolicy?.enabled
      ? { networkPolicy: { metricsNamespaces: [...(spec.networkPolicy.metricsNamespaces ?? [])].sort() } }
      : {}),
  };
}

/** The user's image replaces the default; the profile stays (the image is the same product). */
function runtimeOf(defaults: RoleRuntime, image: string | undefined): RoleRuntime {
  return image ? { ...defaults, image } : defaults;
}

function certificatePlans(sites: Site[]): CertificatePlan[] {
  const plans = new Map<string, CertificatePlan>();
  for (const { certificate, host } of sites) {
    const plan = plans.get(certificate.name);
    if (plan) plan.hosts.push(host);
    else
      plans.set(certificate.name, {
        name: certificate.name,
        source: certificate.source,
        ...(certificate.source === 'secret' ? { secretName: certificate.secretName } : {}),
        hosts: [host],
      });
  }
  return [...plans.values()];
}

function nginxSettings({ service, image, ...n }: DefaultedSpec['nginx'], releaseImage: string): NginxSettings {
  // Unset (or a former CRD default): the agent image of the operator that runs; pinned images
  // stay as the user wrote them.
  const pinned = image !== undefined && !FORMER_DEFAULT_NGINX_IMAGES.includes(image);
  return {
    ...n,
    image: pinned ? image : releaseImage,
    service: { type: service.type, annotations: service.annotations ?? {} },
  };
}
