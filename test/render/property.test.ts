// Properties of validation and rendering over many inputs:
// - 1000 random valid specs (seeded, so a failure can be replayed) each render a configuration
//   that a real `nginx -t` accepts;
// - every string field of the spec, given a value with a character that means something to
//   NGINX, is rejected by validation before anything is rendered.
import { buildTopology } from '../../src/model/topology.js';
import { validateSpec } from '../../src/model/validate.js';
import { containerLayout, renderNginx } from '../../src/render/nginx/config.js';
import { renderCrd } from '../../src/render/crd.js';
import { RenderedConfigurationChecker } from '../support/nginx.js';
import { generator, random } from '../support/spec-generator.js';

const SEED = 20261121;

test('1000 random valid specs each render a configuration that nginx -t accepts', async () => {
  const next = generator(random(SEED));
  const checker = new RenderedConfigurationChecker();
  const failures: string[] = [];
  let checked = 0;
  const checkOne = async (index: number) => {
    const spec = next();
    const result = validateSpec(spec);
    if (!result.ok) {
      failures.push(`spec ${index} is not valid: ${JSON.stringify(result.problems)}\n${JSON.stringify(spec)}`);
      return;
    }
    const verdict = await checker.check(buildTopology(result.spec));
    if (!verdict.ok)
      failures.push(`spec ${index} (seed ${SEED}) failed nginx -t: ${verdict.output}\n${JSON.stringify(spec)}`);
    checked++;
  };
  try {
    for (let i = 0; i < 1000; i += 2) await Promise.all([checkOne(i), checkOne(i + 1)]);
  } finally {
    checker.remove();
  }
  expect(failures.slice(0, 3)).toEqual([]);
  expect(checked).toBe(1000);
}, 300_000);

// Every character NGINX gives a meaning to, or that ends a token.
const HOSTILE = [';', '{', '}', '\n', '$', '"', "'", '#', ' '];

type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema;
  items?: Schema;
  enum?: string[];
};

/** Paths (with <key> for map entries and [] for list items) of every string field of the spec. */
function stringFields(schema: Schema, path: string[]): string[][] {
  if (schema.type === 'string') return [path];
  if (schema.properties) return Object.entries(schema.properties).flatMap(([k, v]) => stringFields(v, [...path, k]));
  if (schema.additionalProperties) return stringFields(schema.additionalProperties, [...path, '<key>']);
  if (schema.items) return stringFields(schema.items, [...path, '[]']);
  return [];
}

/** Specs in which every optional object exists, so that each string field has a place to go. */
function fullSpecs(): Record<string, unknown>[] {
  const common = {
    product: 'api-manager',
    version: '4.5.0',
    pattern: 'apim-active-active',
    sites: {
      portal: {
        host: 'api.example.com',
        http: 'redirect',
        sessionAffinity: { mode: 'cookie', cookie: { name: 'ROUTE', path: '/', sameSite: 'Lax', maxAge: '1h' } },
      },
    },
    backendTLS: { verify: true, caSecretName: 'nodes-ca' },
    nginx: {
      edition: 'community',
      image: 'nginx:1.29',
      service: { type: 'LoadBalancer', annotations: { 'example.com/lb': 'internal' } },
      timeouts: { connect: '60s', read: '5m', send: '5m' },
      proxyBufferSize: '16k',
      clientMaxBodySize: '100m',
    },
    networkPolicy: { enabled: true, metricsNamespaces: ['monitoring'] },
    imagePullSecrets: ['registry-credentials'],
  };
  return [
    {
      ...common,
      tls: { mode: 'self-signed', extraSANs: ['localhost'], privateKey: { algorithm: 'ECDSA' } },
      backends: { external: { nodes: [{ name: 'node-1', address: '10.0.0.1', roles: ['all-in-one'] }] } },
    },
    {
      ...common,
      sites: { portal: { ...common.sites.portal, tlsSecretName: 'portal-tls' } },
      tls: { mode: 'secret', secretName: 'frontend-tls' },
      backends: {
        managed: {
          image: 'wso2/wso2am:4.5.0',
          configMapName: 'base',
          truststorePassword: { secretName: 'truststore', key: 'password' },
          components: {
            'all-in-one': {
              image: 'registry.example.com/wso2/wso2am:4.5.0',
              resources: { requests: { cpu: '1' }, limits: { memory: '2Gi' } },
            },
          },
        },
      },
    },
    {
      ...common,
      tls: { mode: 'issuer', issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer', group: 'cert-manager.io' } },
      backends: { external: { nodes: [{ name: 'node-1', address: '10.0.0.1', roles: ['all-in-one'] }] } },
    },
    {
      product: 'enterprise-integrator',
      pattern: 'ei-cluster',
      sites: { management: { pinnedNode: 'node-1' } },
      backends: { external: { nodes: [{ name: 'node-1', address: '10.0.0.1', roles: ['integrator'] }] } },
    },
  ];
}

/** Sets the field at `path` in a copy of `spec`; undefined when the spec has no place for it. */
function withField(spec: Record<string, unknown>, path: string[], text: string): Record<string, unknown> | undefined {
  const copy = structuredClone(spec);
  let node: unknown = copy;
  for (const [i, key] of path.entries()) {
    const last = i === path.length - 1;
    if (node === null || typeof node !== 'object') return undefined;
    const container = node as Record<string, unknown> & unknown[];
    const slot = key === '[]' ? 0 : key === '<key>' ? Object.keys(container)[0] : key;
    if (slot === undefined || !(slot in container)) return undefined;
    if (last) (container as Record<string | number, unknown>)[slot] = text;
    else node = (container as Record<string | number, unknown>)[slot];
  }
  return copy;
}

// Service annotations are Kubernetes metadata for cloud load balancers: free-form by design,
// written only into the Service object and never into NGINX configuration (tested below).
const FREE_FORM = ['nginx.service.annotations.<key>'];

const specSchema = renderCrd().spec.versions[0]!.schema.openAPIV3Schema.properties.spec as Schema;
const fields = stringFields(specSchema, []).filter((p) => !FREE_FORM.includes(p.join('.')));

test('every string field of the spec is covered by the hostile-value test', () => {
  const covered = fields.filter((path) => fullSpecs().some((spec) => withField(spec, path, 'x') !== undefined));
  expect(fields.filter((f) => !covered.includes(f)).map((f) => f.join('.'))).toEqual([]);
  expect(fields.length).toBeGreaterThanOrEqual(25);
});

test.each(fields.map((f) => [f.join('.'), f] as const))(
  '%s with any NGINX-significant character is rejected by validation',
  (_name, path) => {
    for (const spec of fullSpecs()) {
      for (const char of HOSTILE) {
        const hostile = withField(spec, path, `ok${char}injected`);
        if (!hostile) continue;
        const result = validateSpec(hostile);
        expect({ char, rejected: !result.ok }).toEqual({ char, rejected: true });
      }
    }
  },
);

test('free-form Service annotations never reach the NGINX configuration', () => {
  const spec = fullSpecs()[0]!;
  (spec.nginx as { service: { annotations: Record<string, string> } }).service.annotations['example.com/lb'] =
    'x; return 200 "pwned"; #';
  const result = validateSpec(spec);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  const topology = buildTopology(result.spec);
  for (const text of Object.values(renderNginx(topology, containerLayout(topology))))
    expect(text).not.toContain('pwned');
});
