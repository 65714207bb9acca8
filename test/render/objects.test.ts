// The NGINX objects the operator will apply: accepted by the real API server for every example,
// hardened pods that run the reload agent with its own identity and readiness gate, given every
// Secret nginx.conf refers to, a Service that keeps client addresses, and a pod template that a
// change of the configuration or of a certificate leaves alone.
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import { parseSecretMount, SERVED_CONDITION } from '../../src/api/agent.js';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { agentAccess } from '../../src/render/agent.js';
import {
  certificateSecretName,
  configHash,
  desiredObjects,
  nginxConfigMap,
  nginxDeployment,
  nginxService,
  nginxName,
} from '../../src/render/objects.js';
import { createNamespace, eventually, kubeConfig, kubectl } from '../support/cluster.js';
import { topologyOf } from '../support/frontend.js';
import { example, examples } from '../support/resources.js';

let namespace: string;
beforeAll(async () => {
  namespace = await createNamespace('objects');
});

const inNamespace = (resource: Wso2Frontend): Wso2Frontend => ({
  ...resource,
  metadata: { ...resource.metadata, namespace },
});

test.each(examples().map((e) => [e.file, e.resource] as const))(
  'the NGINX objects of %s are accepted by the API server',
  async (_file, resource) => {
    const frontend = inNamespace(resource);
    const topology = topologyOf(frontend);
    const objects = [...agentAccess(frontend, topology), ...desiredObjects(frontend, topology)];
    const output = await kubectl(
      ['apply', '--dry-run=server', '-f', '-'],
      objects.map((o) => yaml.dump(o, { noRefs: true })).join('---\n'),
    );
    expect(output.trim().split('\n')).toHaveLength(objects.length);
  },
);

test('a PodDisruptionBudget exists only with more than one NGINX replica', () => {
  const kinds = (replicas: number) => {
    const frontend = example('apim-single.yaml');
    frontend.spec.nginx = { replicas };
    return desiredObjects(frontend, topologyOf(frontend)).map((o) => o.kind);
  };
  expect(kinds(1)).toEqual(['ConfigMap', 'Deployment', 'Service']);
  expect(kinds(2)).toEqual(['ConfigMap', 'Deployment', 'Service', 'PodDisruptionBudget']);
});

test('NGINX pods run as non-root with a read-only root file system and no capabilities, as the agent with its own identity', () => {
  const frontend = example('apim-active-active.yaml');
  const pod = nginxDeployment(frontend, topologyOf(frontend)).spec!.template.spec!;
  expect(pod.serviceAccountName).toBe(nginxName(frontend));
  expect(pod.automountServiceAccountToken).toBe(true);
  expect(pod.readinessGates).toEqual([{ conditionType: SERVED_CONDITION }]);
  expect(pod.securityContext).toMatchObject({
    runAsNonRoot: true,
    runAsUser: 101,
    seccompProfile: { type: 'RuntimeDefault' },
  });
  expect(pod.containers[0]!.securityContext).toEqual({
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
  });
  expect(pod.containers[0]!.image).toBe('wso2-frontend-nginx:0.1.0');
  expect(pod.containers[0]!.env!.map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath])).toEqual([
    ['POD_NAME', 'metadata.name'],
    ['POD_NAMESPACE', 'metadata.namespace'],
  ]);
});

test('the liveness probe waits for a startup probe on the same endpoint: a slowly starting agent is not killed', () => {
  const frontend = example('apim-active-active.yaml');
  const container = nginxDeployment(frontend, topologyOf(frontend)).spec!.template.spec!.containers[0]!;
  expect(container.startupProbe?.httpGet).toEqual(container.livenessProbe?.httpGet);
  const startupWindow = container.startupProbe!.periodSeconds! * container.startupProbe!.failureThreshold!;
  expect(startupWindow).toBeGreaterThanOrEqual(120);
});

test('the agent is given every Secret whose files nginx.conf names, laid out where nginx.conf expects them', () => {
  const secretFlags = (frontend: Wso2Frontend) => {
    const args = nginxDeployment(frontend, topologyOf(frontend)).spec!.template.spec!.containers[0]!.args!;
    return args.flatMap((arg, i) => (args[i - 1] === '--secret' ? [parseSecretMount(arg)] : []));
  };
  for (const file of ['is-pattern-1.yaml', 'is-7-managed.yaml', 'apim-active-active.yaml']) {
    const frontend = example(file);
    const referenced = Object.values(nginxConfigMap(frontend, topologyOf(frontend)).data!)
      .flatMap((text) => [...text.matchAll(/ssl_certificate(?:_key)? (\S+);/g)].map((m) => m[1]!))
      .sort();
    const given = secretFlags(frontend)
      .flatMap((m) => m.keys!.map((key) => `${m.dir}/${key}`))
      .sort();
    expect([...new Set(referenced)]).toEqual(given);
    const args = nginxDeployment(frontend, topologyOf(frontend)).spec!.template.spec!.containers[0]!.args!;
    expect(args.slice(0, 2)).toEqual(['--config-map', nginxName(frontend)]);
  }
  const managed = example('is-7-managed.yaml');
  // The operator's checked copy of the user's Secret example-com-tls, never that Secret itself.
  expect(secretFlags(managed).map((m) => m.secret)).toEqual([certificateSecretName(managed, 'secret-example-com-tls')]);
  expect(certificateSecretName(managed, 'secret-example-com-tls')).toBe('identity-7-tls-secret-example-com-tls');
});

test("the Service keeps client addresses for load balancers and carries the user's annotations", () => {
  const frontend = example('apim-active-active.yaml');
  frontend.spec.nginx = {
    service: { type: 'LoadBalancer', annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' } },
  };
  const service = nginxService(frontend, topologyOf(frontend));
  expect(service.spec).toMatchObject({
    type: 'LoadBalancer',
    externalTrafficPolicy: 'Local',
    ports: [
      { name: 'http', port: 80, targetPort: 'http' },
      { name: 'https', port: 443, targetPort: 'https' },
    ],
  });
  expect(service.metadata!.annotations).toEqual({ 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' });
});

test('the configuration hash changes with the configuration or a certificate, and only then', () => {
  const frontend = example('apim-active-active.yaml');
  const files = nginxConfigMap(frontend, topologyOf(frontend)).data!;
  expect(configHash(files)).toBe(configHash({ ...files }));
  expect(configHash(files, ['cert-v2'])).not.toBe(configHash(files, ['cert-v1']));
  const changed = example('apim-active-active.yaml');
  changed.spec.nginx = { timeouts: { connect: '10s' } };
  expect(configHash(nginxConfigMap(changed, topologyOf(changed)).data!)).not.toBe(configHash(files));
});

test('a change of the configuration or of a certificate leaves the pod template alone; a new image changes it', () => {
  const deploymentOf = (frontend: Wso2Frontend, certificates: string[] = []) =>
    desiredObjects(frontend, topologyOf(frontend), certificates).find((o) => o.kind === 'Deployment')!;
  const frontend = example('apim-active-active.yaml');
  const before = deploymentOf(frontend);
  const changed = example('apim-active-active.yaml');
  changed.spec.nginx = { timeouts: { connect: '10s' }, hsts: { enabled: false } };
  expect(deploymentOf(changed, ['renewed'])).toEqual(before);
  changed.spec.nginx.image = 'registry.example.com/wso2-frontend-nginx:0.1.1';
  expect(deploymentOf(changed)).not.toEqual(before);
});

test('applied for real, the NGINX Deployment becomes Available and its Service lists the pods', async () => {
  const frontend = inNamespace(example('apim-active-active.yaml'));
  const topology = topologyOf(frontend);
  const objects = [...agentAccess(frontend, topology), ...desiredObjects(frontend, topology)];
  await kubectl(['apply', '-f', '-'], objects.map((o) => yaml.dump(o, { noRefs: true })).join('---\n'));
  await kubectl([
    'wait',
    '--for=condition=Available',
    'deployment/apim-active-active-nginx',
    '-n',
    namespace,
    '--timeout=90s',
  ]);
  const discovery = kubeConfig().makeApiClient(k8s.DiscoveryV1Api);
  const ready = await eventually('two ready NGINX endpoints', async () => {
    const slices = (
      await discovery.listNamespacedEndpointSlice({
        namespace,
        labelSelector: 'kubernetes.io/service-name=apim-active-active-nginx',
      })
    ).items;
    const endpoints = slices.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready));
    return endpoints.length === 2 ? endpoints : undefined;
  });
  expect(ready.map((e) => e.targetRef?.kind)).toEqual(['Pod', 'Pod']);
});

test("the Secret NGINX serves a user's Secret from fits a Secret name also for the longest user Secret name", () => {
  const frontend = { metadata: { name: 'f'.repeat(40) } } as Wso2Frontend;
  const longest = (last: string) => `secret-${'a'.repeat(245)}${last}`;
  const [one, two] = [certificateSecretName(frontend, longest('1')), certificateSecretName(frontend, longest('2'))];
  expect(one.length).toBeLessThanOrEqual(253);
  expect(one).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
  expect(one).not.toBe(two);
  expect(certificateSecretName(frontend, 'secret-short')).toBe(`${'f'.repeat(40)}-tls-secret-short`);
});
