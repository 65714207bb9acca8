// The probe plan the operator renders for the reload agents: one entry per public host with the
// pod's own listener, the Host a user sends, the product's health path, where a redirect may go,
// the certificate and CA to check, and each node pinned through the loopback probe listener.
import { parseSecretMount } from '../../src/api/agent.js';
import { parseProbePlan, PROBE_PLAN_FILE, type ProbePlan } from '../../src/api/probe.js';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { containerLayout, renderNginx } from '../../src/render/nginx/config.js';
import { nginxConfigMap, nginxDeployment } from '../../src/render/objects.js';
import { renderProbePlan } from '../../src/render/probes.js';
import { topologyOf } from '../support/frontend.js';
import { example } from '../support/resources.js';

const withSpec = (resource: Wso2Frontend, spec: Partial<Wso2Frontend['spec']>): Wso2Frontend => ({
  ...resource,
  spec: { ...resource.spec, ...spec },
});

function planOf(resource: Wso2Frontend): ProbePlan {
  const configMap = nginxConfigMap(resource, topologyOf(resource));
  const plan = parseProbePlan(configMap.data![PROBE_PLAN_FILE]!);
  if (typeof plan === 'string') throw new Error(plan);
  return plan;
}

test('every public host is planned on the pod’s own HTTPS listener with its SNI, Host and health path', () => {
  const plan = planOf(example('apim-active-active.yaml'));
  expect(plan).toMatchObject({ intervalSeconds: 30, timeoutSeconds: 5, failureThreshold: 3, successThreshold: 1 });
  expect(plan.sites.map((s) => [s.site, s.host, s.hostHeader, s.address, s.port, s.path])).toEqual([
    ['portal', 'api.am.wso2.com', 'api.am.wso2.com', '127.0.0.1', 8443, '/services/Version'],
    ['gateway', 'gw.am.wso2.com', 'gw.am.wso2.com', '127.0.0.1', 8443, '/services/Version'],
  ]);
});

test('a redirect may stay on the public HTTPS origin, and on the public HTTP origin only where the site serves HTTP', () => {
  const resource = withSpec(example('apim-active-active.yaml'), { ports: { http: 8000, https: 8443 } });
  const plan = planOf(resource);
  expect(plan.sites.find((s) => s.site === 'portal')!.publicOrigins).toEqual(['https://api.am.wso2.com:8443']);
  expect(plan.sites.find((s) => s.site === 'gateway')!.publicOrigins).toEqual([
    'https://gw.am.wso2.com:8443',
    'http://gw.am.wso2.com:8000',
  ]);
  expect(plan.sites[0]!.hostHeader).toBe('api.am.wso2.com:8443');
});

test('each node of a site is pinned through its own prefix on the loopback probe listener', () => {
  const resource = example('apim-active-active.yaml');
  const nodes = resource.spec.backends.external!.nodes.map((n) => n.name);
  const plan = planOf(resource);
  expect(plan.sites[0]!.nodes).toEqual(
    nodes.map((node, i) => ({ node, port: 8083, pathPrefix: `/.wso2fe-probe/node-${i}/` })),
  );
  const topology = topologyOf(resource);
  const vhost = renderNginx(topology, containerLayout(topology))['vhost-portal.conf']!;
  expect(vhost).toContain('listen 127.0.0.1:8083;');
  expect(vhost).toContain('location ^~ /.wso2fe-probe/node-1/ {\n        proxy_pass https://portal-https-node-1/;');
});

test('a pinned management site plans its one node', () => {
  const plan = planOf(example('is-pattern-1.yaml'));
  const management = plan.sites.find((s) => s.site === 'management')!;
  expect(management.nodes).toHaveLength(1);
});

test.each([
  ['identity-server', 'is-pattern-1', '7.1.0', 'identity', '/api/health-check/v1.0/health'],
  ['identity-server', 'is-pattern-1', '5.4.0', 'identity', '/carbon/admin/login.jsp'],
  ['api-manager', 'apim-distributed', '4.5.0', 'websocket', '/health'],
  ['api-manager', 'apim-distributed', '4.5.0', 'websub', '/'],
  ['enterprise-integrator', 'ei-cluster', '6.6.0', 'management', '/carbon/admin/login.jsp'],
  ['enterprise-integrator', 'ei-cluster', '6.6.0', 'integrator', '/services/Version'],
  ['micro-integrator', 'mi-cluster', '4.4.0', 'management', '/management/login'],
  ['micro-integrator', 'mi-cluster', '4.4.0', 'integrator', '/'],
] as const)('%s %s %s: site %s probes %s', (product, pattern, version, site, path) => {
  const spec = { product, pattern, version, backends: { managed: {} } } as unknown as Wso2Frontend['spec'];
  const topology = topologyOf({ ...example('apim-single.yaml'), spec });
  expect(topology.sites.find((s) => s.name === site)!.probePath).toBe(path);
});

test('the CA a certificate must chain to is a file of the served configuration, from the Secret when it has one', () => {
  const resource = withSpec(example('apim-active-active.yaml'), {
    tls: { mode: 'secret', secretName: 'user-tls' },
  });
  const plan = planOf(resource);
  expect(plan.sites[0]!.caFile).toBe('tls/secret-user-tls/ca.crt');
  const args = nginxDeployment(resource, topologyOf(resource)).spec!.template.spec!.containers[0]!.args!;
  const mount = parseSecretMount(args[args.indexOf('--secret') + 1]!);
  expect(mount).toMatchObject({ dir: 'tls/secret-user-tls', keys: ['tls.crt', 'tls.key'], optionalKeys: ['ca.crt'] });
});

test('the plan is covered by the configuration hash', () => {
  const resource = example('apim-active-active.yaml');
  const faster = withSpec(resource, { probes: { intervalSeconds: 10 } });
  const hashOf = (r: Wso2Frontend) =>
    nginxConfigMap(r, topologyOf(r)).metadata!.annotations!['wso2-frontend.dev/config-hash'];
  expect(planOf(faster).intervalSeconds).toBe(10);
  expect(hashOf(faster)).not.toBe(hashOf(resource));
});

test('with probes off there is no plan, no probe listener and no CA for the agent to read', () => {
  const resource = withSpec(example('apim-active-active.yaml'), { probes: { enabled: false } });
  const topology = topologyOf(resource);
  expect(renderProbePlan(topology, containerLayout(topology))).toBeUndefined();
  expect(nginxConfigMap(resource, topology).data).not.toHaveProperty(PROBE_PLAN_FILE);
  expect(Object.values(renderNginx(topology, containerLayout(topology))).join('\n')).not.toContain('8083');
  const args = nginxDeployment(resource, topology).spec!.template.spec!.containers[0]!.args!;
  expect(args.filter((a) => a.includes('ca.crt'))).toEqual([]);
});

test('a plan that is not one is refused with the place it breaks', () => {
  expect(parseProbePlan('{')).toMatch(/^probes.json is not JSON/);
  expect(parseProbePlan(JSON.stringify({ ...planOf(example('apim-single.yaml')), intervalSeconds: 0 }))).toMatch(
    /^probes.json\/intervalSeconds: /,
  );
});
