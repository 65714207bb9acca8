// The Wso2Frontend API, v1alpha1. One TypeBox definition gives both the OpenAPI schema in the
// CRD (see src/render/crd.ts) and the TypeScript types (Static<...>), so they cannot drift.
// Defaults that do not depend on the pattern live here, so the API server and the offline
// `render` command apply the same ones; pattern-dependent defaults come from src/model.
import {
  Type,
  type Evaluate,
  type Static,
  type TArray,
  type TObject,
  type TOptional,
  type TProperties,
  type TRecord,
  type TSchema,
} from '@sinclair/typebox';
import { AFFINITY_MODES, HTTP_MODES, PATTERNS, PRODUCTS, ROLES } from './vocabulary.js';

export const API_GROUP = 'wso2-frontend.dev';
export const API_VERSION = 'v1alpha1';
export const KIND = 'Wso2Frontend';
export const PLURAL = 'wso2frontends';
export const SINGULAR = 'wso2frontend';
export const SHORT_NAMES = ['w2fe'];
export const CATEGORIES = ['wso2'];

/** RFC 1123 DNS subdomain: lower-case labels of letters, digits and '-', joined by '.'. */
export const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$';
/** RFC 1123 DNS label, as Kubernetes object names of Secrets and ConfigMaps allow. */
export const DNS_LABEL = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
/** One NGINX time value with one unit: 500ms, 60s, 5m, 1h, 7d. */
export const DURATION = '^[0-9]{1,6}(ms|s|m|h|d)$';
/** One NGINX size: bytes, or k/m/g. */
export const SIZE = '^[0-9]{1,6}[kmg]?$';

/** Marks an optional property whose schema has a default: users may leave it out, a defaulted spec always has it. */
const DefaultedKind: unique symbol = Symbol('Defaulted');
type TDefaulted<T extends TSchema> = TOptional<T> & { [DefaultedKind]: true };
function Defaulted<T extends TSchema>(schema: T): TDefaulted<T> {
  if (!('default' in schema)) throw new Error(`Defaulted needs a schema with a default: ${JSON.stringify(schema)}`);
  return Object.assign(Type.Optional(schema), { [DefaultedKind]: true as const }) as TDefaulted<T>;
}

/** The static type of a value after defaulting: Defaulted properties are present, other optional ones may not be. */
export type DefaultedStatic<T extends TSchema> =
  T extends TObject<infer P>
    ? DefaultedObject<P>
    : T extends TArray<infer I>
      ? DefaultedStatic<I>[]
      : T extends TRecord<TSchema, infer V>
        ? Record<string, DefaultedStatic<V>>
        : Static<T>;
type DefaultedObject<P extends TProperties> = Evaluate<
  {
    [
      K in keyof P as P[K] extends TOptional<TSchema> ? (P[K] extends TDefaulted<TSchema> ? K : never) : K
    ]: DefaultedStatic<P[K]>;
  } & {
    [
      K in keyof P as P[K] extends TOptional<TSchema> ? (P[K] extends TDefaulted<TSchema> ? never : K) : never
    ]?: DefaultedStatic<P[K]>;
  }
>;

const Enum = <T extends readonly string[]>(values: T, options: { description: string; default?: T[number] }) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  ) as unknown as TSchema & { static: T[number] };

// The pattern's own error shows only the expression; upper case is the usual slip, so the API
// server says so too (a static message: the value may hold anything the pattern refuses).
export const LOWER_CASE_MESSAGE = 'use lower case';
const HostName = (description: string) =>
  Type.String({
    description,
    minLength: 1,
    maxLength: 253,
    pattern: DNS_SUBDOMAIN,
    'x-kubernetes-validations': [{ rule: 'self == self.lowerAscii()', message: LOWER_CASE_MESSAGE }],
  });
const ObjectName = (description: string) =>
  Type.String({ description, minLength: 1, maxLength: 63, pattern: DNS_LABEL });
const Port = (description: string, defaultValue?: number) =>
  Type.Integer({
    description,
    minimum: 1,
    maximum: 65535,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
  });
const Duration = (description: string, defaultValue?: string) =>
  Type.String({
    description,
    maxLength: 8,
    pattern: DURATION,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
  });
const Size = (description: string, defaultValue: string) =>
  Type.String({ description, maxLength: 7, pattern: SIZE, default: defaultValue });
const StringMap = (description: string) =>
  Type.Record(Type.String(), Type.String({ maxLength: 4096 }), { description, maxProperties: 64 });
/** A container image reference: [registry[:port]/]path[:tag][@sha256:digest]. */
export const IMAGE =
  '^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$';
/** A Kubernetes resource quantity such as 500m, 2, 1.5, 2Gi. */
export const QUANTITY = '^[0-9]+(\\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$';
const Image = (description: string, defaultValue?: string) =>
  Type.String({
    description,
    minLength: 1,
    maxLength: 512,
    pattern: IMAGE,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
  });
const Quantities = (description: string) =>
  Type.Record(Type.String(), Type.String({ maxLength: 64, pattern: QUANTITY }), { description, maxProperties: 8 });

export const CookieSettings = Type.Object(
  {
    name: Defaulted(
      Type.String({
        description:
          'Name of the affinity cookie that NGINX issues on HTTPS (letters, digits and _); plain HTTP uses <name>_HTTP, without Secure.',
        minLength: 1,
        maxLength: 64,
        pattern: '^[A-Za-z0-9_]+$',
        default: 'WSO2FE_ROUTE',
      }),
    ),
    path: Defaulted(
      Type.String({ description: 'Cookie path.', maxLength: 256, pattern: '^/[A-Za-z0-9._~/-]*$', default: '/' }),
    ),
    secure: Defaulted(Type.Boolean({ description: 'Send the cookie over HTTPS only.', default: true })),
    sameSite: Type.Optional(
      Enum(['Strict', 'Lax', 'None'] as const, {
        description:
          'SameSite attribute of the cookie. Default: None for identity-server and api-manager (logins that end with a cross-site form POST to /commonauth need it), Lax otherwise. Plain HTTP gets Lax instead of None, which needs Secure.',
      }),
    ),
    maxAge: Type.Optional(Duration('Lifetime of the cookie; a session cookie when unset.')),
  },
  {
    description: 'The cookie NGINX issues on the first response for cookie affinity.',
    additionalProperties: false,
  },
);

export const SessionAffinity = Type.Object(
  {
    mode: Enum(AFFINITY_MODES, {
      description:
        'none; client-ip (ip_hash); cookie (NGINX sticky cookie naming the node that served the session last, the same in every replica; community NGINX 1.29.6+); nginx-plus-sticky (sticky learn on JSESSIONID, NGINX Plus only).',
    }),
    cookie: Type.Optional(CookieSettings),
  },
  {
    description: 'Session affinity for this site; the default follows the pattern (sticky where the product needs it).',
    additionalProperties: false,
  },
);

export const SiteOverride = Type.Object(
  {
    host: Type.Optional(HostName('Public host name (RFC 1123) of this site; the pattern gives a default.')),
    http: Type.Optional(
      Enum(HTTP_MODES, {
        description:
          "What plain HTTP on this host does: redirect (301 to HTTPS), proxy (to the node's HTTP port), or off.",
      }),
    ),
    sessionAffinity: Type.Optional(SessionAffinity),
    pinnedNode: Type.Optional(
      ObjectName('For a management site pinned to one node: the name of that node in spec.backends.external.nodes.'),
    ),
    tlsSecretName: Type.Optional(
      ObjectName('With spec.tls.mode secret: a kubernetes.io/tls Secret for this host instead of spec.tls.secretName.'),
    ),
  },
  { description: 'Overrides for one site of the pattern.', additionalProperties: false },
);

export const ExternalNode = Type.Object(
  {
    name: ObjectName('Name of the node, unique within the resource.'),
    address: Type.String({
      description: 'IPv4 or IPv6 address, or DNS name, of the node.',
      minLength: 1,
      maxLength: 253,
      pattern: '^[A-Za-z0-9.:-]+$',
    }),
    roles: Type.Array(Enum(ROLES, { description: 'A role of the pattern.' }), {
      description: 'The pattern roles this node serves.',
      minItems: 1,
      maxItems: 8,
      'x-kubernetes-list-type': 'set',
    }),
    portOffset: Defaulted(
      Type.Integer({
        description: "The node's WSO2 port offset (added to every product port).",
        minimum: 0,
        maximum: 1000,
        default: 0,
      }),
    ),
  },
  { additionalProperties: false },
);

export const ManagedComponent = Type.Object(
  {
    replicas: Type.Optional(
      Type.Integer({ description: 'Number of pods; the pattern gives a default.', minimum: 0, maximum: 50 }),
    ),
    image: Type.Optional(
      Image(
        "This role's product image, instead of spec.backends.managed.image. Default: the role's own image from API Manager 4.5 (wso2/wso2am-acp, wso2/wso2am-universal-gw, wso2/wso2am-tm), else wso2/<product>:<version>.",
      ),
    ),
    resources: Type.Optional(
      Type.Object(
        {
          requests: Type.Optional(Quantities('Resource requests (cpu, memory).')),
          limits: Type.Optional(Quantities('Resource limits (cpu, memory).')),
        },
        { description: 'Compute resources of the product container.', additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const Backends = Type.Object(
  {
    external: Type.Optional(
      Type.Object(
        {
          nodes: Type.Array(ExternalNode, {
            description: "The WSO2 nodes outside the cluster, as in WSO2's load-balancer documents.",
            minItems: 1,
            maxItems: 64,
            'x-kubernetes-list-type': 'map',
            'x-kubernetes-list-map-keys': ['name'],
          }),
        },
        { description: 'Nodes the operator does not run.', additionalProperties: false },
      ),
    ),
    managed: Type.Optional(
      Type.Object(
        {
          image: Type.Optional(
            Image(
              "Product image of every role without its own components.<role>.image; default wso2/<product>:<version>, or the role's own image (API Manager 4.5+ distributed).",
            ),
          ),
          components: Type.Optional(
            Type.Record(Type.String(), ManagedComponent, {
              description: 'Per role of the pattern: replicas, image and resources.',
              maxProperties: 8,
            }),
          ),
          configMapName: Type.Optional(
            ObjectName(
              "ConfigMap with your base product files (deployment.toml, Carbon 4 files, anything under the product home), laid over the image's own; keys are paths relative to the product home with '/' written as '__' (repository__conf__deployment.toml), or the bare name of a file the operator patches (deployment.toml). The operator sets only the keys the fronting owns in them; editing the ConfigMap rolls the WSO2 pods.",
            ),
          ),
          truststorePassword: Type.Optional(
            Type.Object(
              {
                secretName: ObjectName(
                  "Secret (in the resource's namespace) with the password of the product's client-truststore, where the init container adds the frontend's CA: the [truststore] password of your deployment.toml. Without it: wso2carbon, as WSO2 ships it.",
                ),
                key: Defaulted(
                  Type.String({
                    description: 'Key of that Secret holding the truststore password.',
                    minLength: 1,
                    maxLength: 253,
                    pattern: '^[-._a-zA-Z0-9]+$',
                    default: 'password',
                  }),
                ),
              },
              {
                description:
                  "The password of the product's client-truststore, where the WSO2 pods get the frontend's CA added (the [truststore] password of your deployment.toml). Default: wso2carbon, as WSO2 ships it. Read by the init container from the Secret; never in the pod spec, logs, status or Events.",
                additionalProperties: false,
              },
            ),
          ),
        },
        { description: 'The operator runs the WSO2 pods of the pattern.', additionalProperties: false },
      ),
    ),
  },
  { description: 'Where the WSO2 nodes are: exactly one of external or managed.', additionalProperties: false },
);

/** Key sizes by algorithm, as cert-manager's privateKey.size reads them (ECDSA: the curve's bits). */
export const KEY_SIZES = { RSA: [2048, 3072, 4096], ECDSA: [256, 384] } as const;
export const DEFAULT_KEY_SIZE = { RSA: 2048, ECDSA: 256 } as const;

// RSA by default: every TLS client takes it, including the old Java runtimes and IoT devices that
// call WSO2 gateways and key managers (some ship RSA-only TLS stacks); ECDSA P-256 costs a few
// milliseconds of operator CPU per frontend instead of tens and makes smaller handshakes.
export const PrivateKey = Type.Object(
  {
    algorithm: Defaulted(
      Enum(['RSA', 'ECDSA'] as const, {
        description:
          'Self-signed and issuer: the key algorithm of the certificates (self-signed: also of the CA). RSA works with every client (old Java, IoT devices); ECDSA is cheaper to issue and to handshake. Applies from the next certificate issued: a change never reissues one that is still valid.',
        default: 'RSA',
      }),
    ),
    size: Type.Optional(
      Type.Integer({
        description: `Key size: RSA ${KEY_SIZES.RSA.join(', ')} bits (default ${DEFAULT_KEY_SIZE.RSA}); ECDSA ${KEY_SIZES.ECDSA.join(' (P-256) or ')} (P-384) (default ${DEFAULT_KEY_SIZE.ECDSA}).`,
      }),
    ),
  },
  {
    description: "Self-signed and issuer: the private keys issued, as cert-manager's privateKey.",
    additionalProperties: false,
    default: {},
  },
);

/** The cert-manager API the issuer mode writes Certificates to. */
export const CERT_MANAGER_GROUP = 'cert-manager.io';

export const IssuerRef = Type.Object(
  {
    name: Type.String({
      description: "Name of the cert-manager Issuer (in the resource's namespace) or ClusterIssuer.",
      minLength: 1,
      maxLength: 253,
      pattern: DNS_SUBDOMAIN,
    }),
    kind: Defaulted(
      Enum(['Issuer', 'ClusterIssuer'] as const, {
        description: 'Issuer (namespaced, next to the resource) or ClusterIssuer.',
        default: 'Issuer',
      }),
    ),
    group: Defaulted(
      Type.String({
        description: `API group of the issuer: ${CERT_MANAGER_GROUP}, or an external issuer's group.`,
        minLength: 1,
        maxLength: 253,
        pattern: DNS_SUBDOMAIN,
        default: CERT_MANAGER_GROUP,
      }),
    ),
  },
  {
    description:
      "With mode issuer: the cert-manager issuer that signs the certificates, as cert-manager's issuerRef (cert-manager.io/cluster-issuer on an Ingress).",
    additionalProperties: false,
  },
);

export const Tls = Type.Object(
  {
    mode: Defaulted(
      Enum(['self-signed', 'secret', 'issuer'] as const, {
        description:
          'self-signed: the operator issues and renews a CA and server certificates; secret: kubernetes.io/tls Secrets you provide; issuer: the operator asks cert-manager for the certificates (a Certificate per certificate, signed by issuerRef).',
        default: 'self-signed',
      }),
    ),
    issuerRef: Type.Optional(IssuerRef),
    secretName: Type.Optional(
      ObjectName('With mode secret: the Secret for every host without its own sites.<name>.tlsSecretName.'),
    ),
    certificatePerHost: Defaulted(
      Type.Boolean({
        description: 'Self-signed and issuer: one certificate per host instead of one with every host as SAN.',
        default: false,
      }),
    ),
    extraSANs: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.:*-]+$' }), {
        description: 'Self-signed: extra DNS names or IP addresses in the certificates (for example localhost).',
        maxItems: 16,
        'x-kubernetes-list-type': 'set',
      }),
    ),
    privateKey: Defaulted(PrivateKey),
  },
  { description: 'Certificates of the public hosts.', additionalProperties: false, default: {} },
);

export const BackendTls = Type.Object(
  {
    verify: Defaulted(
      Type.Boolean({
        description: "Verify the nodes' certificates (off by default: WSO2 nodes ship self-signed ones).",
        default: false,
      }),
    ),
    caSecretName: Type.Optional(
      ObjectName("Secret whose ca.crt signs the nodes' certificates; required when verify is true."),
    ),
  },
  {
    description: 'TLS from NGINX to the WSO2 nodes (always HTTPS on HTTPS ports, with SNI).',
    additionalProperties: false,
    default: {},
  },
);

export const NginxSettings = Type.Object(
  {
    edition: Defaulted(
      Enum(['community', 'plus'] as const, {
        description: 'NGINX edition; plus enables nginx-plus-sticky.',
        default: 'community',
      }),
    ),
    // No schema default: an unset image is the operator's own NGINX image (its configuration), so
    // an operator upgrade moves the frontend to the matching agent; a default written into each
    // spec would pin every frontend to the release that created it.
    image: Type.Optional(
      Image(
        "NGINX image with the reload agent (the Dockerfile's nginx target: NGINX 1.30 or newer, the agent as entrypoint). Leave it unset to run the image the operator is configured with, which moves with operator upgrades; a pinned image stays until you change it. A digest is accepted (repo@sha256:..., repo:tag@sha256:...).",
      ),
    ),
    replicas: Defaulted(
      Type.Integer({
        description: 'NGINX pods (a PodDisruptionBudget is added above 1).',
        minimum: 1,
        maximum: 20,
        default: 2,
      }),
    ),
    service: Defaulted(
      Type.Object(
        {
          type: Defaulted(
            Enum(['ClusterIP', 'NodePort', 'LoadBalancer'] as const, {
              description: 'Type of the NGINX Service.',
              default: 'LoadBalancer',
            }),
          ),
          annotations: Type.Optional(
            StringMap('Annotations of the NGINX Service (for example for a cloud load balancer).'),
          ),
        },
        { description: 'The Service in front of NGINX.', additionalProperties: false, default: {} },
      ),
    ),
    timeouts: Defaulted(
      Type.Object(
        {
          connect: Defaulted(Duration('proxy_connect_timeout.', '60s')),
          read: Defaulted(Duration("proxy_read_timeout (WSO2's load-balancer documents: 5m).", '5m')),
          send: Defaulted(Duration("proxy_send_timeout (WSO2's load-balancer documents: 5m).", '5m')),
        },
        { description: 'Timeouts towards the WSO2 nodes.', additionalProperties: false, default: {} },
      ),
    ),
    proxyBufferSize: Defaulted(Size('proxy_buffer_size: room for the large cookie headers WSO2 portals send.', '16k')),
    clientMaxBodySize: Defaulted(
      Size('client_max_body_size: largest request body (API payloads, file uploads).', '100m'),
    ),
    hsts: Defaulted(
      Type.Object(
        {
          enabled: Defaulted(
            Type.Boolean({ description: 'Send Strict-Transport-Security on HTTPS responses.', default: true }),
          ),
          maxAgeSeconds: Defaulted(
            Type.Integer({ description: 'max-age of the header.', minimum: 0, maximum: 63072000, default: 31536000 }),
          ),
          includeSubDomains: Defaulted(Type.Boolean({ description: 'Add includeSubDomains.', default: false })),
        },
        { description: 'HTTP Strict Transport Security.', additionalProperties: false, default: {} },
      ),
    ),
  },
  {
    description: 'The NGINX in front of the nodes. No raw configuration snippets: every value is validated.',
    additionalProperties: false,
    default: {},
  },
);

export const NetworkPolicySettings = Type.Object(
  {
    enabled: Type.Boolean({
      description:
        "Render NetworkPolicies: NGINX pods accept the public ports from anywhere and their health and metrics ports only from metricsNamespaces; WSO2 pods accept their product ports only from this frontend's NGINX pods, and any port from this frontend's WSO2 pods (inter-role calls, clustering). Egress stays open. Needs a CNI that enforces NetworkPolicies.",
    }),
    metricsNamespaces: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 63, pattern: DNS_LABEL }), {
        description:
          "Namespaces whose pods may reach the NGINX pods' health and metrics ports (for example the one Prometheus runs in). None: no pod may.",
        maxItems: 16,
        'x-kubernetes-list-type': 'set',
      }),
    ),
  },
  { description: 'NetworkPolicies for the NGINX and WSO2 pods (opt-in).', additionalProperties: false },
);

const DefaultedInteger = (description: string, minimum: number, maximum: number, defaultValue: number) =>
  Defaulted(Type.Integer({ description, minimum, maximum, default: defaultValue }));

export const Probes = Type.Object(
  {
    enabled: Defaulted(
      Type.Boolean({
        description:
          "Probe every public host through NGINX from inside each NGINX pod (the reload agent), as a user would reach it; false: no probes, and the pods' reports are removed.",
        default: true,
      }),
    ),
    intervalSeconds: DefaultedInteger('Seconds between two probes of a site (and of each of its nodes).', 1, 3600, 30),
    timeoutSeconds: DefaultedInteger(
      'Seconds a probe may take, TLS handshake included; must be less than intervalSeconds.',
      1,
      60,
      5,
    ),
    failureThreshold: DefaultedInteger(
      'Consecutive failed probes before a serving site (or an answering node) counts as down, so one blip does not flip it.',
      1,
      20,
      3,
    ),
    successThreshold: DefaultedInteger(
      'Consecutive successful probes before a site that was down (or a node) counts as serving again.',
      1,
      20,
      1,
    ),
  },
  {
    description:
      "Site probes: a real HTTPS request per public host to the NGINX pod's own listener (the host's SNI and Host, the product's health path), and the same pinned to each node; reported on each NGINX pod.",
    additionalProperties: false,
    default: {},
  },
);

export const Wso2FrontendSpec = Type.Object(
  {
    product: Enum(PRODUCTS, { description: 'The WSO2 product behind this frontend.' }),
    version: Type.Optional(
      Type.String({
        description:
          'Product version (x.y.z); decides the configuration format (deployment.toml, or the Carbon 4 XML/JSON files). Default: the newest known release.',
        maxLength: 32,
        pattern: '^[0-9]+\\.[0-9]+\\.[0-9]+$',
      }),
    ),
    pattern: Enum(PATTERNS, {
      description: 'Deployment pattern: a preset of sites, roles, ports and stickiness from the WSO2 procedures.',
    }),
    sites: Type.Optional(
      Type.Record(Type.String(), SiteOverride, {
        description: "Overrides per site of the pattern (keys: the pattern's site names).",
        maxProperties: 8,
      }),
    ),
    ports: Defaulted(
      Type.Object(
        { http: Defaulted(Port('Public HTTP port.', 80)), https: Defaulted(Port('Public HTTPS port.', 443)) },
        {
          description: 'Public ports of the frontend; the product is told them as its proxy ports.',
          additionalProperties: false,
          default: {},
        },
      ),
    ),
    backends: Backends,
    tls: Defaulted(Tls),
    backendTLS: Defaulted(BackendTls),
    nginx: Defaulted(NginxSettings),
    probes: Defaulted(Probes),
    networkPolicy: Type.Optional(NetworkPolicySettings),
    imagePullSecrets: Type.Optional(
      Type.Array(
        Type.String({
          description: 'A Secret of type kubernetes.io/dockerconfigjson in the frontend namespace.',
          minLength: 1,
          maxLength: 253,
          pattern: DNS_SUBDOMAIN,
        }),
        {
          description:
            "Pull Secrets for every pod the operator runs for this frontend (NGINX, and the WSO2 pods with their init containers), in the frontend's namespace; listed before the operator's own (its --image-pull-secret).",
          maxItems: 8,
        },
      ),
    ),
  },
  { description: 'What to front and how.', additionalProperties: false },
);

export const Condition = Type.Object(
  {
    type: Type.String({ description: 'Condition type, for example Ready.', maxLength: 316 }),
    status: Enum(['True', 'False', 'Unknown'] as const, { description: 'Status of the condition.' }),
    reason: Type.String({ description: 'Machine-readable reason in CamelCase.', maxLength: 1024 }),
    message: Type.String({ description: 'What a person needs to know.', maxLength: 32768 }),
    observedGeneration: Type.Optional(
      Type.Integer({ description: 'Generation the condition was computed for.', minimum: 0 }),
    ),
    lastTransitionTime: Type.String({ description: 'When status last changed.', format: 'date-time' }),
  },
  { additionalProperties: false },
);

/** One public site as the NGINX pods' probes see it (src/controller/serving.ts aggregates the pods' reports). */
export const SiteStatus = Type.Object(
  {
    host: Type.String({ description: 'The public host name of the site.', maxLength: 253 }),
    serving: Enum(['True', 'False', 'Unknown'] as const, {
      description:
        'True when the site answers from a WSO2 node, with a certificate valid for the host and no redirect off the public host, through every NGINX pod that reported; False when it fails through any of them; Unknown when no NGINX pod has a recent report.',
    }),
    nodesAnswering: Type.Optional(
      Type.Integer({
        description: "Upstream nodes that answer a probe pinned to them, in the worst reporting NGINX pod's view.",
        minimum: 0,
      }),
    ),
    nodesTotal: Type.Optional(Type.Integer({ description: 'Upstream nodes behind the site.', minimum: 0 })),
    lastProbeTime: Type.Optional(
      Type.String({
        description:
          'When the freshest report about the site was taken (refreshed at most once a minute while nothing else changes).',
        format: 'date-time',
      }),
    ),
    lastError: Type.Optional(
      Type.String({
        description: 'Why the site, or one of its nodes, fails (absent while all answer).',
        maxLength: 512,
      }),
    ),
    p50LatencyMs: Type.Optional(
      Type.Integer({
        description: 'Median latency of the last probes in milliseconds, of the slowest reporting NGINX pod.',
        minimum: 0,
      }),
    ),
  },
  { additionalProperties: false },
);

/** What a managed role's pods run (src/model/catalog.ts roleRuntime). */
export const RoleStatus = Type.Object(
  {
    role: Type.String({ description: 'A role of the pattern.', maxLength: 64 }),
    image: Type.String({ description: "The image the role's pods run.", maxLength: 512 }),
    profile: Type.Optional(
      Type.String({
        description:
          'The API Manager profile the role starts with (PROFILE_NAME, which the image runs as -Dprofile=); absent when the image runs one role of its own or the whole product.',
        maxLength: 64,
      }),
    ),
  },
  { additionalProperties: false },
);

export const Wso2FrontendStatus = Type.Object(
  {
    observedGeneration: Type.Optional(
      Type.Integer({ description: 'The generation of the spec the status describes.', minimum: 0 }),
    ),
    conditions: Type.Optional(
      Type.Array(Condition, {
        description:
          'Ready (summary), Accepted, CertificatesReady, ConfigurationServed, BackendsAvailable, ProductConfigured, Serving, and kstatus Reconciling/Stalled.',
        maxItems: 16,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
      }),
    ),
    urls: Type.Optional(Type.String({ description: 'Public HTTPS URLs, comma-separated.', maxLength: 4096 })),
    certificateNotAfter: Type.Optional(
      Type.String({ description: 'Earliest expiry of the served certificates.', format: 'date-time' }),
    ),
    configHash: Type.Optional(
      Type.String({ description: 'Hash of the NGINX configuration being served.', maxLength: 128 }),
    ),
    productConfigMap: Type.Optional(
      Type.String({
        description:
          'ConfigMap with the product configuration: per role the owned settings of managed pods (<role>.json; <pod>.json per pod of a role whose pods list their peers), or for external nodes what to set in their files (<role>.CHANGES.txt and snippets; <role>.<node>.* per node of such a role).',
        maxLength: 253,
      }),
    ),
    roles: Type.Optional(
      Type.Array(RoleStatus, {
        description: 'Managed backends: the image and profile each role of the pattern runs.',
        maxItems: 8,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['role'],
      }),
    ),
    sites: Type.Optional(
      Type.Array(SiteStatus, {
        description:
          "Each public site as the reload agents' probes through NGINX see it, summed over the frontend's NGINX pods (the Serving condition summarises them).",
        maxItems: 64,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['host'],
      }),
    ),
  },
  { description: 'What the operator observed and did.', additionalProperties: false },
);

export type Wso2FrontendSpec = Static<typeof Wso2FrontendSpec>;
export type Wso2FrontendStatus = Static<typeof Wso2FrontendStatus>;
export type Condition = Static<typeof Condition>;
export type SiteStatus = Static<typeof SiteStatus>;
export type RoleStatus = Static<typeof RoleStatus>;
export type SiteOverride = Static<typeof SiteOverride>;
export type SessionAffinity = Static<typeof SessionAffinity>;
export type ExternalNode = Static<typeof ExternalNode>;

export interface Wso2Frontend {
  apiVersion: `${typeof API_GROUP}/${typeof API_VERSION}`;
  kind: typeof KIND;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: Wso2FrontendSpec;
  status?: Wso2FrontendStatus;
}

/** A spec as validation returns it: every schema default applied (src/api/validate.ts). */
export type DefaultedSpec = DefaultedStatic<typeof Wso2FrontendSpec>;
export type DefaultedCookie = DefaultedStatic<typeof CookieSettings>;
