// The NetworkPolicies of spec.networkPolicy, as pure renders: none unless asked; NGINX's public
// ports open to all and its health and metrics ports only to the named namespaces; each WSO2 role
// open on its product ports to this frontend's NGINX pods and on every port to its WSO2 pods;
// ingress only; the same bytes for the same input; accepted by the real API server.
import * as yaml from 'js-yaml';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { validateSpec } from '../../src/model/validate.js';
import { NAMESPACE_NAME_LABEL, networkPolicies } from '../../src/render/network-policy.js';
import { createNamespace, kubectl } from '../support/cluster.js';
import { topologyOf } from '../support/frontend.js';
import { example, examples } from '../support/resources.js';

const withPolicies = (file: string, metricsNamespaces?: string[]): Wso2Frontend => {
  const frontend = example(file);
  return {
    ...frontend,
    spec: { ...frontend.spec, networkPolicy: { enabled: true, ...(metricsNamespaces ? { metricsNamespaces } : {}) } },
  };
};
const render = (frontend: Wso2Frontend) => networkPolicies(frontend, topologyOf(frontend));

const INSTANCE = 'app.kubernetes.io/instance';
const COMPONENT = 'app.kubernetes.io/component';

test('none without spec.networkPolicy, or with enabled: false', () => {
  const frontend = example('apim-distributed.yaml');
  expect(render(frontend)).toEqual([]);
  expect(render({ ...frontend, spec: { ...frontend.spec, networkPolicy: { enabled: false } } })).toEqual([]);
});

test('NGINX: the public ports from anywhere, health and metrics from the named namespaces only', () => {
  const [nginx] = render(withPolicies('apim-single.yaml', ['monitoring', 'observability']));
  expect(nginx).toMatchObject({
    kind: 'NetworkPolicy',
    metadata: { name: 'apim-single-nginx', labels: { [COMPONENT]: 'nginx' } },
  });
  expect(nginx!.spec).toEqual({
    podSelector: { matchLabels: { [INSTANCE]: 'apim-single', [COMPONENT]: 'nginx' } },
    policyTypes: ['Ingress'],
    ingress: [
      { ports: [8080, 8443].map((port) => ({ protocol: 'TCP', port })) },
      {
        from: [
          {
            namespaceSelector: {
              matchExpressions: [
                { key: NAMESPACE_NAME_LABEL, operator: 'In', values: ['monitoring', 'observability'] },
              ],
            },
          },
        ],
        ports: [8081, 8082].map((port) => ({ protocol: 'TCP', port })),
      },
    ],
  });
});

test('without metricsNamespaces no pod reaches the health and metrics ports', () => {
  const [nginx] = render(withPolicies('apim-single.yaml'));
  expect(nginx!.spec.ingress).toEqual([{ ports: [8080, 8443].map((port) => ({ protocol: 'TCP', port })) }]);
});

test('each WSO2 role: its product ports from the NGINX pods, any port from the WSO2 pods of this frontend', () => {
  const policies = render(withPolicies('apim-distributed.yaml'));
  expect(policies.map((p) => p.metadata!.name)).toEqual([
    'apim-distributed-nginx',
    'apim-distributed-control-plane',
    'apim-distributed-gateway',
    'apim-distributed-traffic-manager',
  ]);
  const roles = ['control-plane', 'gateway', 'traffic-manager'];
  const topology = topologyOf(withPolicies('apim-distributed.yaml'));
  for (const [i, role] of roles.entries()) {
    const component = topology.backends.source === 'managed' ? topology.backends.components[i]! : undefined;
    expect(component?.role).toBe(role);
    const ports = [...new Set(component!.listeners.map((l) => l.port))].sort((a, b) => a - b);
    expect(ports.length).toBeGreaterThan(0);
    expect(policies[i + 1]!.spec).toEqual({
      podSelector: { matchLabels: { [INSTANCE]: 'apim-distributed', [COMPONENT]: role } },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [{ podSelector: { matchLabels: { [INSTANCE]: 'apim-distributed', [COMPONENT]: 'nginx' } } }],
          ports: ports.map((port) => ({ protocol: 'TCP', port })),
        },
        {
          from: [
            {
              podSelector: {
                matchLabels: {
                  [INSTANCE]: 'apim-distributed',
                  'app.kubernetes.io/managed-by': 'wso2-frontend-operator',
                },
                matchExpressions: [{ key: COMPONENT, operator: 'In', values: roles }],
              },
            },
          ],
        },
      ],
    });
  }
});

test('external nodes: only the NGINX policy (the operator runs no WSO2 pods)', () => {
  expect(render(withPolicies('apim-2-active-active.yaml')).map((p) => p.metadata!.name)).toEqual(['apim-2-nginx']);
});

test('the same input renders the same bytes, whatever the order of metricsNamespaces', () => {
  const one = render(withPolicies('is-7-managed.yaml', ['b', 'a']));
  const two = render(withPolicies('is-7-managed.yaml', ['a', 'b']));
  expect(JSON.stringify(one)).toBe(JSON.stringify(two));
});

test('a namespace named twice is refused with the field named, as the API server refuses a repeated set item', () => {
  const result = validateSpec(withPolicies('apim-single.yaml', ['monitoring', 'monitoring']).spec);
  expect(result).toMatchObject({
    ok: false,
    problems: [{ path: 'spec.networkPolicy.metricsNamespaces[1]', message: 'Duplicate value: "monitoring"' }],
  });
});

test('the API server accepts the policies of every example (--dry-run=server)', async () => {
  const namespace = await createNamespace('network-policy');
  const objects = examples().flatMap(({ file }) => {
    const frontend = withPolicies(file, ['monitoring']);
    return render({ ...frontend, metadata: { ...frontend.metadata, namespace } });
  });
  const output = await kubectl(
    ['apply', '--dry-run=server', '-f', '-'],
    objects.map((o) => yaml.dump(o, { noRefs: true })).join('---\n'),
  );
  expect(output.trim().split('\n')).toHaveLength(objects.length);
});
