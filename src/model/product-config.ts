// What the fronting owns in each WSO2 product's own configuration: per product, version and role,
// the files, the keys and the values that make the product put its public hosts and ports (and,
// between components, internal Service names) in the URLs it generates. Pure data from the
// topology; the text editing is in src/render/product. Every key names the WSO2 document or
// official chart file it comes from.
import { isIP } from 'node:net';
import type { Role } from '../api/vocabulary.js';
import { parseVersion } from './catalog.js';
import type { Topology } from './topology.js';

export type TomlValue = string | number | boolean | string[];

interface Sourced {
  /** The WSO2 document, chart file or seed the key comes from. */
  source: string;
}

/**
 * The value the product's own file ships with. A base file that still has it made no choice, so
 * replacing it is not reported as an override (WSO2's stock deployment.toml says `hostname =
 * "localhost"`; that is the product's default, not the user's).
 */
interface Stock<T> {
  stock?: T;
}

/** A key of deployment.toml, under the table the WSO2 docs write it in. */
export interface TomlSetting extends Sourced, Stock<TomlValue> {
  kind: 'toml';
  table: string[];
  /** Dotted when the docs write it dotted under `table` (`listener.wsdl_epr_prefix`). */
  key: string[];
  value: TomlValue;
  /**
   * For a key of an array of tables: the entry it belongs to (the one whose `match` key has that
   * value, or the one at `index`, else the first), and the keys a new entry starts with.
   */
  entry?: { match?: { key: string; value: string }; index?: number; create: Record<string, TomlValue> };
  /** For a list the user also fills: the values must be in it, the user's other entries stay. */
  include?: true;
}

/** One step of an element path: an element name and attribute values it must have. */
export interface XmlStep {
  name: string;
  attributes?: Record<string, string>;
}

/** The text of an element; created after the sibling `insertAfter` (or first in its parent) when absent. */
export interface XmlTextSetting extends Sourced, Stock<string> {
  kind: 'xml-text';
  element: XmlStep[];
  value: string;
  insertAfter?: string;
}

/** An attribute of an element that must exist. */
export interface XmlAttributeSetting extends Sourced {
  kind: 'xml-attribute';
  element: XmlStep[];
  attribute: string;
  value: string;
}

/** A member of a JSON (with comments) document. */
export interface JsonSetting extends Sourced, Stock<string | boolean | number> {
  kind: 'json';
  path: string[];
  value: string | boolean | number;
}

export type OwnedSetting = TomlSetting | XmlTextSetting | XmlAttributeSetting | JsonSetting;

export type FileFormat = 'toml' | 'xml' | 'json';

export interface ProductFile {
  /** Relative to the product home (the directory holding `repository/` or MI's `conf/`). */
  path: string;
  format: FileFormat;
  /** Optional files (a jaggery app some versions do not ship) are patched only when present. */
  required: boolean;
  settings: OwnedSetting[];
}

export interface RoleConfiguration {
  role: Role;
  files: ProductFile[];
}

/** An external node that serves several roles: the files of all of them. */
export interface NodeConfiguration {
  roles: Role[];
  files: ProductFile[];
}

/** Where the frontend lives, for the internal Service names of managed components. */
export interface Placement {
  name: string;
  namespace: string;
}

// Sources, cited once each.
const SEED_APIM =
  'WSO2 API-M "Configuring the Proxy Server and the Load Balancer", "Configure the product": deployment.toml [server] hostname, proxyPort';
const APIM_HOSTNAME_DOC =
  'apim.docs.wso2.com/en/4.4.0/install-and-setup/setup/deployment-best-practices/changing-the-hostname/';
const HELM_APIM_AIO = 'wso2/helm-apim main all-in-one/confs/instance-1/deployment.toml';
const HELM_APIM_AIO_WEBSUB = `${HELM_APIM_AIO} (websub_event_receiver_*); 4.4.x distributed/gateway/templates/gateway/wso2am-gateway-service.yaml (websub 9021, websub-secure 8021)`;
const DOCS_APIM_ACTIVE_ACTIVE =
  'wso2/docs-apim en/docs/install-and-setup/setup/single-node/configuring-an-active-active-deployment.md (Step 7)';
const HELM_APIM_GW = 'wso2/helm-apim 4.4.x distributed/gateway/confs/deployment.toml';
const HELM_APIM_CP = 'wso2/helm-apim 4.4.x distributed/control-plane/confs/instance-1/deployment.toml';
const HELM_APIM_TM = 'wso2/helm-apim 4.4.x distributed/traffic-manager/confs/instance-1/deployment.toml';
const DOCS_APIM_TM_SEPARATED =
  'wso2/docs-apim en/docs/install-and-setup/setup/distributed-deployment/deploying-wso2-api-m-in-a-distributed-setup-with-tm-separated.md (Step 6, "with High Availability")';
const HELM_IS = 'wso2/kubernetes-is master confs/deployment.toml';
const HELM_IS_5 =
  'wso2/kubernetes-is 5.11.x, 6.0.x, 6.1.x advanced/is-pattern-1/templates/is/wso2is-pattern-1-identity-server-conf.yaml';
const HELM_IS_VALUES = 'wso2/kubernetes-is master values.yaml deploymentToml.clustering (domain, localMemberPort)';
const IS_CONSOLE_HOST_DOC = 'wso2/docs-is en/includes/deploy/configure-console-hostname.md (Step 2)';
const IS_HOSTNAME_DOC = 'is.docs.wso2.com/en/latest/deploy/change-the-hostname/';
const HELM_MI = 'wso2/helm-mi mi/confs/deployment.toml';
const MI_CATALOG =
  'apim.docs.wso2.com/en/4.1.0/reference/config-catalog-mi/ ([transport.http] listener.wsdl_epr_prefix)';
const IS_SYSTEM_APPS =
  'wso2/carbon-identity-framework#5304 and wso2-extensions/identity-inbound-auth-oauth#2301 ([console]/[myaccount] callback_url, IS 7.0+, regexp= allowed); the paths of wso2/identity-apps README (#8515); wso2/product-is#25948';
const SEED_IS =
  'WSO2 IS "Setting Up Deployment Pattern 1", "Changing hostnames and ports" / "Configure the Proxy Port in IS Nodes"';
const SEED_APIM2 =
  'WSO2 API-M 2.x "Configuring the Proxy Server and the Load Balancer", "Configure the reverse proxy settings in the product" (site.json reverseProxy)';
const SEED_EI =
  'WSO2 EI "Setting up a Load balancer" + EI 6 docs "Deploying WSO2 EI" (carbon.xml HostName, catalina proxyPort, axis2.xml WSDLEPRPrefix)';
const APIM2_CARBON_DOC =
  'docs.wso2.com/display/AM210/Distributed+Deployment+of+the+Gateway ("Configure the carbon.xml file")';
const APIM2_DOC =
  'API-M 2.x docs "Configuring the Proxy Server and the Load Balancer" (api-manager.xml GatewayEndpoint, APIStore URL)';

/** A URL on a public host, with the port only when it is not the scheme's default. */
export function publicUrl(scheme: 'http' | 'https' | 'ws' | 'wss', host: string, port: number): string {
  const defaultPort = scheme === 'http' || scheme === 'ws' ? 80 : 443;
  return `${scheme}://${host}${port === defaultPort ? '' : `:${port}`}`;
}

const toml = (table: string, key: string, value: TomlValue, source: string, stock?: TomlValue): TomlSetting => ({
  kind: 'toml',
  table: table.split('.'),
  key: key.split('.'),
  value,
  source,
  ...(stock === undefined ? {} : { stock }),
});

/** Every product's deployment.toml ships `[server] hostname = "localhost"`. */
const STOCK_HOSTNAME = 'localhost';

// The keys a new [[apim.gateway.environment]] starts with: those of the entry API-M ships.
const DEFAULT_ENVIRONMENT: Record<string, TomlValue> = {
  name: 'Default',
  type: 'hybrid',
  display_in_api_console: true,
  description: 'This is a hybrid gateway that handles both production and sandbox token traffic.',
  show_as_token_endpoint_url: true,
  service_url: 'https://localhost:${mgt.transport.https.port}/services/',
  username: '${admin.username}',
  password: '${admin.password}',
};

// The URLs of the entry API-M 4.x ships (3.2 has the same), before the fronting sets them.
const STOCK_ENVIRONMENT: Record<string, TomlValue> = {
  service_url: DEFAULT_ENVIRONMENT.service_url!,
  http_endpoint: 'http://localhost:${http.nio.port}',
  https_endpoint: 'https://localhost:${https.nio.port}',
  ws_endpoint: 'ws://localhost:9099',
  wss_endpoint: 'wss://localhost:8099',
  websub_event_receiver_http_endpoint: 'http://localhost:9021',
  websub_event_receiver_https_endpoint: 'https://localhost:8021',
};

const environment = (key: string, value: TomlValue, source: string): TomlSetting => ({
  ...toml('apim.gateway.environment', key, value, source, STOCK_ENVIRONMENT[key]),
  entry: { match: { key: 'name', value: 'Default' }, create: DEFAULT_ENVIRONMENT },
});

/** One instance of a role as the others reach it: a managed pod, or an external node. */
export interface Instance {
  /** The pod's name (managed) or the node's name in the spec (external). */
  name: string;
  host: string;
  offset: number;
}

/** The headless Service that gives each pod of a role with peers its own DNS name. */
export const podsServiceName = (placement: Placement, role: Role) => `${placement.name}-${role}-pods`;

/**
 * Every instance of a role, in order: the StatefulSet's pods by their stable DNS names
 * (`<pod>.<frontend>-<role>-pods.<namespace>.svc`), or the external nodes that list the role.
 */
export function roleInstances(topology: Topology, placement: Placement, role: Role): Instance[] {
  if (topology.backends.source === 'external')
    return topology.backends.nodes
      .filter((n) => n.roles.includes(role))
      .map((n) => ({ name: n.name, host: n.address, offset: n.portOffset }));
  const replicas = topology.backends.components.find((c) => c.role === role)?.replicas ?? 0;
  const service = podsServiceName(placement, role);
  return Array.from({ length: replicas }, (_, i) => {
    const pod = `${placement.name}-${role}-${i}`;
    return { name: pod, host: `${pod}.${service}.${placement.namespace}.svc`, offset: 0 };
  });
}

/** The address a role is reached on as a whole: its Service (managed), or its first listed node (external). */
function roleAddress(topology: Topology, placement: Placement, role: Role): { host: string; offset: number } {
  if (topology.backends.source === 'managed')
    return { host: `${placement.name}-${role}.${placement.namespace}.svc`, offset: 0 };
  return roleInstances(topology, placement, role)[0] ?? { host: 'localhost', offset: 0 };
}

/** `host:port` for a URL: an IPv6 node address in brackets (RFC 3986), or the port would read as part of it. */
const authority = (host: string, port: number) => (isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`);

const siteHost = (topology: Topology, site: string): string | undefined =>
  topology.sites.find((s) => s.name === site)?.host;

function hostnameOf(topology: Topology, role: Role): { hostname: string; managementHostname: string } {
  const settings = topology.productSettings.roles.find((r) => r.role === role)!;
  return { hostname: settings.hostname, managementHostname: settings.managementHostname };
}

const proxyPorts = (topology: Topology, source: string): TomlSetting[] => [
  toml('transport.http.properties', 'proxyPort', topology.ports.http, source),
  toml('transport.https.properties', 'proxyPort', topology.ports.https, source),
];

/** The Ports API-M 4.x components reach each other on (no port offset): Carbon HTTPS, event/throttle JMS, binary (auth). */
const CARBON_HTTPS = 9443;
const JMS = 5672;
const BINARY = 9611;
const BINARY_AUTH = 9711;
/** The gateway's WebSocket and WebSub ports (helm-apim 4.4.x distributed/gateway wso2am-gateway-service.yaml ws, wss, websub, websub-secure). */
const WS = 9099;
const WSS = 8099;
const WEBSUB = 9021;
const WEBSUB_SECURE = 8021;

function apiManagerToml(topology: Topology, placement: Placement, role: Role, self?: string): TomlSetting[] {
  const version = parseVersion(topology.version)!;
  const { hostname } = hostnameOf(topology, role);
  const { https, http } = topology.ports;
  const settings: TomlSetting[] = [
    toml('server', 'hostname', hostname, `${SEED_APIM}; ${APIM_HOSTNAME_DOC}`, STOCK_HOSTNAME),
    ...proxyPorts(topology, `${SEED_APIM}; ${HELM_APIM_AIO}`),
  ];
  const portal = siteHost(topology, 'portal') ?? siteHost(topology, 'store');
  const servesPortals = role === 'all-in-one' || role === 'control-plane' || role === 'store';
  if (portal && servesPortals)
    settings.push(toml('apim.devportal', 'url', `${publicUrl('https', portal, https)}/devportal`, APIM_HOSTNAME_DOC));

  const gateway = siteHost(topology, 'gateway');
  if (gateway && (role === 'all-in-one' || role === 'control-plane')) {
    settings.push(
      environment('http_endpoint', publicUrl('http', gateway, http), HELM_APIM_AIO),
      environment('https_endpoint', publicUrl('https', gateway, https), HELM_APIM_AIO),
    );
    const websocket = siteHost(topology, 'websocket');
    const websub = siteHost(topology, 'websub');
    if (websocket && websub)
      settings.push(
        environment('ws_endpoint', publicUrl('ws', websocket, http), HELM_APIM_CP),
        environment('wss_endpoint', publicUrl('wss', websocket, https), HELM_APIM_CP),
        environment('websub_event_receiver_http_endpoint', publicUrl('http', websub, http), HELM_APIM_CP),
        environment('websub_event_receiver_https_endpoint', publicUrl('https', websub, https), HELM_APIM_CP),
      );
    else
      // No WebSocket or WebSub site: the gateway host on the node's own ports (docs' active-active
      // step 7 for ws/wss; WebSub on the ports helm-apim's gateway Service names websub/websub-secure).
      settings.push(
        environment('ws_endpoint', `ws://${gateway}:${WS}`, DOCS_APIM_ACTIVE_ACTIVE),
        environment('wss_endpoint', `wss://${gateway}:${WSS}`, DOCS_APIM_ACTIVE_ACTIVE),
        // WebSub APIs came with API-M 4.0.
        ...(version.major >= 4
          ? [
              environment('websub_event_receiver_http_endpoint', `http://${gateway}:${WEBSUB}`, HELM_APIM_AIO_WEBSUB),
              environment(
                'websub_event_receiver_https_endpoint',
                `https://${gateway}:${WEBSUB_SECURE}`,
                HELM_APIM_AIO_WEBSUB,
              ),
            ]
          : []),
      );
  }

  if (version.major === 3 && portal && (servesPortals || role === 'publisher')) {
    const idp = publicUrl('https', portal, https);
    const source = `issue #14 (API-M 3.2 [apim.idp]); ${HELM_APIM_AIO} (the [apim.idp] block it ships commented)`;
    settings.push(
      toml('apim.idp', 'server_url', idp, source),
      toml('apim.idp', 'authorize_endpoint', `${idp}/oauth2/authorize`, source),
      toml('apim.idp', 'oidc_logout_endpoint', `${idp}/oidc/logout`, source),
      toml('apim.idp', 'oidc_check_session_endpoint', `${idp}/oidc/checksession`, source),
    );
  }

  if (topology.pattern === 'apim-distributed') settings.push(...distributedLinks(topology, placement, role, self));
  return settings;
}

/**
 * API-M 4.x distributed: each component reaches the others on internal names, never the public
 * host. A role as a whole (the `service_url`s) through its Service; every instance of the control
 * plane and the traffic manager by its own name, as WSO2's HA notes ask: a gateway subscribed to
 * one event hub misses the events the other publishes, and throttle counts split across traffic
 * managers. `self` is the instance the configuration is for (its peers get its duplicated events).
 */
function distributedLinks(
  topology: Topology,
  placement: Placement,
  role: Role,
  self: string | undefined,
): TomlSetting[] {
  const url = (scheme: string, { host, offset }: { host: string; offset: number }, port: number, suffix = '') =>
    `${scheme}://${authority(host, port + offset)}${suffix}`;
  const services = (target: Role) => url('https', roleAddress(topology, placement, target), CARBON_HTTPS, '/services/');
  const instances = (target: Role) => roleInstances(topology, placement, target);
  const every = (target: Role, scheme: string, port: number) => instances(target).map((i) => url(scheme, i, port));
  const others = (target: Role) =>
    instances(target)
      .filter((i) => i.name !== (self ?? instances(target)[0]?.name))
      .map((i) => url('tcp', i, JMS));
  /** One `[[table]]` entry per instance of `target`, at its position. */
  const perInstance = (table: string, target: Role, keys: (i: Instance) => [string, TomlValue][], source: string) =>
    instances(target).flatMap((instance, index) =>
      keys(instance).map(([key, value]): TomlSetting => ({
        ...toml(table, key, value, source),
        entry: { index, create: {} },
      })),
    );

  const keyManager = (source: string) => toml('apim.key_manager', 'service_url', services('control-plane'), source);
  const eventHub = (source: string): TomlSetting[] => [
    toml('apim.event_hub', 'enable', true, source),
    toml('apim.event_hub', 'service_url', services('control-plane'), source),
    toml('apim.event_hub', 'event_listening_endpoints', every('control-plane', 'tcp', JMS), source),
  ];
  switch (role) {
    case 'gateway':
      return [
        keyManager(HELM_APIM_GW),
        toml('apim.throttling', 'service_url', services('traffic-manager'), HELM_APIM_GW),
        toml(
          'apim.throttling',
          'throttle_decision_endpoints',
          every('traffic-manager', 'tcp', JMS),
          `${HELM_APIM_GW}; ${DOCS_APIM_TM_SEPARATED}`,
        ),
        ...perInstance(
          'apim.throttling.url_group',
          'traffic-manager',
          (tm) => [
            ['traffic_manager_urls', [url('tcp', tm, BINARY)]],
            ['traffic_manager_auth_urls', [url('ssl', tm, BINARY_AUTH)]],
            ['type', 'loadbalance'],
          ],
          `${HELM_APIM_GW}; ${DOCS_APIM_TM_SEPARATED}`,
        ),
        ...eventHub(`${HELM_APIM_GW}; ${DOCS_APIM_TM_SEPARATED}`),
      ];
    case 'control-plane': {
      const duplicates = others('control-plane');
      return [
        environmentServiceUrl(topology, placement, `${HELM_APIM_CP}; ${DOCS_APIM_TM_SEPARATED}`),
        ...(duplicates.length
          ? [
              toml(
                'apim.event_hub',
                'event_duplicate_url',
                duplicates,
                `${HELM_APIM_CP} (instance-1, instance-2); ${DOCS_APIM_TM_SEPARATED}`,
              ),
            ]
          : []),
        ...perInstance(
          'apim.event_hub.publish.url_group',
          'control-plane',
          (cp) => [
            ['urls', [url('tcp', cp, BINARY)]],
            ['auth_urls', [url('ssl', cp, BINARY_AUTH)]],
          ],
          `${HELM_APIM_CP}; ${DOCS_APIM_TM_SEPARATED}`,
        ),
      ];
    }
    case 'traffic-manager': {
      const duplicates = others('traffic-manager');
      return [
        keyManager(HELM_APIM_TM),
        ...eventHub(`${HELM_APIM_TM}; ${DOCS_APIM_TM_SEPARATED}`),
        ...(duplicates.length
          ? [
              toml(
                'apim.throttling',
                'event_duplicate_url',
                duplicates,
                `${HELM_APIM_TM} (instance-1, instance-2); ${DOCS_APIM_TM_SEPARATED}`,
              ),
            ]
          : []),
      ];
    }
    default:
      return [];
  }
}

function environmentServiceUrl(topology: Topology, placement: Placement, source: string): TomlSetting {
  const { host, offset } = roleAddress(topology, placement, 'gateway');
  return environment('service_url', `https://${authority(host, CARBON_HTTPS + offset)}/services/`, source);
}

/** The paths the Console and My Account redirect back to, per tenant (`/t/`) and organization (`/o/`). */
const SYSTEM_APP_PATHS = {
  console: [
    '/console',
    '/t/(.*)/console',
    '/console/login',
    '/t/(.*)/console/login',
    '/o/(.*)/console',
    '/o/(.*)/console/login',
  ],
  myaccount: ['/myaccount', '/t/(.*)/myaccount', '/myaccount/login', '/t/(.*)/myaccount/login'],
};

/**
 * IS 7 stores the Console's and My Account's OAuth callback URLs, built from the host it first
 * started with, and checks them on every login: a later host change fails with "Registered
 * callback does not match". Since 7.0 `[console]`/`[myaccount] callback_url` in deployment.toml
 * replaces the stored value; this one allows every public host of the frontend.
 */
function systemAppCallback(topology: Topology, app: keyof typeof SYSTEM_APP_PATHS): string {
  const origins = topology.sites.map((s) => publicUrl('https', s.host, topology.ports.https).replace(/\./g, '\\.'));
  return `regexp=(${origins.flatMap((o) => SYSTEM_APP_PATHS[app].map((p) => `${o}${p}`)).join('|')})`;
}

function identityServerToml(topology: Topology, placement: Placement): TomlSetting[] {
  const host = siteHost(topology, 'identity')!;
  const settings: TomlSetting[] = [
    toml('server', 'hostname', host, `${SEED_IS}; ${IS_HOSTNAME_DOC}; ${HELM_IS}`, STOCK_HOSTNAME),
    // docs-is writes https://$ref{server.hostname} behind a proxy on 443; with another public port the origin carries it.
    toml(
      'server',
      'base_path',
      publicUrl('https', host, topology.ports.https),
      `${IS_CONSOLE_HOST_DOC}; ${HELM_IS_5}`,
      'https://$ref{server.hostname}:${carbon.management.port}',
    ),
    ...proxyPorts(topology, `${SEED_IS}; ${HELM_IS}`),
  ];
  const is7 = parseVersion(topology.version)!.major >= 7;
  if (is7)
    settings.push(
      toml('console', 'callback_url', systemAppCallback(topology, 'console'), IS_SYSTEM_APPS),
      toml('myaccount', 'callback_url', systemAppCallback(topology, 'myaccount'), IS_SYSTEM_APPS),
      // The links of self-registration e-mails must come back to the public host.
      toml(
        'identity_mgt',
        'user_self_registration.callback_url',
        `${publicUrl('https', host, topology.ports.https)}/.*`,
        HELM_IS,
      ),
    );
  const consoleSite = topology.sites.find((s) => s.consoleOf);
  if (consoleSite) {
    const console = publicUrl('https', consoleSite.host, topology.ports.https);
    settings.push(
      toml('console', 'server_origin', console, IS_CONSOLE_HOST_DOC),
      // The user's own applications' origins stay; the Console's joins them.
      { ...toml('cors', 'allowed_origins', [console], IS_CONSOLE_HOST_DOC), include: true },
      toml('console.idp_configs', 'signInRedirectURL', `${console}/console`, IS_CONSOLE_HOST_DOC),
      toml(
        'console.idp_configs',
        'issuer',
        `${publicUrl('https', host, topology.ports.https)}/oauth2/token`,
        IS_CONSOLE_HOST_DOC,
      ),
    );
  }
  if (topology.backends.source === 'managed') {
    // Hazelcast finds the other members through the Kubernetes API (the ServiceAccount the operator creates).
    const services = topology.backends.components.map((c) => `${placement.name}-${c.role}`).join(',');
    settings.push(
      toml('clustering', 'membership_scheme', 'kubernetes', is7 ? HELM_IS : HELM_IS_5, 'wka'),
      toml('clustering', 'domain', is7 ? 'wso2.is.domain' : 'wso2.carbon.domain', is7 ? HELM_IS_VALUES : HELM_IS_5),
      // IS 7 ships local_member_port = "4000" under its wka clustering.
      ...(is7 ? [toml('clustering', 'local_member_port', '4001', HELM_IS_VALUES, '4000')] : []),
      toml('clustering', 'properties.KUBERNETES_NAMESPACE', placement.namespace, is7 ? HELM_IS : HELM_IS_5),
      toml('clustering', 'properties.KUBERNETES_SERVICES', services, is7 ? HELM_IS : HELM_IS_5),
    );
  }
  return settings;
}

function microIntegratorToml(topology: Topology, role: Role): TomlSetting[] {
  const { hostname } = hostnameOf(topology, role);
  return [
    toml('server', 'hostname', hostname, HELM_MI, STOCK_HOSTNAME),
    toml('transport.http', 'listener.wsdl_epr_prefix', publicUrl('http', hostname, topology.ports.http), MI_CATALOG),
    toml(
      'transport.http',
      'listener.secured_wsdl_epr_prefix',
      publicUrl('https', hostname, topology.ports.https),
      MI_CATALOG,
    ),
  ];
}

// Carbon 4 files.

const CARBON_NS_SOURCE = (seed: string) => `${seed} (carbon.xml HostName/MgtHostName)`;

function carbonXml(path: string, hostname: string, managementHostname: string, seed: string): ProductFile {
  const text = (name: string, value: string): XmlTextSetting => ({
    kind: 'xml-text',
    element: [{ name: 'Server' }, { name }],
    value,
    insertAfter: name === 'HostName' ? 'Version' : 'HostName',
    source: CARBON_NS_SOURCE(seed),
  });
  return {
    path,
    format: 'xml',
    required: true,
    settings: [text('HostName', hostname), text('MgtHostName', managementHostname)],
  };
}

/** Carbon's two Tomcat connectors, found by the port they listen on (offsets apply at run time, not in the file). */
function catalinaServerXml(path: string, topology: Topology, seed: string): ProductFile {
  const connector = (port: string, proxyPort: number): XmlAttributeSetting => ({
    kind: 'xml-attribute',
    element: [{ name: 'Server' }, { name: 'Service' }, { name: 'Connector', attributes: { port } }],
    attribute: 'proxyPort',
    value: String(proxyPort),
    source: `${seed} (catalina-server.xml Connector proxyPort)`,
  });
  return {
    path,
    format: 'xml',
    required: true,
    settings: [connector('9763', topology.ports.http), connector('9443', topology.ports.https)],
  };
}

const json = (
  path: string,
  value: string | boolean | number,
  source: string,
  stock?: string | boolean | number,
): JsonSetting => ({
  kind: 'json',
  path: path.split('.'),
  value,
  source,
  ...(stock === undefined ? {} : { stock }),
});

function apiManager2Files(topology: Topology, role: Role): ProductFile[] {
  const { hostname, managementHostname } = hostnameOf(topology, role);
  const { https, http } = topology.ports;
  const files = [
    // The API-M 2.x load-balancer document covers only site.json: the Carbon 4 files come from the API-M
    // 2.x docs and, for the connector proxy ports, the same Carbon 4.4 file as IS pattern 1 sets it.
    carbonXml('repository/conf/carbon.xml', hostname, managementHostname, APIM2_CARBON_DOC),
    catalinaServerXml('repository/conf/tomcat/catalina-server.xml', topology, `${SEED_IS} (the same Carbon 4.4 file)`),
  ];
  const apiManagerXml: OwnedSetting[] = [];
  const gateway = siteHost(topology, 'gateway');
  if (gateway && role === 'all-in-one')
    apiManagerXml.push({
      kind: 'xml-text',
      element: [
        { name: 'APIManager' },
        { name: 'APIGateway' },
        { name: 'Environments' },
        { name: 'Environment' },
        { name: 'GatewayEndpoint' },
      ],
      value: `${publicUrl('http', gateway, http)},${publicUrl('https', gateway, https)}`,
      insertAfter: 'ServerURL',
      source: APIM2_DOC,
      stock: 'http://${carbon.local.ip}:${http.nio.port},https://${carbon.local.ip}:${https.nio.port}',
    });
  const portal = siteHost(topology, 'portal') ?? siteHost(topology, 'store');
  if (portal && (role === 'all-in-one' || role === 'store'))
    apiManagerXml.push({
      kind: 'xml-text',
      element: [{ name: 'APIManager' }, { name: 'APIStore' }, { name: 'URL' }],
      value: `${publicUrl('https', portal, https)}/store`,
      insertAfter: 'DisplayURL',
      source: APIM2_DOC,
      stock: 'https://localhost:${mgt.transport.https.port}/store',
    });
  if (apiManagerXml.length)
    files.push({ path: 'repository/conf/api-manager.xml', format: 'xml', required: false, settings: apiManagerXml });

  const apps: Partial<Record<Role, string[]>> = {
    'all-in-one': ['store', 'publisher', 'admin'],
    store: ['store'],
    publisher: ['publisher', 'admin'],
    'gateway-manager': ['publisher', 'admin'],
  };
  for (const app of apps[role] ?? []) {
    files.push({
      path: `repository/deployment/server/jaggeryapps/${app}/site/conf/site.json`,
      format: 'json',
      required: false,
      settings: [
        json('reverseProxy.enabled', true, SEED_APIM2, false),
        json('reverseProxy.host', hostname, SEED_APIM2, 'sample.proxydomain.com'),
        json('reverseProxy.context', `/${app}`, SEED_APIM2, ''),
      ],
    });
  }
  return files;
}

function identityServer5Files(topology: Topology): ProductFile[] {
  const host = siteHost(topology, 'identity')!;
  const management = siteHost(topology, 'management') ?? host;
  const proxy = (app: string): ProductFile => ({
    path: `repository/deployment/server/jaggeryapps/${app}/conf/site.json`,
    format: 'json',
    required: false,
    settings: [
      json('proxy.proxyHost', host, `${SEED_IS} (${app}/conf/site.json proxy)`, ''),
      json('proxy.proxyHTTPSPort', String(topology.ports.https), `${SEED_IS} (${app}/conf/site.json proxy)`, ''),
    ],
  });
  return [
    carbonXml('repository/conf/carbon.xml', host, management, SEED_IS),
    catalinaServerXml('repository/conf/tomcat/catalina-server.xml', topology, SEED_IS),
    proxy('dashboard'),
    proxy('portal'),
  ];
}

function enterpriseIntegrator6Files(topology: Topology): ProductFile[] {
  const host = siteHost(topology, 'integrator')!;
  const management = siteHost(topology, 'management') ?? host;
  const prefix = (transport: 'http' | 'https', value: string): XmlTextSetting => ({
    kind: 'xml-text',
    element: [
      { name: 'axisconfig' },
      { name: 'transportReceiver', attributes: { name: transport } },
      { name: 'parameter', attributes: { name: 'WSDLEPRPrefix', locked: 'false' } },
    ],
    value,
    insertAfter: 'parameter',
    source: SEED_EI,
  });
  return [
    carbonXml('conf/carbon.xml', host, management, SEED_EI),
    catalinaServerXml('conf/tomcat/catalina-server.xml', topology, SEED_EI),
    {
      path: 'conf/axis2/axis2.xml',
      format: 'xml',
      required: true,
      settings: [
        prefix('http', publicUrl('http', host, topology.ports.http)),
        prefix('https', publicUrl('https', host, topology.ports.https)),
      ],
    },
  ];
}

const deploymentToml = (path: string, settings: TomlSetting[]): ProductFile => ({
  path,
  format: 'toml',
  required: true,
  settings,
});

/**
 * The files and keys the fronting owns for one role of the topology; for a role with peers, those
 * of its instance `instance` (a pod or node name; default its first).
 */
export function roleConfiguration(
  topology: Topology,
  placement: Placement,
  role: Role,
  instance?: string,
): RoleConfiguration {
  const carbon4 = topology.productSettings.configFormat === 'carbon4';
  let files: ProductFile[];
  switch (topology.product) {
    case 'api-manager':
      files = carbon4
        ? apiManager2Files(topology, role)
        : [deploymentToml('repository/conf/deployment.toml', apiManagerToml(topology, placement, role, instance))];
      break;
    case 'identity-server':
      files = carbon4
        ? identityServer5Files(topology)
        : [deploymentToml('repository/conf/deployment.toml', identityServerToml(topology, placement))];
      break;
    case 'enterprise-integrator':
      // EI 7 is Micro Integrator based: its integration profile has MI's conf/deployment.toml.
      files = carbon4
        ? enterpriseIntegrator6Files(topology)
        : [deploymentToml('micro-integrator/conf/deployment.toml', microIntegratorToml(topology, role))];
      break;
    case 'micro-integrator':
      files = [deploymentToml('conf/deployment.toml', microIntegratorToml(topology, role))];
      break;
  }
  return { role, files };
}

/** Per role of the pattern, in topology order. */
export function productConfiguration(topology: Topology, placement: Placement): RoleConfiguration[] {
  return topology.productSettings.roles.map((r) => roleConfiguration(topology, placement, r.role));
}

/** What identifies an owned key within its file, whatever value a role gives it. */
function ownedKey(setting: OwnedSetting): string {
  const { value: _value, source: _source, ...where } = setting;
  return JSON.stringify(where);
}

/**
 * The files and keys of a node that serves `roles` (one product home): every role's files, a file
 * two roles own once with the keys of both. A key two roles set to different values (a host name)
 * takes the value of the node's first listed role. `node` names the node, for the keys that list its peers.
 */
export function nodeConfiguration(
  topology: Topology,
  placement: Placement,
  roles: readonly Role[],
  node?: string,
): NodeConfiguration {
  const files: ProductFile[] = [];
  for (const role of roles) {
    for (const file of roleConfiguration(topology, placement, role, node).files) {
      const known = files.find((f) => f.path === file.path);
      if (!known) {
        files.push({ ...file, settings: [...file.settings] });
        continue;
      }
      known.required ||= file.required;
      const keys = new Set(known.settings.map(ownedKey));
      known.settings.push(...file.settings.filter((s) => !keys.has(ownedKey(s))));
    }
  }
  return { roles: [...roles], files };
}
