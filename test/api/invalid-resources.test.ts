// A corpus of invalid resources. Each is rejected where a user would meet it: by the API
// server at `kubectl apply` (schema or CEL), or, where only the presets can tell, by semantic
// validation. Each test asserts the field path and the message the user sees; for CEL rules
// the API server and offline validation must say exactly the same thing.
import * as yaml from 'js-yaml';
import type { Wso2FrontendSpec } from '../../src/api/schema.js';
import { formatProblem } from '../../src/api/validate.js';
import { validateSpec } from '../../src/model/validate.js';
import { createNamespace, kubectl } from '../support/cluster.js';
import { installCrd } from '../support/resources.js';

type Spec = Record<string, unknown>;

const node = (name: string, roles: string[], address = '192.0.2.10') => ({ name, address, roles });
const activeActive = (): Spec => ({
  product: 'api-manager',
  pattern: 'apim-active-active',
  backends: { external: { nodes: [node('node-1', ['all-in-one']), node('node-2', ['all-in-one'])] } },
});
const withSpec = (patch: Spec, base: Spec = activeActive()): Spec => ({ ...base, ...patch });

interface Case {
  name: string;
  spec: Spec;
  path: string;
  /** What offline validation says (for CEL rules also exactly what the API server says). */
  message: string;
  /** The API server's wording, where it words a schema error differently; `false` if it accepts the resource. */
  server?: string | false;
  /** The rule is CEL: the API server's message must equal `message`. */
  cel?: true;
}

const cases: Case[] = [
  // Schema: types, enums, patterns, bounds.
  {
    name: 'an unknown product',
    spec: withSpec({ product: 'business-process-server' }),
    path: 'spec.product',
    message:
      'Unsupported value: "business-process-server": supported values: "api-manager", "identity-server", "enterprise-integrator", "micro-integrator"',
  },
  {
    name: 'an unknown pattern',
    spec: withSpec({ pattern: 'apim-ha-everything' }),
    path: 'spec.pattern',
    message: 'Unsupported value: "apim-ha-everything"',
  },
  {
    name: 'a version that is not x.y.z',
    spec: withSpec({ version: '4.5' }),
    path: 'spec.version',
    message: 'Invalid value: "4.5"',
    server: 'should match',
  },
  {
    name: 'an upper-case host name',
    spec: withSpec({ sites: { portal: { host: 'API.example.com' } } }),
    path: 'spec.sites.portal.host',
    message:
      'Invalid value: "API.example.com": use lower case ("api.example.com"): must be a lower-case RFC 1123 host name',
    server: 'should match',
  },
  {
    name: 'a host name with an underscore',
    spec: withSpec({ sites: { portal: { host: 'api_portal.example.com' } } }),
    path: 'spec.sites.portal.host',
    message: 'Invalid value: "api_portal.example.com"',
    server: 'should match',
  },
  {
    name: 'a host name longer than 253 characters',
    spec: withSpec({ sites: { portal: { host: `${'a'.repeat(60)}.`.repeat(5) + 'com' } } }),
    path: 'spec.sites.portal.host',
    message: 'Too long: may not be more than 253 characters',
    server: 'Too long: may not be',
  },
  {
    name: 'an HTTPS port above 65535',
    spec: withSpec({ ports: { https: 70000 } }),
    path: 'spec.ports.https',
    message: 'must be less than or equal to 65535',
    server: 'should be less than or equal to 65535',
  },
  {
    name: 'HTTP port 0',
    spec: withSpec({ ports: { http: 0 } }),
    path: 'spec.ports.http',
    message: 'must be greater than or equal to 1',
    server: 'should be greater than or equal to 1',
  },
  {
    name: 'no NGINX replicas',
    spec: withSpec({ nginx: { replicas: 0 } }),
    path: 'spec.nginx.replicas',
    message: 'must be greater than or equal to 1',
    server: 'should be greater than or equal to 1',
  },
  {
    name: 'a read timeout in words',
    spec: withSpec({ nginx: { timeouts: { read: '5min' } } }),
    path: 'spec.nginx.timeouts.read',
    message: 'must be a number with one unit, ms, s, m, h or d',
    server: 'should match',
  },
  {
    name: 'a buffer size with a unit NGINX does not know',
    spec: withSpec({ nginx: { proxyBufferSize: '16KB' } }),
    path: 'spec.nginx.proxyBufferSize',
    message: 'must be a size in bytes with an optional k, m or g',
    server: 'should match',
  },
  {
    name: 'a Service type that does not exist',
    spec: withSpec({ nginx: { service: { type: 'Ingress' } } }),
    path: 'spec.nginx.service.type',
    message: 'Unsupported value: "Ingress": supported values: "ClusterIP", "NodePort", "LoadBalancer"',
  },
  {
    name: 'an unknown affinity mode',
    spec: withSpec({ sites: { portal: { sessionAffinity: { mode: 'sticky' } } } }),
    path: 'spec.sites.portal.sessionAffinity.mode',
    message: 'Unsupported value: "sticky": supported values: "none", "client-ip", "cookie", "nginx-plus-sticky"',
  },
  {
    name: 'a cookie name with a space (it would reach NGINX config)',
    spec: withSpec({ sites: { portal: { sessionAffinity: { mode: 'cookie', cookie: { name: 'my cookie' } } } } }),
    path: 'spec.sites.portal.sessionAffinity.cookie.name',
    message: 'Invalid value: "my cookie"',
    server: 'should match',
  },
  {
    name: 'a cookie path with a semicolon',
    spec: withSpec({ sites: { portal: { sessionAffinity: { mode: 'cookie', cookie: { path: '/;injected' } } } } }),
    path: 'spec.sites.portal.sessionAffinity.cookie.path',
    message: 'Invalid value: "/;injected"',
    server: 'should match',
  },
  {
    name: 'a node name that is not an RFC 1123 label',
    spec: withSpec({ backends: { external: { nodes: [node('Node_1', ['all-in-one'])] } } }),
    path: 'spec.backends.external.nodes[0].name',
    message: 'must be a lower-case RFC 1123 name',
    server: 'should match',
  },
  {
    name: 'a node without roles',
    spec: withSpec({ backends: { external: { nodes: [node('node-1', [])] } } }),
    path: 'spec.backends.external.nodes[0].roles',
    message: 'must have at least 1 items',
    server: 'should have at least 1 items',
  },
  {
    name: 'external backends without nodes',
    spec: withSpec({ backends: { external: { nodes: [] } } }),
    path: 'spec.backends.external.nodes',
    message: 'must have at least 1 items',
    server: 'should have at least 1 items',
  },
  {
    name: 'a negative port offset',
    spec: withSpec({ backends: { external: { nodes: [{ ...node('node-1', ['all-in-one']), portOffset: -1 }] } } }),
    path: 'spec.backends.external.nodes[0].portOffset',
    message: 'must be greater than or equal to 0',
    server: 'should be greater than or equal to 0',
  },
  {
    name: 'a node address with a shell character',
    spec: withSpec({ backends: { external: { nodes: [node('node-1', ['all-in-one'], '10.0.0.1;rm')] } } }),
    path: 'spec.backends.external.nodes[0].address',
    message: 'Invalid value: "10.0.0.1;rm"',
    server: 'should match',
  },
  {
    name: 'no backends at all',
    spec: { product: 'api-manager', pattern: 'apim-single' },
    path: 'spec.backends',
    message: 'Required value',
  },
  {
    name: 'no product',
    spec: { pattern: 'apim-single', backends: { managed: {} } },
    path: 'spec.product',
    message: 'Required value',
  },
  {
    name: 'an unknown TLS mode',
    spec: withSpec({ tls: { mode: 'acme' } }),
    path: 'spec.tls.mode',
    message: 'Unsupported value: "acme": supported values: "self-signed", "secret"',
  },
  {
    name: 'an unknown HTTP mode',
    spec: withSpec({ sites: { portal: { http: 'upgrade' } } }),
    path: 'spec.sites.portal.http',
    message: 'Unsupported value: "upgrade": supported values: "redirect", "proxy", "off"',
  },
  {
    name: 'two nodes with the same name',
    spec: withSpec({
      backends: { external: { nodes: [node('node-1', ['all-in-one']), node('node-1', ['all-in-one'])] } },
    }),
    path: 'spec.backends.external.nodes[1]',
    message: 'Duplicate value',
    server: 'Duplicate value',
  },
  {
    name: 'a role listed twice on a node',
    spec: withSpec({ backends: { external: { nodes: [node('node-1', ['all-in-one', 'all-in-one'])] } } }),
    path: 'spec.backends.external.nodes[0].roles[1]',
    message: 'Duplicate value: "all-in-one"',
  },
  {
    name: 'an extra SAN with a space',
    spec: withSpec({ tls: { extraSANs: ['local host'] } }),
    path: 'spec.tls.extraSANs[0]',
    message: 'Invalid value: "local host"',
    server: 'should match',
  },

  // Cross-field rules: CEL in the API server, the same words offline.
  {
    name: 'a pattern of another product',
    spec: withSpec({ product: 'identity-server', pattern: 'apim-single' }),
    path: 'spec.pattern',
    message: 'pattern apim-single is not a pattern of product identity-server; its patterns are: is-pattern-1',
    cel: true,
  },
  {
    name: 'a site the pattern does not have',
    spec: withSpec({ sites: { admin: { host: 'admin.example.com' } } }),
    path: 'spec.sites',
    message: 'pattern apim-active-active has only the sites portal, gateway',
    cel: true,
  },
  {
    name: 'two sites with the same host',
    spec: withSpec({ sites: { portal: { host: 'wso2.example.com' }, gateway: { host: 'wso2.example.com' } } }),
    path: 'spec.sites',
    message: 'two sites have the same host; every site needs its own host name',
    cel: true,
  },
  {
    name: 'a pattern role with no node',
    spec: withSpec({
      pattern: 'apim-ha-gateway',
      backends: { external: { nodes: [node('gw-1', ['gateway-worker'])] } },
    }),
    path: 'spec.backends.external.nodes',
    message: 'pattern apim-ha-gateway needs at least one node for each of its roles: gateway-manager, gateway-worker',
    cel: true,
  },
  {
    name: 'a node with a role of another pattern',
    spec: withSpec({
      backends: { external: { nodes: [node('node-1', ['all-in-one']), node('node-2', ['integrator'])] } },
    }),
    path: 'spec.backends.external.nodes',
    message: 'node roles must be roles of pattern apim-active-active: all-in-one',
    cel: true,
  },
  {
    name: 'a managed component the pattern does not have',
    spec: withSpec({ backends: { managed: { components: { 'key-manager': { replicas: 2 } } } } }),
    path: 'spec.backends.managed.components',
    message: 'components must be roles of pattern apim-active-active: all-in-one',
    cel: true,
  },
  {
    name: 'a pinned node that does not exist',
    spec: withSpec({
      pattern: 'ei-cluster',
      product: 'enterprise-integrator',
      sites: { management: { pinnedNode: 'node-9' } },
      backends: { external: { nodes: [node('node-1', ['integrator'])] } },
    }),
    path: 'spec.sites',
    message: 'site management: pinnedNode "node-9" names no node in spec.backends.external.nodes',
    cel: true,
  },
  {
    name: 'a node address with a port',
    spec: withSpec({ backends: { external: { nodes: [node('node-1', ['all-in-one'], '10.0.0.1:9443')] } } }),
    path: 'spec.backends.external.nodes[0].address',
    message:
      'must be the address alone, without a port: the ports come from the pattern (for example 9443), and portOffset shifts them all',
    cel: true,
  },
  {
    name: 'an IPv4-mapped IPv6 node address',
    spec: withSpec({ backends: { external: { nodes: [node('node-1', ['all-in-one'], '::ffff:192.0.2.1')] } } }),
    path: 'spec.backends.external.nodes[0].address',
    message:
      'an IPv4-mapped IPv6 address is refused, as Kubernetes refuses it as an IP address; write the IPv4 address itself: 192.0.2.1',
    cel: true,
  },
  {
    name: 'a per-site Secret with self-signed certificates',
    spec: withSpec({ sites: { portal: { tlsSecretName: 'portal-tls' } } }),
    path: 'spec.sites',
    message: 'tlsSecretName needs spec.tls.mode: secret',
    cel: true,
  },
  {
    name: 'NGINX Plus sticky on community NGINX',
    spec: withSpec({ sites: { portal: { sessionAffinity: { mode: 'nginx-plus-sticky' } } } }),
    path: 'spec.nginx.edition',
    message:
      'session affinity nginx-plus-sticky needs spec.nginx.edition: plus; on community NGINX use cookie or client-ip',
    cel: true,
  },
  {
    name: 'the same port for HTTP and HTTPS',
    spec: withSpec({ ports: { http: 8443, https: 8443 } }),
    path: 'spec.ports',
    message: 'http and https must be different ports',
    cel: true,
  },
  {
    name: 'both external and managed backends',
    spec: withSpec({ backends: { external: { nodes: [node('node-1', ['all-in-one'])] }, managed: {} } }),
    path: 'spec.backends',
    message: 'set exactly one of external (nodes outside the cluster) or managed (pods the operator runs)',
    cel: true,
  },
  {
    name: 'neither external nor managed backends',
    spec: withSpec({ backends: {} }),
    path: 'spec.backends',
    message: 'set exactly one of external (nodes outside the cluster) or managed (pods the operator runs)',
    cel: true,
  },
  {
    name: 'secret mode without a Secret',
    spec: withSpec({ tls: { mode: 'secret' } }),
    path: 'spec.tls',
    message: 'mode secret needs secretName: the kubernetes.io/tls Secret for hosts without their own tlsSecretName',
    cel: true,
  },
  {
    name: 'a Secret with self-signed mode',
    spec: withSpec({ tls: { secretName: 'frontend-tls' } }),
    path: 'spec.tls',
    message: 'secretName needs mode: secret (mode self-signed issues its own certificates)',
    cel: true,
  },
  {
    name: 'an RSA key of 1024 bits',
    spec: withSpec({ tls: { privateKey: { size: 1024 } } }),
    path: 'spec.tls.privateKey.size',
    message: 'privateKey.size must be one of 2048, 3072, 4096 for RSA, 256 or 384 for ECDSA',
    cel: true,
  },
  {
    name: 'an ECDSA key with an RSA size',
    spec: withSpec({ tls: { privateKey: { algorithm: 'ECDSA', size: 2048 } } }),
    path: 'spec.tls.privateKey.size',
    message: 'privateKey.size must be one of 2048, 3072, 4096 for RSA, 256 or 384 for ECDSA',
    cel: true,
  },
  {
    name: 'a key algorithm the operator does not issue',
    spec: withSpec({ tls: { privateKey: { algorithm: 'Ed25519' } } }),
    path: 'spec.tls.privateKey.algorithm',
    message: 'Unsupported value: "Ed25519": supported values: "RSA", "ECDSA"',
  },
  {
    name: 'issuer mode without an issuer',
    spec: withSpec({ tls: { mode: 'issuer' } }),
    path: 'spec.tls',
    message: 'mode issuer needs issuerRef: the cert-manager Issuer or ClusterIssuer that signs the certificates',
    cel: true,
  },
  {
    name: 'an issuer with self-signed mode',
    spec: withSpec({ tls: { issuerRef: { name: 'letsencrypt' } } }),
    path: 'spec.tls',
    message: 'issuerRef needs mode: issuer',
    cel: true,
  },
  {
    name: 'an issuer kind cert-manager does not have',
    spec: withSpec({ tls: { mode: 'issuer', issuerRef: { name: 'letsencrypt', kind: 'Issuers' } } }),
    path: 'spec.tls.issuerRef.kind',
    message: 'Unsupported value: "Issuers": supported values: "Issuer", "ClusterIssuer"',
  },
  {
    name: 'backend verification without a CA',
    spec: withSpec({ backendTLS: { verify: true } }),
    path: 'spec.backendTLS',
    message: "verify: true needs caSecretName, the Secret whose ca.crt signs the nodes' certificates",
    cel: true,
  },
  {
    name: 'cookie settings with client-IP affinity',
    spec: withSpec({ sites: { portal: { sessionAffinity: { mode: 'client-ip', cookie: { name: 'ROUTE' } } } } }),
    path: 'spec.sites[portal].sessionAffinity',
    message: 'cookie settings apply to mode cookie only, not client-ip',
    cel: true,
  },
  {
    name: 'SameSite None on a cookie that is not secure',
    spec: withSpec({
      sites: { portal: { sessionAffinity: { mode: 'cookie', cookie: { sameSite: 'None', secure: false } } } },
    }),
    path: 'spec.sites[portal].sessionAffinity.cookie',
    message: 'sameSite None needs secure: true (browsers drop the cookie otherwise)',
    cel: true,
  },

  {
    name: 'a node address that is not a lower-case DNS name',
    spec: withSpec({ backends: { external: { nodes: [node('node-1', ['all-in-one'], 'APIM-1.Example.com')] } } }),
    path: 'spec.backends.external.nodes[0].address',
    message:
      'must be an IPv4 address as four decimal numbers without leading zeros (for example 192.0.2.10), an IPv6 address, or a lower-case RFC 1123 DNS name that does not end in a number',
    cel: true,
  },

  // Semantic: only the presets (with their defaults) can tell; the API server stores these.
  {
    name: 'the 4.x distributed layout on API Manager 3.2',
    spec: withSpec({ pattern: 'apim-distributed', version: '3.2.0', backends: { managed: {} } }),
    path: 'spec.version',
    message: 'pattern apim-distributed needs api-manager 4.0.0 or later',
    server: false,
  },
  {
    name: "a host that is another site's default host",
    spec: withSpec({ sites: { gateway: { host: 'api.am.wso2.com' } } }),
    path: 'spec.sites.gateway.host',
    message:
      'host api.am.wso2.com is the default host of site portal; give site portal its own host (spec.sites.portal.host) or choose another host here',
    server: false,
  },
  {
    name: "a site given another site's default host names the field the user set, not the default's",
    spec: withSpec({ sites: { portal: { host: 'gw.am.wso2.com' } } }),
    path: 'spec.sites.portal.host',
    message:
      'host gw.am.wso2.com is the default host of site gateway; give site gateway its own host (spec.sites.gateway.host) or choose another host here',
    server: false,
  },
  {
    name: 'HTTP proxying where the nodes have no HTTP port',
    spec: withSpec({
      product: 'micro-integrator',
      pattern: 'mi-cluster',
      sites: { management: { http: 'proxy' } },
      backends: { external: { nodes: [node('mi-1', ['micro-integrator'])] } },
    }),
    path: 'spec.sites.management.http',
    message: 'site management has no plain-HTTP port on the nodes; allowed: redirect, off',
    server: false,
  },
  {
    name: 'a pinned node on a site that is not pinned',
    spec: withSpec({ sites: { portal: { pinnedNode: 'node-1' } } }),
    path: 'spec.sites.portal.pinnedNode',
    message: 'site portal is not pinned to one node; pinnedNode applies to: no site of pattern apim-active-active',
    server: false,
  },
  {
    name: 'a pinned node without the role of its site',
    spec: withSpec({
      product: 'identity-server',
      pattern: 'is-pattern-1',
      sites: { management: { pinnedNode: 'worker-1' } },
      backends: { external: { nodes: [node('manager', ['manager']), node('worker-1', ['worker'])] } },
    }),
    path: 'spec.sites.management.pinnedNode',
    message: 'node worker-1 does not have role manager, which serves site management',
    server: false,
  },
  {
    name: 'an extra SAN that starts with a hyphen',
    spec: withSpec({ tls: { extraSANs: ['-bad.example.com'] } }),
    path: 'spec.tls.extraSANs[0]',
    message: 'must be an IP address or a lower-case DNS name',
    server: false,
  },
];

let namespace: string;

beforeAll(async () => {
  await installCrd();
  namespace = await createNamespace('invalid');
});

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('the corpus has at least 30 invalid resources', () => {
  expect(cases.length).toBeGreaterThanOrEqual(30);
});

test.each(cases.map((c) => [c.name, c] as const))(
  '%s is rejected offline with the field path and message',
  (_name, c) => {
    const result = validateSpec(c.spec);
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems.map(formatProblem);
    expect(problems).toContainEqual(expect.stringMatching(new RegExp(`^${escape(c.path)}: .*${escape(c.message)}`)));
  },
);

test.each(cases.map((c, i) => [c.name, c, i] as const))(
  '%s: the API server says the same at kubectl apply',
  async (_name, c, i) => {
    const resource = {
      apiVersion: 'wso2-frontend.dev/v1alpha1',
      kind: 'Wso2Frontend',
      metadata: { name: `invalid-${i}`, namespace },
      spec: c.spec as Wso2FrontendSpec,
    };
    const applied = kubectl(['apply', '--dry-run=server', '-f', '-'], yaml.dump(resource));
    if (c.server === false) {
      await expect(applied).resolves.toContain('(server dry run)');
      return;
    }
    const error = await applied.then(
      () => '',
      (e: Error) => e.message,
    );
    const expected = c.cel
      ? `${escape(c.path)}: Invalid value: ${escape(c.message)}`
      : `${escape(c.path)}: .*${escape(c.server ?? c.message)}`;
    expect(error).toMatch(new RegExp(expected));
  },
);

test('an upper-case host: the API server says to use lower case, beside the pattern it shows', async () => {
  const resource = {
    apiVersion: 'wso2-frontend.dev/v1alpha1',
    kind: 'Wso2Frontend',
    metadata: { name: 'upper-case-host', namespace },
    spec: withSpec({ sites: { portal: { host: 'API.example.com' } } }) as Wso2FrontendSpec,
  };
  const error = await kubectl(['apply', '--dry-run=server', '-f', '-'], yaml.dump(resource)).then(
    () => '',
    (e: Error) => e.message,
  );
  expect(error).toContain('spec.sites[portal].host: Invalid value: "API.example.com": use lower case');
});
