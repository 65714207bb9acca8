// What the fronting owns in each WSO2 product's own configuration: per product, version and role,
// the files, the keys and the values that make the product put its public hosts and ports (and,
// between components, internal Service names) in the URLs it generates. Pure data from the
// topology; the text editing is in src/render/product. Every key names the WSO2 document or
// official chart file it comes from.
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
  /** For a key of an array of tables: the entry it belongs to, and the keys a new entry starts with. */
  entry?: { match?: { key: string; value: string }; create: Record<string, TomlValue> };
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
const HELM_APIM_AIO = 'wso2/helm-apim all-in-one/confs/instance-1/deployment.toml';
const HELM_APIM_GW = 'wso2/helm-apim distributed/gateway/confs/deployment.toml';
const HELM_APIM_CP = 'wso2/helm-apim distributed/control-plane/confs/instance-1/deployment.toml';
const HELM_APIM_TM = 'wso2/helm-apim distributed/traffic-manager/confs/instance-1/deployment.toml';
const HELM_IS = 'wso2/kubernetes-is confs/deployment.toml';
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

/** The internal address and port offset of a role: its Service (managed), or its first listed node (external). */
function internalAddress(topology: Topology, placement: Placement, role: Role): { host: string; offset: number } {
  if (topology.backends.source === 'managed')
    return { host: `${placement.name}-${role}.${placement.namespace}.svc`, offset: 0 };
  const node = topology.backends.nodes.find((n) => n.roles.includes(role));
  return node ? { host: node.address, offset: node.portOffset } : { host: 'localhost', offset: 0 };
}

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

function apiManagerToml(topology: Topology, placement: Placement, role: Role): TomlSetting[] {
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
    if (websocket)
      settings.push(
        environment('ws_endpoint', publicUrl('ws', websocket, http), HELM_APIM_CP),
        environment('wss_endpoint', publicUrl('wss', websocket, https), HELM_APIM_CP),
      );
    const websub = siteHost(topology, 'websub');
    if (websub)
      settings.push(
        environment('websub_event_receiver_http_endpoint', publicUrl('http', websub, http), HELM_APIM_CP),
        environment('websub_event_receiver_https_endpoint', publicUrl('https', websub, https), HELM_APIM_CP),
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

  if (topology.pattern === 'apim-distributed') settings.push(...distributedLinks(topology, placement, role));
  return settings;
}

/** API-M 4.x distributed: each component reaches the others on their internal Service names, never the public host. */
function distributedLinks(topology: Topology, placement: Placement, role: Role): TomlSetting[] {
  const at = (target: Role, port: number, scheme: string, suffix = '') => {
    const { host, offset } = internalAddress(topology, placement, target);
    return `${scheme}://${host}:${port + offset}${suffix}`;
  };
  const services = (target: Role) => at(target, CARBON_HTTPS, 'https', '/services/');
  const throttling = (source: string): TomlSetting[] => [
    toml('apim.throttling', 'service_url', services('traffic-manager'), source),
    toml('apim.throttling', 'throttle_decision_endpoints', [at('traffic-manager', JMS, 'tcp')], source),
  ];
  const eventHub = (source: string): TomlSetting[] => [
    toml('apim.event_hub', 'enable', true, source),
    toml('apim.event_hub', 'service_url', services('control-plane'), source),
    toml('apim.event_hub', 'event_listening_endpoints', [at('control-plane', JMS, 'tcp')], source),
  ];
  const keyManager = (source: string) => toml('apim.key_manager', 'service_url', services('control-plane'), source);
  const urlGroup = (source: string): TomlSetting[] =>
    (
      [
        ['traffic_manager_urls', [at('traffic-manager', BINARY, 'tcp')]],
        ['traffic_manager_auth_urls', [at('traffic-manager', BINARY_AUTH, 'ssl')]],
      ] as const
    ).map(([key, value]) => ({
      ...toml('apim.throttling.url_group', key, [...value], source),
      entry: { create: {} },
    }));
  switch (role) {
    case 'gateway':
      return [
        keyManager(HELM_APIM_GW),
        ...throttling(HELM_APIM_GW),
        ...urlGroup(HELM_APIM_GW),
        ...eventHub(HELM_APIM_GW),
      ];
    case 'control-plane':
      return [
        ...throttling(HELM_APIM_CP),
        ...urlGroup(HELM_APIM_CP),
        environmentServiceUrl(topology, placement, HELM_APIM_CP),
      ];
    case 'traffic-manager':
      return [keyManager(HELM_APIM_TM), ...eventHub(HELM_APIM_TM)];
    default:
      return [];
  }
}

function environmentServiceUrl(topology: Topology, placement: Placement, source: string): TomlSetting {
  const { host, offset } = internalAddress(topology, placement, 'gateway');
  return environment('service_url', `https://${host}:${CARBON_HTTPS + offset}/services/`, source);
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
    toml(
      'server',
      'base_path',
      publicUrl('https', host, topology.ports.https),
      HELM_IS,
      'https://$ref{server.hostname}:${carbon.management.port}',
    ),
    ...proxyPorts(topology, `${SEED_IS}; ${HELM_IS}`),
  ];
  if (parseVersion(topology.version)!.major >= 7)
    settings.push(
      toml('console', 'callback_url', systemAppCallback(topology, 'console'), IS_SYSTEM_APPS),
      toml('myaccount', 'callback_url', systemAppCallback(topology, 'myaccount'), IS_SYSTEM_APPS),
    );
  if (topology.backends.source === 'managed') {
    // Hazelcast finds the other members through the Kubernetes API (the ServiceAccount the operator creates).
    const services = topology.backends.components.map((c) => `${placement.name}-${c.role}`).join(',');
    settings.push(
      toml('clustering', 'membership_scheme', 'kubernetes', HELM_IS, 'wka'),
      toml('clustering', 'properties.KUBERNETES_NAMESPACE', placement.namespace, HELM_IS),
      toml('clustering', 'properties.KUBERNETES_SERVICES', services, HELM_IS),
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
    carbonXml(
      'repository/conf/carbon.xml',
      hostname,
      managementHostname,
      'WSO2 API-M 2.x "Configuring the Proxy Server and the Load Balancer"',
    ),
    catalinaServerXml(
      'repository/conf/tomcat/catalina-server.xml',
      topology,
      'WSO2 API-M 2.x "Configuring the Proxy Server and the Load Balancer"',
    ),
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

/** The files and keys the fronting owns for one role of the topology. */
export function roleConfiguration(topology: Topology, placement: Placement, role: Role): RoleConfiguration {
  const carbon4 = topology.productSettings.configFormat === 'carbon4';
  let files: ProductFile[];
  switch (topology.product) {
    case 'api-manager':
      files = carbon4
        ? apiManager2Files(topology, role)
        : [deploymentToml('repository/conf/deployment.toml', apiManagerToml(topology, placement, role))];
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
 * takes the value of the node's first listed role.
 */
export function nodeConfiguration(topology: Topology, placement: Placement, roles: readonly Role[]): NodeConfiguration {
  const files: ProductFile[] = [];
  for (const role of roles) {
    for (const file of roleConfiguration(topology, placement, role).files) {
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
