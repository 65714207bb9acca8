// Cross-field rules of the Wso2Frontend API. Each rule is written twice, side by side: as CEL,
// which the CRD carries so the API server rejects a bad resource at `kubectl apply`, and as
// TypeScript, so that `wso2-frontend render` and the operator reject it with the same message
// when no API server checked it. Which patterns, roles and sites exist is the model's knowledge
// (src/model/catalog.ts), passed in as PatternShapes, so neither copy can fall behind the presets
// and the API never imports the model. The invalid-resource corpus tests hold the two together.
import { isCanonicalIp } from './addresses.js';
import { compareQuantities, isQuantity } from './quantity.js';
import { DNS_LABEL, DNS_SUBDOMAIN, KEY_SIZES, SIZE, type Wso2FrontendSpec } from './schema.js';
import { PATTERNS, PRODUCTS, type PatternName, type Product, type Role } from './vocabulary.js';

/** What the rules need to know of the presets. */
export interface PatternShapes {
  patternsOf: (product: Product) => readonly PatternName[];
  rolesOf: (pattern: PatternName) => readonly Role[];
  sitesOf: (pattern: PatternName) => readonly string[];
}

/** Where in the schema a rule is attached; `self` in its CEL is the object at that place. */
export type RuleScope =
  | 'spec'
  | 'backends'
  | 'node'
  | 'resources'
  | 'serviceAnnotations'
  | 'tls'
  | 'backendTLS'
  | 'sessionAffinity'
  | 'cookie';

export interface CrossFieldRule<T> {
  scope: RuleScope;
  /** The field the error is reported on, relative to the scope (CEL `fieldPath`). */
  fieldPath?: string;
  cel: string;
  /** A CEL string expression for the message, when it depends on the values. */
  celMessage: string;
  /** The TypeScript twin: undefined when the rule holds, else exactly the CEL message. */
  check: (self: T) => string | undefined;
}

type Spec = Wso2FrontendSpec;
type Backends = Spec['backends'];
type ExternalNode = NonNullable<Backends['external']>['nodes'][number];
type Resources = NonNullable<NonNullable<NonNullable<Backends['managed']>['components']>[string]['resources']>;
type Annotations = Record<string, string>;
type Tls = NonNullable<Spec['tls']>;
type BackendTls = NonNullable<Spec['backendTLS']>;
type SiteOverrides = NonNullable<Spec['sites']>;
type Affinity = NonNullable<SiteOverrides[string]['sessionAffinity']>;
type Cookie = NonNullable<Affinity['cookie']>;

const quote = (s: string) => `'${s}'`;
const celList = (items: readonly string[]) => `[${items.map(quote).join(', ')}]`;

/** A CEL expression choosing a list by the value of `key` (a nested conditional). */
function celListBy<K extends string>(key: string, keys: readonly K[], listOf: (k: K) => readonly string[]): string {
  return keys.reduceRight((otherwise, k) => `(${key} == ${quote(k)} ? ${celList(listOf(k))} : ${otherwise})`, '[]');
}

/** A CEL expression choosing a string literal by the value of `key`. */
function celStringBy<K extends string>(key: string, keys: readonly K[], textOf: (k: K) => string): string {
  return keys.reduceRight((otherwise, k) => `(${key} == ${quote(k)} ? ${quote(textOf(k))} : ${otherwise})`, "''");
}

const SIZE_UNITS = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as const;
/** An NGINX size (16k, 1m, 512) in bytes. */
const sizeBytes = (size: string) => {
  const unit = size.at(-1) as keyof typeof SIZE_UNITS;
  return unit in SIZE_UNITS ? Number(size.slice(0, -1)) * SIZE_UNITS[unit] : Number(size);
};
/** The same in CEL, for a string that matches SIZE. */
const celSizeBytes = (x: string) =>
  Object.entries(SIZE_UNITS).reduceRight<string>(
    (otherwise, [unit, bytes]) =>
      `(${x}.endsWith('${unit}') ? int(${x}.substring(0, size(${x}) - 1)) * ${bytes} : ${otherwise})`,
    `int(${x})`,
  );
// proxy_buffer_size, and 8 proxy_buffers of the same size per connection: NGINX refuses 0, and a
// megabyte per buffer is already far more than any WSO2 response header needs.
const PROXY_BUFFER_BYTES = { min: 1024, max: 1024 ** 2 };
const PROXY_BUFFER_MESSAGE =
  'must be from 1k to 1m: it sizes proxy_buffer_size and the 8 proxy_buffers of every connection';

const proxyBufferRule: CrossFieldRule<Spec> = {
  scope: 'spec',
  fieldPath: '.nginx.proxyBufferSize',
  cel: `!has(self.nginx) || !has(self.nginx.proxyBufferSize) || !self.nginx.proxyBufferSize.matches(r'${SIZE}') || (${celSizeBytes('self.nginx.proxyBufferSize')} >= ${PROXY_BUFFER_BYTES.min} && ${celSizeBytes('self.nginx.proxyBufferSize')} <= ${PROXY_BUFFER_BYTES.max})`,
  celMessage: `'${PROXY_BUFFER_MESSAGE}'`,
  check: (s) => {
    const size = s.nginx?.proxyBufferSize;
    if (size === undefined || !new RegExp(SIZE).test(size)) return undefined;
    const bytes = sizeBytes(size);
    return bytes >= PROXY_BUFFER_BYTES.min && bytes <= PROXY_BUFFER_BYTES.max ? undefined : PROXY_BUFFER_MESSAGE;
  },
};

// A resolver reads a name that ends in a numeric label as an IPv4 address in one of its legacy
// forms (1.2.3 is 1.2.0.3, 2130706433 and 0x7f.0.0.1 are 127.0.0.1, 010.0.0.1 is 8.0.0.1), and
// no DNS name ends that way (RFC 1123 2.1): such a name must be a canonical dotted quad instead.
const NUMERIC_LAST_LABEL = '(^|[.])([0-9]+|0[xX][0-9a-fA-F]*)$';
const ADDRESS_MESSAGE =
  'must be an IPv4 address as four decimal numbers without leading zeros (for example 192.0.2.10), an IPv6 address, or a lower-case RFC 1123 DNS name that does not end in a number';
// What users write instead, each answered with how to write it.
const WITH_PORT = '^[^:]+:[0-9]+$';
const WITH_PORT_MESSAGE =
  'must be the address alone, without a port: the ports come from the pattern (for example 9443), and portOffset shifts them all';
const IPV4_MAPPED = '^::[fF]{4}:[0-9]{1,3}([.][0-9]{1,3}){3}$';
const IPV4_MAPPED_MESSAGE =
  'an IPv4-mapped IPv6 address is refused, as Kubernetes refuses it as an IP address; write the IPv4 address itself: ';

const PIN_MESSAGE = 'names no node in spec.backends.external.nodes';

const nodeRules: CrossFieldRule<ExternalNode>[] = [
  {
    scope: 'node',
    fieldPath: '.address',
    cel: `isIP(self.address) || (self.address.matches(r'${DNS_SUBDOMAIN}') && !self.address.matches(r'${NUMERIC_LAST_LABEL}'))`,
    celMessage: `self.address.matches(r'${WITH_PORT}') ? '${WITH_PORT_MESSAGE}' : self.address.matches(r'${IPV4_MAPPED}') ? '${IPV4_MAPPED_MESSAGE}' + self.address.substring(7) : '${ADDRESS_MESSAGE}'`,
    check: (n) => {
      if (
        isCanonicalIp(n.address) ||
        (new RegExp(DNS_SUBDOMAIN).test(n.address) && !new RegExp(NUMERIC_LAST_LABEL).test(n.address))
      )
        return undefined;
      if (new RegExp(WITH_PORT).test(n.address)) return WITH_PORT_MESSAGE;
      if (new RegExp(IPV4_MAPPED).test(n.address)) return `${IPV4_MAPPED_MESSAGE}${n.address.slice(7)}`;
      return ADDRESS_MESSAGE;
    },
  },
];

// What the API server checks on a container's resources and a Service's annotations, so that a
// resource it stores can never fail at the owned objects after the operator accepted it.
const RESOURCE_NAMES = ['cpu', 'memory', 'ephemeral-storage'];
const RESOURCE_NAMES_MESSAGE = `resource names must be ${RESOURCE_NAMES.join(', ')}`;
const REQUESTS_MESSAGE = 'requests may not be greater than the limits of the same resource';

const resourcesRules: CrossFieldRule<Resources>[] = [
  {
    scope: 'resources',
    cel: `${['requests', 'limits'].map((m) => `(!has(self.${m}) || self.${m}.all(k, k in ${celList(RESOURCE_NAMES)}))`).join(' && ')}`,
    celMessage: `'${RESOURCE_NAMES_MESSAGE}'`,
    check: (r) =>
      [r.requests, r.limits].every((m) => Object.keys(m ?? {}).every((k) => RESOURCE_NAMES.includes(k)))
        ? undefined
        : RESOURCE_NAMES_MESSAGE,
  },
  {
    scope: 'resources',
    cel: '!has(self.requests) || !has(self.limits) || self.requests.all(k, !(k in self.limits) || !isQuantity(self.requests[k]) || !isQuantity(self.limits[k]) || quantity(self.requests[k]).compareTo(quantity(self.limits[k])) <= 0)',
    celMessage: `'${REQUESTS_MESSAGE}'`,
    check: ({ requests = {}, limits = {} }) =>
      Object.entries(requests).every(
        ([k, request]) =>
          limits[k] === undefined ||
          !isQuantity(request) ||
          !isQuantity(limits[k]) ||
          compareQuantities(request, limits[k]) <= 0,
      )
        ? undefined
        : REQUESTS_MESSAGE,
  },
];

/** An annotation key: an optional DNS subdomain prefix (at most 253 characters) and "/", then a name of at most 63. */
const ANNOTATION_KEY =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';
const ANNOTATION_KEY_MESSAGE =
  'annotation keys must be an optional DNS subdomain prefix and "/", then at most 63 letters, digits, "-", "_" or ".", beginning and ending with a letter or digit';
/** The API server's limit on all annotations of an object together, keys and values, in bytes. */
const ANNOTATIONS_MAX_BYTES = 256 * 1024;
const ANNOTATIONS_SIZE_MESSAGE = `the annotations may have at most ${ANNOTATIONS_MAX_BYTES} bytes in total, keys and values`;
const utf8Bytes = (text: string) => Buffer.byteLength(text, 'utf8');

const serviceAnnotationsRules: CrossFieldRule<Annotations>[] = [
  {
    scope: 'serviceAnnotations',
    cel: `self.all(k, k.matches(r'${ANNOTATION_KEY}') && (!k.contains('/') || k.indexOf('/') <= 253))`,
    celMessage: `'${ANNOTATION_KEY_MESSAGE}'`,
    check: (a) =>
      Object.keys(a).every((k) => new RegExp(ANNOTATION_KEY).test(k) && (!k.includes('/') || k.indexOf('/') <= 253))
        ? undefined
        : ANNOTATION_KEY_MESSAGE,
  },
  {
    scope: 'serviceAnnotations',
    cel: `self.map(k, size(bytes(k)) + size(bytes(self[k]))).sum() <= ${ANNOTATIONS_MAX_BYTES}`,
    celMessage: `'${ANNOTATIONS_SIZE_MESSAGE}'`,
    check: (a) =>
      Object.entries(a).reduce((total, [k, v]) => total + utf8Bytes(k) + utf8Bytes(v), 0) <= ANNOTATIONS_MAX_BYTES
        ? undefined
        : ANNOTATIONS_SIZE_MESSAGE,
  },
];

/** Every cross-field rule, by the place in the schema it is attached to. */
export function crossFieldRules({
  patternsOf,
  rolesOf,
  sitesOf,
}: PatternShapes): Record<RuleScope, CrossFieldRule<never>[]> {
  const patternSites = celListBy('self.pattern', PATTERNS, sitesOf);
  const patternRoles = celListBy('self.pattern', PATTERNS, rolesOf);
  const productPatterns = celListBy('self.product', PRODUCTS, patternsOf);
  // Message parts are static strings picked by a conditional: joining lists of map keys or
  // unbounded strings costs more than the API server's CEL budget allows.
  const patternSitesText = celStringBy('self.pattern', PATTERNS, (p) => sitesOf(p).join(', '));
  const patternRolesText = celStringBy('self.pattern', PATTERNS, (p) => rolesOf(p).join(', '));
  const productPatternsText = celStringBy('self.product', PRODUCTS, (p) => patternsOf(p).join(', '));

  const allSites = [...new Set(PATTERNS.flatMap((p) => sitesOf(p)))];
  const celPinMissing = (site: string) =>
    `has(self.sites) && '${site}' in self.sites && has(self.sites['${site}'].pinnedNode) && !(has(self.backends.external) && self.backends.external.nodes.exists(n, n.name == self.sites['${site}'].pinnedNode))`;
  const sitesWith = (sites: SiteOverrides | undefined, has: (site: SiteOverrides[string]) => boolean) =>
    Object.keys(sites ?? {}).filter((k) => has(sites![k]!));

  const specRules: CrossFieldRule<Spec>[] = [
    {
      scope: 'spec',
      fieldPath: '.pattern',
      cel: `self.pattern in ${productPatterns}`,
      celMessage: `'pattern ' + self.pattern + ' is not a pattern of product ' + self.product + '; its patterns are: ' + ${productPatternsText}`,
      check: (s) =>
        patternsOf(s.product).includes(s.pattern)
          ? undefined
          : `pattern ${s.pattern} is not a pattern of product ${s.product}; its patterns are: ${patternsOf(s.product).join(', ')}`,
    },
    {
      scope: 'spec',
      fieldPath: '.sites',
      cel: `!has(self.sites) || self.sites.all(k, k in ${patternSites})`,
      celMessage: `'pattern ' + self.pattern + ' has only the sites ' + ${patternSitesText}`,
      check: (s) => {
        const known = sitesOf(s.pattern);
        return Object.keys(s.sites ?? {}).every((k) => known.includes(k))
          ? undefined
          : `pattern ${s.pattern} has only the sites ${known.join(', ')}`;
      },
    },
    {
      scope: 'spec',
      fieldPath: '.sites',
      cel: `!has(self.sites) || self.sites.all(a, self.sites.all(b, a == b || !has(self.sites[a].host) || !has(self.sites[b].host) || self.sites[a].host != self.sites[b].host))`,
      celMessage: `'two sites have the same host; every site needs its own host name'`,
      check: (s) => {
        const hosts = Object.values(s.sites ?? {}).flatMap((site) => (site.host ? [site.host] : []));
        return new Set(hosts).size === hosts.length
          ? undefined
          : 'two sites have the same host; every site needs its own host name';
      },
    },
    {
      scope: 'spec',
      fieldPath: '.backends.external.nodes',
      cel: `!has(self.backends.external) || ${patternRoles}.all(r, self.backends.external.nodes.exists(n, r in n.roles))`,
      celMessage: `'pattern ' + self.pattern + ' needs at least one node for each of its roles: ' + ${patternRolesText}`,
      check: (s) => {
        const nodes = s.backends.external?.nodes;
        const roles = rolesOf(s.pattern);
        return !nodes || roles.every((r) => nodes.some((n) => n.roles.includes(r)))
          ? undefined
          : `pattern ${s.pattern} needs at least one node for each of its roles: ${roles.join(', ')}`;
      },
    },
    {
      scope: 'spec',
      fieldPath: '.backends.external.nodes',
      cel: `!has(self.backends.external) || self.backends.external.nodes.all(n, n.roles.all(r, r in ${patternRoles}))`,
      celMessage: `'node roles must be roles of pattern ' + self.pattern + ': ' + ${patternRolesText}`,
      check: (s) => {
        const roles: readonly string[] = rolesOf(s.pattern);
        return (s.backends.external?.nodes ?? []).every((n) => n.roles.every((r) => roles.includes(r)))
          ? undefined
          : `node roles must be roles of pattern ${s.pattern}: ${roles.join(', ')}`;
      },
    },
    {
      scope: 'spec',
      fieldPath: '.backends.managed.components',
      cel: `!has(self.backends.managed) || !has(self.backends.managed.components) || self.backends.managed.components.all(k, k in ${patternRoles})`,
      celMessage: `'components must be roles of pattern ' + self.pattern + ': ' + ${patternRolesText}`,
      check: (s) => {
        const roles: readonly string[] = rolesOf(s.pattern);
        return Object.keys(s.backends.managed?.components ?? {}).every((k) => roles.includes(k))
          ? undefined
          : `components must be roles of pattern ${s.pattern}: ${roles.join(', ')}`;
      },
    },
    {
      scope: 'spec',
      fieldPath: '.sites',
      cel: `!has(self.sites) || self.sites.all(k, !has(self.sites[k].pinnedNode) || (has(self.backends.external) && self.backends.external.nodes.exists(n, n.name == self.sites[k].pinnedNode)))`,
      // Names the first such site of a fixed order (every pattern's sites) and its value: a
      // conditional per site name, as joining map keys costs more than the CEL budget allows.
      celMessage: allSites.reduceRight(
        (otherwise, site) =>
          `(${celPinMissing(site)} ? 'site ${site}: pinnedNode ' + (self.sites['${site}'].pinnedNode.matches(r'${DNS_LABEL}') ? '"' + self.sites['${site}'].pinnedNode + '"' : '(not a node name)') + ' ${PIN_MESSAGE}' : ${otherwise})`,
        `'pinnedNode ${PIN_MESSAGE}'`,
      ),
      check: (s) => {
        const names = (s.backends.external?.nodes ?? []).map((n) => n.name);
        const bad = sitesWith(s.sites, (site) => site.pinnedNode !== undefined && !names.includes(site.pinnedNode));
        if (!bad.length) return undefined;
        const site = allSites.find((name) => bad.includes(name));
        if (site === undefined) return `pinnedNode ${PIN_MESSAGE}`;
        const value = s.sites![site]!.pinnedNode!;
        return `site ${site}: pinnedNode ${new RegExp(DNS_LABEL).test(value) ? `"${value}"` : '(not a node name)'} ${PIN_MESSAGE}`;
      },
    },
    {
      scope: 'spec',
      fieldPath: '.sites',
      cel: `!has(self.sites) || !self.sites.exists(k, has(self.sites[k].tlsSecretName)) || (has(self.tls) && has(self.tls.mode) && self.tls.mode == 'secret')`,
      celMessage: `'tlsSecretName needs spec.tls.mode: secret'`,
      check: (s) =>
        sitesWith(s.sites, (site) => site.tlsSecretName !== undefined).length && s.tls?.mode !== 'secret'
          ? 'tlsSecretName needs spec.tls.mode: secret'
          : undefined,
    },
    {
      scope: 'spec',
      fieldPath: '.nginx.edition',
      cel: `!has(self.sites) || !self.sites.exists(k, has(self.sites[k].sessionAffinity) && self.sites[k].sessionAffinity.mode == 'nginx-plus-sticky') || (has(self.nginx) && has(self.nginx.edition) && self.nginx.edition == 'plus')`,
      celMessage: `'session affinity nginx-plus-sticky needs spec.nginx.edition: plus; on community NGINX use cookie or client-ip'`,
      check: (s) =>
        sitesWith(s.sites, (site) => site.sessionAffinity?.mode === 'nginx-plus-sticky').length &&
        s.nginx?.edition !== 'plus'
          ? 'session affinity nginx-plus-sticky needs spec.nginx.edition: plus; on community NGINX use cookie or client-ip'
          : undefined,
    },
    {
      scope: 'spec',
      fieldPath: '.ports',
      cel: `!has(self.ports) || !has(self.ports.http) || !has(self.ports.https) || self.ports.http != self.ports.https`,
      celMessage: `'http and https must be different ports'`,
      check: (s) =>
        s.ports?.http !== undefined && s.ports.http === s.ports.https
          ? 'http and https must be different ports'
          : undefined,
    },
    {
      scope: 'spec',
      fieldPath: '.probes.timeoutSeconds',
      cel: `!has(self.probes) || !has(self.probes.timeoutSeconds) || !has(self.probes.intervalSeconds) || self.probes.timeoutSeconds < self.probes.intervalSeconds`,
      celMessage: `'timeoutSeconds must be less than intervalSeconds, so a probe ends before the next one starts'`,
      check: (s) =>
        s.probes?.timeoutSeconds !== undefined &&
        s.probes.intervalSeconds !== undefined &&
        s.probes.timeoutSeconds >= s.probes.intervalSeconds
          ? 'timeoutSeconds must be less than intervalSeconds, so a probe ends before the next one starts'
          : undefined,
    },
    proxyBufferRule,
  ];

  const backendsRules: CrossFieldRule<Backends>[] = [
    {
      scope: 'backends',
      cel: 'has(self.external) != has(self.managed)',
      celMessage: `'set exactly one of external (nodes outside the cluster) or managed (pods the operator runs)'`,
      check: (b) =>
        (b.external === undefined) === (b.managed === undefined)
          ? 'set exactly one of external (nodes outside the cluster) or managed (pods the operator runs)'
          : undefined,
    },
  ];

  const tlsRules: CrossFieldRule<Tls>[] = [
    {
      scope: 'tls',
      cel: `!has(self.mode) || self.mode != 'secret' || has(self.secretName)`,
      celMessage: `'mode secret needs secretName: the kubernetes.io/tls Secret for hosts without their own tlsSecretName'`,
      check: (t) =>
        t.mode === 'secret' && t.secretName === undefined
          ? 'mode secret needs secretName: the kubernetes.io/tls Secret for hosts without their own tlsSecretName'
          : undefined,
    },
    {
      scope: 'tls',
      cel: `!has(self.secretName) || (has(self.mode) && self.mode == 'secret')`,
      celMessage: `'secretName needs mode: secret (mode self-signed issues its own certificates)'`,
      check: (t) =>
        t.secretName !== undefined && t.mode !== 'secret'
          ? 'secretName needs mode: secret (mode self-signed issues its own certificates)'
          : undefined,
    },
  ];

  tlsRules.push(
    {
      scope: 'tls',
      cel: `!has(self.mode) || self.mode != 'issuer' || has(self.issuerRef)`,
      celMessage: `'mode issuer needs issuerRef: the cert-manager Issuer or ClusterIssuer that signs the certificates'`,
      check: (t) =>
        t.mode === 'issuer' && t.issuerRef === undefined
          ? 'mode issuer needs issuerRef: the cert-manager Issuer or ClusterIssuer that signs the certificates'
          : undefined,
    },
    {
      scope: 'tls',
      cel: `!has(self.issuerRef) || (has(self.mode) && self.mode == 'issuer')`,
      celMessage: `'issuerRef needs mode: issuer'`,
      check: (t) => (t.issuerRef !== undefined && t.mode !== 'issuer' ? 'issuerRef needs mode: issuer' : undefined),
    },
  );

  const keySizesMessage = `privateKey.size must be one of ${KEY_SIZES.RSA.join(', ')} for RSA, ${KEY_SIZES.ECDSA.join(' or ')} for ECDSA`;
  tlsRules.push({
    scope: 'tls',
    fieldPath: '.privateKey.size',
    cel: `!has(self.privateKey) || !has(self.privateKey.size) || ((has(self.privateKey.algorithm) && self.privateKey.algorithm == 'ECDSA') ? self.privateKey.size in [${KEY_SIZES.ECDSA.join(', ')}] : self.privateKey.size in [${KEY_SIZES.RSA.join(', ')}])`,
    celMessage: `'${keySizesMessage}'`,
    check: (t) => {
      const key = t.privateKey;
      if (key?.size === undefined) return undefined;
      const sizes: readonly number[] = KEY_SIZES[key.algorithm ?? 'RSA'];
      return sizes.includes(key.size) ? undefined : keySizesMessage;
    },
  });

  const backendTlsRules: CrossFieldRule<BackendTls>[] = [
    {
      scope: 'backendTLS',
      cel: '!has(self.verify) || !self.verify || has(self.caSecretName)',
      celMessage: `'verify: true needs caSecretName, the Secret whose ca.crt signs the nodes\\' certificates'`,
      check: (t) =>
        t.verify && t.caSecretName === undefined
          ? "verify: true needs caSecretName, the Secret whose ca.crt signs the nodes' certificates"
          : undefined,
    },
  ];

  const affinityRules: CrossFieldRule<Affinity>[] = [
    {
      scope: 'sessionAffinity',
      cel: `self.mode == 'cookie' || !has(self.cookie)`,
      celMessage: `'cookie settings apply to mode cookie only, not ' + self.mode`,
      check: (a) =>
        a.mode !== 'cookie' && a.cookie !== undefined
          ? `cookie settings apply to mode cookie only, not ${a.mode}`
          : undefined,
    },
  ];

  const cookieRules: CrossFieldRule<Cookie>[] = [
    {
      scope: 'cookie',
      cel: `!has(self.sameSite) || self.sameSite != 'None' || !has(self.secure) || self.secure`,
      celMessage: `'sameSite None needs secure: true (browsers drop the cookie otherwise)'`,
      check: (c) =>
        c.sameSite === 'None' && c.secure === false
          ? 'sameSite None needs secure: true (browsers drop the cookie otherwise)'
          : undefined,
    },
  ];

  return {
    spec: specRules,
    backends: backendsRules,
    node: nodeRules,
    resources: resourcesRules,
    serviceAnnotations: serviceAnnotationsRules,
    tls: tlsRules,
    backendTLS: backendTlsRules,
    sessionAffinity: affinityRules,
    cookie: cookieRules,
  };
}
