// The NGINX objects the operator will apply: accepted by the real API server for every example,
// hardened pods, a projected volume laid out exactly as nginx.conf refers to it, a Service that
// keeps client addresses, and a hash on the pod template that changes with the configuration.
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import type { Wso2Frontend } from '../../src/api/schema.js';
import {
  certificateSecretName,
  configHash,
  desiredObjects,
  nginxConfigMap,
  nginxDeployment,
  nginxService,
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
    const objects = desiredObjects(frontend, topologyOf(frontend));
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

test('NGINX pods run as non-root with a read-only root file system, no capabilities and no service-account token', () => {
  const frontend = example('apim-active-active.yaml');
  const pod = nginxDeployment(frontend, topologyOf(frontend), 'h').spec!.template.spec!;
  expect(pod.automountServiceAccountToken).toBe(false);
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
});

test('every certificate file nginx.conf names is projected into the configuration volume from its Secret', () => {
  for (const file of ['is-pattern-1.yaml', 'is-7-managed.yaml', 'apim-active-active.yaml']) {
    const frontend = example(file);
    const topology = topologyOf(frontend);
    const referenced = Object.values(nginxConfigMap(frontend, topology).data!)
      .flatMap((text) => [...text.matchAll(/ssl_certificate(?:_key)? (\S+);/g)].map((m) => m[1]!))
      .sort();
    const sources = nginxDeployment(frontend, topology, 'h').spec!.template.spec!.volumes![0]!.projected!.sources!;
    const projected = sources.flatMap((s) => s.secret?.items?.map((i) => i.path) ?? []).sort();
    expect([...new Set(referenced)]).toEqual(projected);
  }
  const managed = example('is-7-managed.yaml');
  const secrets = nginxDeployment(
    managed,
    topologyOf(managed),
    'h',
  ).spec!.template.spec!.volumes![0]!.projected!.sources!.map((s) => s.secret?.name);
  // The operator's checked copy of the user's Secret example-com-tls, never that Secret itself.
  expect(secrets).toEqual([undefined, 'identity-7-tls-secret-example-com-tls']);
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

test('the configuration hash on the pod template changes with the configuration or a certificate, and only then', () => {
  const frontend = example('apim-active-active.yaml');
  const files = nginxConfigMap(frontend, topologyOf(frontend)).data!;
  expect(configHash(files)).toBe(configHash({ ...files }));
  expect(configHash(files, ['cert-v2'])).not.toBe(configHash(files, ['cert-v1']));
  const changed = example('apim-active-active.yaml');
  changed.spec.nginx = { timeouts: { read: '10m' } };
  expect(configHash(nginxConfigMap(changed, topologyOf(changed)).data!)).not.toBe(configHash(files));
});

test('applied for real, the NGINX Deployment becomes Available and its Service lists the pods', async () => {
  const frontend = inNamespace(example('apim-active-active.yaml'));
  const objects = desiredObjects(frontend, topologyOf(frontend));
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
