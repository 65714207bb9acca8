// The corpus of invalid Wso2Frontend resources (issue 17): schema bounds on both sides, the CEL
// rules, the checks only the presets can make, hostile strings in every string field
// (hostile.ts), and huge objects. Each case names the field a user is told about and who
// rejects it: the API server at `kubectl apply`, or the operator on the status (the API server
// stores those, as only the presets can tell). `accepted` lists the values just inside each
// bound, so that a bound is shown to sit exactly where the schema says.
import { hostileStringCases, validStringControls } from './hostile.js';

export type Spec = Record<string, unknown>;

export interface CorpusCase {
  /** What is wrong, as a sentence fragment; unique. */
  name: string;
  spec: Spec;
  /** Annotations of the resource itself (the API server's limits on metadata). */
  annotations?: Record<string, string>;
  /** The field path the rejection names. */
  field: string;
  /** Where server-side apply names it otherwise: a repeated item of a set is named by the list. */
  serverField?: string;
  by: 'api-server' | 'operator';
}

const node = (name: string, roles: string[], address = '192.0.2.10') => ({ name, address, roles });

/** apim-active-active with two external nodes: the base most cases change one thing of. */
export const external = (): Spec => ({
  product: 'api-manager',
  pattern: 'apim-active-active',
  backends: { external: { nodes: [node('node-1', ['all-in-one']), node('node-2', ['all-in-one'], '192.0.2.11')] } },
});
export const managed = (settings: Spec = {}): Spec => ({
  product: 'api-manager',
  pattern: 'apim-active-active',
  backends: { managed: settings },
});
export const secretMode = (): Spec => withSpec({ tls: { mode: 'secret', secretName: 'frontend-tls' } });
export const eiCluster = (): Spec => ({
  product: 'enterprise-integrator',
  pattern: 'ei-cluster',
  backends: { external: { nodes: [node('node-1', ['integrator']), node('node-2', ['integrator'], '192.0.2.11')] } },
});
export const withSpec = (patch: Spec, base: Spec = external()): Spec => ({ ...base, ...patch });

const label = (length: number, letter = 'a') => letter.repeat(length);
/** A host name of exactly `length` characters: 63-character labels, then a shorter last one. */
function hostOfLength(length: number): string {
  const labels: string[] = [];
  let left = length;
  while (left > 64) {
    labels.push(label(63));
    left -= 64;
  }
  labels.push(label(left));
  return labels.join('.');
}
const nodes = (count: number) =>
  Array.from({ length: count }, (_, i) => node(`node-${i}`, ['all-in-one'], `10.0.${i >> 8}.${i & 255}`));
const annotations = (count: number, valueLength: number) =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`example.com/a${i}`, 'v'.repeat(valueLength)]));
const sites = (count: number) =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`site-${i}`, { host: `h${i}.example.com` }]));

const hostCases = (): CorpusCase[] =>
  (
    [
      ['a homoglyph host (Cyrillic a in api)', '\u0430pi.example.com'],
      ['a homoglyph host (Greek omicron in example)', 'api.exampl\u03bf.com'],
      ['an internationalised host not written in punycode', 'b\u00fccher.example.com'],
      ['a fullwidth dot in the host', 'api\uff0eexample.com'],
      ['a host of 254 characters', hostOfLength(254)],
      ['a host with a 64-character label', `${label(64)}.example.com`],
      ['a wildcard host', '*.example.com'],
      ['a wildcard inside a host label', 'api*.example.com'],
      ['an IPv6 literal host in brackets', '[2001:db8::1]'],
      ['an IPv6 literal host', '2001:db8::1'],
      ['a host with a port', 'api.example.com:8443'],
      ['a host with a trailing dot', 'api.example.com.'],
      ['a host with an empty label', 'api..example.com'],
      ['a host starting with a hyphen', '-api.example.com'],
      ['a host label ending with a hyphen', 'api-.example.com'],
      ['a host with a path', 'api.example.com/admin'],
      ['a host with user information', 'admin@api.example.com'],
      ['a URL as host', 'https://api.example.com'],
      ['an empty host', ''],
      ['a host of 1 MiB', label(1024 * 1024)],
    ] as const
  ).map(([name, host]) => ({
    name,
    spec: withSpec({ sites: { portal: { host } } }),
    field: 'spec.sites.portal.host',
    by: 'api-server' as const,
  }));

const addressCases = (): CorpusCase[] =>
  (
    [
      ['a node address as IPv6 in brackets', '[2001:db8::1]'],
      ['a node address with an IPv6 zone', 'fe80::1%eth0'],
      ['a node address that is not IPv6 though it has colons', '2001:db8::1::2'],
      ['a node address with an IPv4 octet above 255', '192.0.2.256'],
      ['a node address with a leading zero (octal to a resolver)', '010.0.0.1'],
      ['a node address in hexadecimal', '0x7f.0.0.1'],
      ['a node address as one decimal number', '2130706433'],
      ['a node address of three numbers', '127.0.1'],
      ['a node address with a port', 'apim-1.example.com:9443'],
      ['an IPv4 node address with a port', '10.0.0.1:9443'],
      ['an IPv4-mapped IPv6 node address', '::ffff:192.0.2.1'],
      ['a node address of 254 characters', hostOfLength(254)],
      ['an empty node address', ''],
    ] as const
  ).map(([name, address]) => {
    const spec = external();
    (spec.backends as { external: { nodes: Spec[] } }).external.nodes[0]!.address = address;
    return { name, spec, field: 'spec.backends.external.nodes[0].address', by: 'api-server' as const };
  });

const boundCases = (): CorpusCase[] => {
  const api = (name: string, field: string, spec: Spec): CorpusCase => ({ name, spec, field, by: 'api-server' });
  const cookie = (settings: Spec) =>
    withSpec({ sites: { portal: { sessionAffinity: { mode: 'cookie', cookie: settings } } } });
  const component = (settings: Spec) => managed({ components: { 'all-in-one': settings } });
  return [
    api('HTTPS port 0', 'spec.ports.https', withSpec({ ports: { https: 0 } })),
    api('HTTP port 65536', 'spec.ports.http', withSpec({ ports: { http: 65536 } })),
    api('HTTPS port 65536', 'spec.ports.https', withSpec({ ports: { https: 65536 } })),
    api('a negative HTTP port', 'spec.ports.http', withSpec({ ports: { http: -80 } })),
    api('a fractional HTTPS port', 'spec.ports.https', withSpec({ ports: { https: 443.5 } })),
    api('an HTTPS port written as a string', 'spec.ports.https', withSpec({ ports: { https: '443' } })),
    api('a port offset above 1000', 'spec.backends.external.nodes[0].portOffset', {
      ...external(),
      backends: { external: { nodes: [{ ...node('node-1', ['all-in-one']), portOffset: 1001 }] } },
    }),
    api('21 NGINX replicas', 'spec.nginx.replicas', withSpec({ nginx: { replicas: 21 } })),
    api('a probe interval of 0 seconds', 'spec.probes.intervalSeconds', withSpec({ probes: { intervalSeconds: 0 } })),
    api('a probe timeout of 61 seconds', 'spec.probes.timeoutSeconds', withSpec({ probes: { timeoutSeconds: 61 } })),
    api(
      'a probe failure threshold of 0',
      'spec.probes.failureThreshold',
      withSpec({ probes: { failureThreshold: 0 } }),
    ),
    api(
      'a probe timeout as long as the interval',
      'spec.probes.timeoutSeconds',
      withSpec({ probes: { intervalSeconds: 5, timeoutSeconds: 5 } }),
    ),
    api(
      'a probe timeout longer than the interval',
      'spec.probes.timeoutSeconds',
      withSpec({ probes: { intervalSeconds: 10, timeoutSeconds: 20 } }),
    ),
    api('NGINX replicas as a string', 'spec.nginx.replicas', withSpec({ nginx: { replicas: '2' } })),
    api(
      '51 pods of a managed role',
      'spec.backends.managed.components.all-in-one.replicas',
      component({ replicas: 51 }),
    ),
    api(
      'a negative number of pods',
      'spec.backends.managed.components.all-in-one.replicas',
      component({ replicas: -1 }),
    ),
    api(
      'a negative HSTS max-age',
      'spec.nginx.hsts.maxAgeSeconds',
      withSpec({ nginx: { hsts: { maxAgeSeconds: -1 } } }),
    ),
    api(
      'an HSTS max-age above two years',
      'spec.nginx.hsts.maxAgeSeconds',
      withSpec({ nginx: { hsts: { maxAgeSeconds: 63072001 } } }),
    ),
    api('HSTS enabled as a string', 'spec.nginx.hsts.enabled', withSpec({ nginx: { hsts: { enabled: 'yes' } } })),
    api('a version of four numbers', 'spec.version', withSpec({ version: '4.5.0.1' })),
    api('a version with a v', 'spec.version', withSpec({ version: 'v4.5.0' })),
    api('a version of 33 characters', 'spec.version', withSpec({ version: `4.5.${'0'.repeat(29)}` })),
    api(
      'a cookie name of 65 characters',
      'spec.sites.portal.sessionAffinity.cookie.name',
      cookie({ name: label(65, 'C') }),
    ),
    api('an empty cookie name', 'spec.sites.portal.sessionAffinity.cookie.name', cookie({ name: '' })),
    api(
      'a cookie path of 257 characters',
      'spec.sites.portal.sessionAffinity.cookie.path',
      cookie({ path: `/${label(256)}` }),
    ),
    api('a relative cookie path', 'spec.sites.portal.sessionAffinity.cookie.path', cookie({ path: 'publisher' })),
    api(
      'a cookie max-age without a unit',
      'spec.sites.portal.sessionAffinity.cookie.maxAge',
      cookie({ maxAge: '3600' }),
    ),
    api('an unknown SameSite', 'spec.sites.portal.sessionAffinity.cookie.sameSite', cookie({ sameSite: 'Relaxed' })),
    api('a timeout of 7 digits', 'spec.nginx.timeouts.read', withSpec({ nginx: { timeouts: { read: '1000000s' } } })),
    api('a timeout with two units', 'spec.nginx.timeouts.send', withSpec({ nginx: { timeouts: { send: '1m30s' } } })),
    api('a negative timeout', 'spec.nginx.timeouts.connect', withSpec({ nginx: { timeouts: { connect: '-5s' } } })),
    api('a body size in terabytes', 'spec.nginx.clientMaxBodySize', withSpec({ nginx: { clientMaxBodySize: '1t' } })),
    api(
      'a body size of 7 digits',
      'spec.nginx.clientMaxBodySize',
      withSpec({ nginx: { clientMaxBodySize: '1000000' } }),
    ),
    api(
      'a Secret name of 64 characters',
      'spec.tls.secretName',
      withSpec({ tls: { mode: 'secret', secretName: label(64) } }),
    ),
    api(
      'an upper-case Secret name',
      'spec.tls.secretName',
      withSpec({ tls: { mode: 'secret', secretName: 'Frontend-TLS' } }),
    ),
    api(
      'a Secret name with a dot',
      'spec.backendTLS.caSecretName',
      withSpec({ backendTLS: { verify: true, caSecretName: 'nodes.ca' } }),
    ),
    api('a node name of 64 characters', 'spec.backends.external.nodes[0].name', {
      ...external(),
      backends: { external: { nodes: [node(label(64), ['all-in-one'])] } },
    }),
    api('an unknown role', 'spec.backends.external.nodes[0].roles[0]', {
      ...external(),
      backends: { external: { nodes: [node('node-1', ['load-balancer'])] } },
    }),
    api('an image with upper-case letters', 'spec.nginx.image', withSpec({ nginx: { image: 'NGINX:1.30' } })),
    api('an image with a short digest', 'spec.nginx.image', withSpec({ nginx: { image: 'nginx@sha256:abc' } })),
    api('an image reference of 513 characters', 'spec.backends.managed.image', managed({ image: `r/${label(511)}` })),
    api(
      'a CPU request in words',
      'spec.backends.managed.components.all-in-one.resources.requests.cpu',
      component({ resources: { requests: { cpu: 'two' } } }),
    ),
    api(
      'a negative memory limit',
      'spec.backends.managed.components.all-in-one.resources.limits.memory',
      component({ resources: { limits: { memory: '-1Gi' } } }),
    ),
    api(
      'an extra SAN of 254 characters',
      'spec.tls.extraSANs[0]',
      withSpec({ tls: { extraSANs: [hostOfLength(254)] } }),
    ),
    {
      ...api(
        'an extra SAN listed twice',
        'spec.tls.extraSANs[1]',
        withSpec({ tls: { extraSANs: ['localhost', 'localhost'] } }),
      ),
      serverField: 'spec.tls.extraSANs',
    },
    {
      ...api('a role listed twice on the second node', 'spec.backends.external.nodes[1].roles[1]', {
        ...external(),
        backends: {
          external: { nodes: [node('node-1', ['all-in-one']), node('node-2', ['all-in-one', 'all-in-one'])] },
        },
      }),
      serverField: 'spec.backends.external.nodes[name="node-2"].roles',
    },
    api(
      '17 extra SANs',
      'spec.tls.extraSANs',
      withSpec({ tls: { extraSANs: Array.from({ length: 17 }, (_, i) => `san-${i}.example.com`) } }),
    ),
    api(
      '65 external nodes',
      'spec.backends.external.nodes',
      withSpec({ backends: { external: { nodes: nodes(65) } } }),
    ),
    api('9 roles on one node', 'spec.backends.external.nodes[0].roles', {
      ...external(),
      backends: {
        external: {
          nodes: [
            node('node-1', [
              'all-in-one',
              'gateway-manager',
              'gateway-worker',
              'publisher',
              'store',
              'key-manager',
              'control-plane',
              'gateway',
              'traffic-manager',
            ]),
          ],
        },
      },
    }),
    api(
      '65 Service annotations',
      'spec.nginx.service.annotations',
      withSpec({ nginx: { service: { annotations: annotations(65, 1) } } }),
    ),
    api(
      'a Service annotation value of 4097 characters',
      'spec.nginx.service.annotations.example.com/a0',
      withSpec({ nginx: { service: { annotations: annotations(1, 4097) } } }),
    ),
    api('9 sites', 'spec.sites', withSpec({ sites: sites(9) })),
    api('an unknown spec field', 'spec.replicas', withSpec({ replicas: 3 })),
    api('a misspelt NGINX field', 'spec.nginx.replica', withSpec({ nginx: { replica: 2 } })),
    api(
      'an upper-case site host',
      'spec.sites.portal.host',
      withSpec({ sites: { portal: { host: 'Portal.Example.com' } } }),
    ),
    api(
      'a raw NGINX snippet (there is no such field)',
      'spec.nginx.configurationSnippet',
      withSpec({ nginx: { configurationSnippet: 'return 200;' } }),
    ),
    api(
      'an unknown site field',
      'spec.sites.portal.serverSnippet',
      withSpec({ sites: { portal: { serverSnippet: 'allow all;' } } }),
    ),
    api(
      'a private key pasted into the spec (there is no such field)',
      'spec.tls.key',
      withSpec({ tls: { key: 'PEM' } }),
    ),
    api('sites as a list', 'spec.sites', withSpec({ sites: [{ host: 'api.example.com' }] })),
    api('no pattern', 'spec.pattern', { product: 'api-manager', backends: { managed: {} } }),
    api('an empty node list', 'spec.backends.external.nodes', withSpec({ backends: { external: { nodes: [] } } })),
  ];
};

const celCases = (): CorpusCase[] => {
  const api = (name: string, field: string, spec: Spec): CorpusCase => ({ name, spec, field, by: 'api-server' });
  return [
    api('a Micro Integrator pattern on API Manager', 'spec.pattern', withSpec({ pattern: 'mi-cluster' })),
    api(
      'an Identity Server pattern on Enterprise Integrator',
      'spec.pattern',
      withSpec({ product: 'enterprise-integrator', pattern: 'is-pattern-1' }),
    ),
    api('a site key with a semicolon', 'spec.sites', withSpec({ sites: { 'portal;': { host: 'api.example.com' } } })),
    api(
      'a site key with a newline',
      'spec.sites',
      withSpec({ sites: { 'portal\nserver': { host: 'api.example.com' } } }),
    ),
    api(
      'a managed component key with a brace',
      'spec.backends.managed.components',
      managed({ components: { 'all-in-one}': { replicas: 1 } } }),
    ),
    api('a proxy buffer of 0 bytes', 'spec.nginx.proxyBufferSize', withSpec({ nginx: { proxyBufferSize: '0' } })),
    api('a proxy buffer of 1023 bytes', 'spec.nginx.proxyBufferSize', withSpec({ nginx: { proxyBufferSize: '1023' } })),
    api('a proxy buffer of 2 MiB', 'spec.nginx.proxyBufferSize', withSpec({ nginx: { proxyBufferSize: '2m' } })),
    api('a proxy buffer of a gigabyte', 'spec.nginx.proxyBufferSize', withSpec({ nginx: { proxyBufferSize: '1g' } })),
    api(
      'a CPU request above its limit',
      'spec.backends.managed.components[all-in-one].resources',
      managed({ components: { 'all-in-one': { resources: { requests: { cpu: '2' }, limits: { cpu: '1500m' } } } } }),
    ),
    api(
      'a GPU request',
      'spec.backends.managed.components[all-in-one].resources',
      managed({ components: { 'all-in-one': { resources: { requests: { 'nvidia.com/gpu': '1' } } } } }),
    ),
    api(
      'a Service annotation key with a space',
      'spec.nginx.service.annotations',
      withSpec({ nginx: { service: { annotations: { 'load balancer': 'nlb' } } } }),
    ),
    api(
      'a Service annotation key of 64 characters after the prefix',
      'spec.nginx.service.annotations',
      withSpec({ nginx: { service: { annotations: { [`example.com/${label(64)}`]: 'x' } } } }),
    ),
    api(
      'Service annotations of more than 256 KiB together',
      'spec.nginx.service.annotations',
      withSpec({ nginx: { service: { annotations: annotations(64, 4096) } } }),
    ),
    api('a pinned node on a pattern without external nodes', 'spec.sites', {
      ...eiCluster(),
      sites: { management: { pinnedNode: 'node-1' } },
      backends: { managed: {} },
    }),
    api('two sites with the same explicit host on Identity Server', 'spec.sites', {
      product: 'identity-server',
      pattern: 'is-pattern-1',
      sites: { management: { host: 'is.example.com' }, identity: { host: 'is.example.com' } },
      backends: { managed: {} },
    }),
    api('a node with a role of another pattern on ei-cluster', 'spec.backends.external.nodes', {
      ...eiCluster(),
      backends: { external: { nodes: [node('node-1', ['integrator', 'gateway'])] } },
    }),
    api(
      'apim-ha-gateway without a gateway manager',
      'spec.backends.external.nodes',
      withSpec({ pattern: 'apim-ha-gateway', backends: { external: { nodes: [node('w', ['gateway-worker'])] } } }),
    ),
    api(
      'client-IP affinity with cookie settings',
      'spec.sites[gateway].sessionAffinity',
      withSpec({ sites: { gateway: { sessionAffinity: { mode: 'client-ip', cookie: { path: '/' } } } } }),
    ),
    api(
      'no affinity with cookie settings',
      'spec.sites[portal].sessionAffinity',
      withSpec({ sites: { portal: { sessionAffinity: { mode: 'none', cookie: { name: 'X' } } } } }),
    ),
    api('an IPv4 node address with leading zeros in the last octet', 'spec.backends.external.nodes[1].address', {
      ...external(),
      backends: {
        external: { nodes: [node('node-1', ['all-in-one']), node('node-2', ['all-in-one'], '192.0.2.011')] },
      },
    }),
  ];
};

const semanticCases = (): CorpusCase[] => {
  const op = (name: string, field: string, spec: Spec): CorpusCase => ({ name, spec, field, by: 'operator' });
  const san = (name: string, value: string) =>
    op(name, 'spec.tls.extraSANs[0]', withSpec({ tls: { extraSANs: [value] } }));
  return [
    san('an upper-case extra SAN', 'LOCALHOST'),
    san('a bare wildcard SAN', '*'),
    san('a double wildcard SAN', '*.*.example.com'),
    san('a wildcard SAN with nothing after it', '*.'),
    san('a wildcard in the middle of a SAN', 'api.*.example.com'),
    san('a SAN with an empty label', 'api..example.com'),
    san('a SAN of colons that is no IP address', ':::'),
    san('a SAN label ending with a hyphen', 'api-.example.com'),
    san('a SAN starting with a dot', '.example.com'),
    op('API Manager 3.2 with the 4.x distributed layout (managed pods)', 'spec.version', {
      product: 'api-manager',
      pattern: 'apim-distributed',
      version: '3.2.0',
      backends: { managed: {} },
    }),
    op('the portal given the gateway default host on managed backends', 'spec.sites.portal.host', {
      ...managed({}),
      sites: { portal: { host: 'gw.am.wso2.com' } },
    }),
    op('HTTP proxying on the Micro Integrator management site with managed pods', 'spec.sites.management.http', {
      product: 'micro-integrator',
      pattern: 'mi-cluster',
      sites: { management: { http: 'proxy' } },
      backends: { managed: {} },
    }),
    op('a pinned node on a site of apim-single, which pins none', 'spec.sites.portal.pinnedNode', {
      product: 'api-manager',
      pattern: 'apim-single',
      sites: { portal: { pinnedNode: 'node-1' } },
      backends: { external: { nodes: [node('node-1', ['all-in-one'])] } },
    }),
  ];
};

const hugeCases = (): CorpusCase[] => [
  {
    name: 'an annotation of 1 MiB on the resource',
    spec: external(),
    annotations: { 'example.com/notes': label(1024 * 1024) },
    field: 'metadata.annotations',
    by: 'api-server',
  },
  { name: '1000 sites', spec: withSpec({ sites: sites(1000) }), field: 'spec.sites', by: 'api-server' },
  {
    name: '1000 external nodes',
    spec: withSpec({ backends: { external: { nodes: nodes(1000) } } }),
    field: 'spec.backends.external.nodes',
    by: 'api-server',
  },
  {
    name: '1000 extra SANs',
    spec: withSpec({ tls: { extraSANs: Array.from({ length: 1000 }, (_, i) => `h${i}.example.com`) } }),
    field: 'spec.tls.extraSANs',
    by: 'api-server',
  },
  {
    name: '1000 Service annotations',
    spec: withSpec({ nginx: { service: { annotations: annotations(1000, 100) } } }),
    field: 'spec.nginx.service.annotations',
    by: 'api-server',
  },
];

export function invalidResources(): CorpusCase[] {
  return [
    ...hostileStringCases(),
    ...hostCases(),
    ...addressCases(),
    ...boundCases(),
    ...celCases(),
    ...semanticCases(),
    ...hugeCases(),
  ];
}

/** Specs just inside each bound and the valid forms of the hostile cases: both validations accept them. */
export function acceptedResources(): { name: string; spec: Spec }[] {
  const host = (name: string, value: string) => ({ name, spec: withSpec({ sites: { portal: { host: value } } }) });
  const address = (name: string, value: string) => {
    const spec = external();
    (spec.backends as { external: { nodes: Spec[] } }).external.nodes[0]!.address = value;
    return { name, spec };
  };
  return [
    ...validStringControls(),
    host('a host of 253 characters', hostOfLength(253)),
    host('a host with a 63-character label', `${label(63)}.example.com`),
    host('an internationalised host in punycode', 'xn--bcher-kva.example.com'),
    host('a one-label host', 'portal'),
    address('an IPv6 node address', '2001:db8::1'),
    address('an IPv4 node address', '198.51.100.7'),
    address('a node address of 253 characters', hostOfLength(253)),
    { name: 'ports 1 and 65535', spec: withSpec({ ports: { http: 1, https: 65535 } }) },
    {
      name: 'a port offset of 1000',
      spec: {
        ...external(),
        backends: { external: { nodes: [{ ...node('node-1', ['all-in-one']), portOffset: 1000 }] } },
      },
    },
    { name: '20 NGINX replicas', spec: withSpec({ nginx: { replicas: 20 } }) },
    { name: 'an HSTS max-age of two years', spec: withSpec({ nginx: { hsts: { maxAgeSeconds: 63072000 } } }) },
    { name: 'a proxy buffer of 1k', spec: withSpec({ nginx: { proxyBufferSize: '1k' } }) },
    { name: 'a proxy buffer of 1m', spec: withSpec({ nginx: { proxyBufferSize: '1m' } }) },
    {
      name: '16 extra SANs with a wildcard and IPv6',
      spec: withSpec({
        tls: { extraSANs: ['*.example.com', '::1', ...Array.from({ length: 14 }, (_, i) => `san-${i}.example.com`)] },
      }),
    },
    { name: '64 external nodes', spec: withSpec({ backends: { external: { nodes: nodes(64) } } }) },
    {
      name: '64 Service annotations of 4000 characters (256,000 bytes with the keys)',
      spec: withSpec({ nginx: { service: { annotations: annotations(64, 4000) } } }),
    },
    {
      name: 'a cookie name of 64 characters',
      spec: withSpec({ sites: { portal: { sessionAffinity: { mode: 'cookie', cookie: { name: label(64, 'C') } } } } }),
    },
  ];
}
