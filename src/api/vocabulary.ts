// The names the Wso2Frontend API accepts: products, deployment patterns, roles, and the modes of
// a site. The schema takes its enums from here; what each name means is the model's
// (src/model/catalog.ts), which imports these, never the other way round.

export const PRODUCTS = ['api-manager', 'identity-server', 'enterprise-integrator', 'micro-integrator'] as const;
export type Product = (typeof PRODUCTS)[number];

export const PATTERNS = [
  'apim-single',
  'apim-active-active',
  'apim-ha-gateway',
  'apim-ha-publisher',
  'apim-ha-store',
  'apim-ha-key-manager',
  'apim-distributed',
  'is-pattern-1',
  'ei-cluster',
  'mi-cluster',
] as const;
export type PatternName = (typeof PATTERNS)[number];

export const ROLES = [
  'all-in-one',
  'gateway-manager',
  'gateway-worker',
  'publisher',
  'store',
  'key-manager',
  'control-plane',
  'gateway',
  'traffic-manager',
  'worker',
  'manager',
  'integrator',
  'micro-integrator',
] as const;
export type Role = (typeof ROLES)[number];

export const AFFINITY_MODES = ['none', 'client-ip', 'cookie', 'nginx-plus-sticky'] as const;
export type AffinityMode = (typeof AFFINITY_MODES)[number];

/** What plain HTTP on a public host does: redirect to HTTPS, proxy to the node's HTTP port, or nothing. */
export const HTTP_MODES = ['redirect', 'proxy', 'off'] as const;
export type HttpMode = (typeof HTTP_MODES)[number];
