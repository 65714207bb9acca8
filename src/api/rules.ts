// Cross-field rules of the Wso2Frontend API. Each rule is written twice, side by side: as CEL,
// which the CRD carries so the API server rejects a bad resource at `kubectl apply`, and as
// TypeScript, so that `wso2-frontend render` and the operator reject it with the same message
// when no API server checked it. Which patterns, roles and sites exist is the model's knowledge
// (src/model/catalog.ts), passed in as PatternShapes, so neither copy can fall behind the presets
// and the API never imports the model. The invalid-resource corpus tests hold the two together.
import type { Wso2FrontendSpec } from './schema.js';
import { PATTERNS, PRODUCTS, type PatternName, type Product, type Role } from './vocabulary.js';

/** What the rules need to know of the presets. */
export interface PatternShapes {
  patternsOf(product: Product): readonly PatternName[];
  rolesOf(pattern: PatternName): readonly Role[];
  sitesOf(pattern: PatternName): readonly string[];
}

/** Where in the schema a rule is attached; `self` in its CEL is the object at that place. */
export type RuleScope = 'spec' | 'backends' | 'tls' | 'backendTLS' | 'sessionAffinity' | 'cookie';

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

  const sitesWith = (sites: SiteOverrides | undefined, has: (site: SiteOverrides[string]) => boolean) =>
    Object.keys(sites ?? {}).filter((k) => has(sites![k]!));

  const specRules: CrossFieldRule<Spec>[] = [
    {
      scope: 'spec',
      fieldPath: '.pattern',
      cel: `self.pattern in ${productPatterns}`,
      celMessage: `'pattern ' + self.pattern + ' is not a pattern of product ' + self.product + '; its patterns are: ' + ${productPatternsText}`,
      check: (s) =>
        patternsOf(s.product as Product).includes(s.pattern as PatternName)
          ? undefined
          : `pattern ${s.pattern} is not a pattern of product ${s.product}; its patterns are: ${patternsOf(s.product as Product).join(', ')}`,
    },
    {
      scope: 'spec',
      fieldPath: '.sites',
      cel: `!has(self.sites) || self.sites.all(k, k in ${patternSites})`,
      celMessage: `'pattern ' + self.pattern + ' has only the sites ' + ${patternSitesText}`,
      check: (s) => {
        const known = sitesOf(s.pattern as PatternName);
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
        const roles = rolesOf(s.pattern as PatternName);
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
        const roles: readonly string[] = rolesOf(s.pattern as PatternName);
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
        const roles: readonly string[] = rolesOf(s.pattern as PatternName);
        return Object.keys(s.backends.managed?.components ?? {}).every((k) => roles.includes(k))
          ? undefined
          : `components must be roles of pattern ${s.pattern}: ${roles.join(', ')}`;
      },
    },
    {
      scope: 'spec',
      fieldPath: '.sites',
      cel: `!has(self.sites) || self.sites.all(k, !has(self.sites[k].pinnedNode) || (has(self.backends.external) && self.backends.external.nodes.exists(n, n.name == self.sites[k].pinnedNode)))`,
      celMessage: `'pinnedNode must name a node in spec.backends.external.nodes'`,
      check: (s) => {
        const names = (s.backends.external?.nodes ?? []).map((n) => n.name);
        const bad = sitesWith(s.sites, (site) => site.pinnedNode !== undefined && !names.includes(site.pinnedNode));
        return bad.length ? 'pinnedNode must name a node in spec.backends.external.nodes' : undefined;
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
    tls: tlsRules,
    backendTLS: backendTlsRules,
    sessionAffinity: affinityRules,
    cookie: cookieRules,
  };
}
