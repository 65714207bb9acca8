// The WSO2 pods the operator runs for managed backends: one workload and one Service per role,
// accepted by the real API server, a StatefulSet where a management host is pinned to pod -0,
// the product ports named and served, TCP probes, hardened pods, resources from the spec, and
// rollouts that surge before any pod goes and drain each pod from NGINX before it stops.
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import type { Wso2Frontend } from '../../src/api/schema.js';
import type { Role } from '../../src/api/vocabulary.js';
import type { Topology } from '../../src/model/topology.js';
import { productConfigMap, wso2Access, wso2Workloads, type Wso2Workload } from '../../src/render/workloads.js';
import { createNamespace, eventually, kubeConfig, kubectl } from '../support/cluster.js';
import { topologyOf } from '../support/frontend.js';
import { example, examples } from '../support/resources.js';

const MANAGED = ['apim-distributed.yaml', 'is-7-managed.yaml'];

let namespace: string;
beforeAll(async () => {
  namespace = await createNamespace('wso2-workloads');
});

const inNamespace = (resource: Wso2Frontend, ns: string): Wso2Frontend => ({
  ...resource,
  metadata: { ...resource.metadata, namespace: ns },
});
const manifests = (objects: object[]) => objects.map((o) => yaml.dump(o, { noRefs: true })).join('---\n');

function rendered(file: string): { topology: Topology; objects: Wso2Workload[] } {
  const frontend = example(file);
  const topology = topologyOf(frontend);
  return { topology, objects: wso2Workloads(frontend, topology) };
}

/** An example of the product, run by the operator, at another version. */
function managedOf(product: string, version: string): Wso2Frontend {
  const files: Record<string, string> = {
    'api-manager': 'apim-active-active.yaml',
    'identity-server': 'is-7-managed.yaml',
    'micro-integrator': 'mi-cluster.yaml',
    'enterprise-integrator': 'ei-cluster.yaml',
  };
  const resource = example(files[product]!);
  // The examples' site overrides may pin a host to an external node; the preset's sites do not.
  const { sites: _sites, ...spec } = resource.spec;
  return { ...resource, spec: { ...spec, version, backends: { managed: {} } } };
}

const workloadOf = (objects: Wso2Workload[], name: string) =>
  objects.find((o) => o.kind !== 'Service' && o.metadata!.name === name) as k8s.V1Deployment | k8s.V1StatefulSet;
const serviceOf = (objects: Wso2Workload[], name: string) =>
  objects.find((o) => o.kind === 'Service' && o.metadata!.name === name) as k8s.V1Service;
const containerOf = (objects: Wso2Workload[], name: string) =>
  workloadOf(objects, name).spec!.template.spec!.containers[0]!;

test.each(MANAGED)('the WSO2 workloads of %s are accepted by the API server', async (file) => {
  const frontend = inNamespace(example(file), namespace);
  const objects = wso2Workloads(frontend, topologyOf(frontend));
  const output = await kubectl(['apply', '--dry-run=server', '-f', '-'], manifests(objects));
  expect(output.trim().split('\n')).toHaveLength(objects.length);
});

test('external backends get no workloads', () => {
  const external = examples().filter((e) => e.resource.spec.backends.external);
  expect(external.length).toBeGreaterThan(0);
  for (const { resource } of external) expect(wso2Workloads(resource, topologyOf(resource))).toEqual([]);
});

test('Identity Server: workers in a Deployment, the manager (pinned management host) in a Parallel StatefulSet governed by its Service', () => {
  const { objects } = rendered('is-7-managed.yaml');
  expect(objects.map((o) => `${o.kind}/${o.metadata!.name}`)).toEqual([
    'Deployment/identity-7-worker',
    'Service/identity-7-worker',
    'StatefulSet/identity-7-manager',
    'Service/identity-7-manager',
  ]);
  const manager = workloadOf(objects, 'identity-7-manager') as k8s.V1StatefulSet;
  expect(manager.spec).toMatchObject({
    serviceName: 'identity-7-manager',
    podManagementPolicy: 'Parallel',
    replicas: 1,
  });
  expect(workloadOf(objects, 'identity-7-worker').spec!.replicas).toBe(3);
});

test('API Manager distributed: the control plane and traffic manager as StatefulSets (their peers list each pod), the gateway a Deployment, with the pattern replicas unless the spec overrides them', () => {
  const { objects } = rendered('apim-distributed.yaml');
  expect(
    objects
      .filter((o) => o.kind !== 'Service')
      .map((o) => `${o.kind}/${o.metadata!.name} x${(o as k8s.V1Deployment).spec!.replicas}`),
  ).toEqual([
    'StatefulSet/apim-distributed-control-plane x2',
    'Deployment/apim-distributed-gateway x3',
    'StatefulSet/apim-distributed-traffic-manager x2',
  ]);
  expect(objects.filter((o) => o.kind === 'Service').map((o) => o.metadata!.name)).toEqual([
    'apim-distributed-control-plane',
    'apim-distributed-control-plane-pods',
    'apim-distributed-gateway',
    'apim-distributed-traffic-manager',
    'apim-distributed-traffic-manager-pods',
  ]);
});

test("each role's pods select on instance and component, and its Service selects exactly them", () => {
  for (const file of MANAGED) {
    const { topology, objects } = rendered(file);
    const instance = example(file).metadata.name;
    for (const { role } of topology.backends.source === 'managed' ? topology.backends.components : []) {
      const name = `${instance}-${role}`;
      const selector = { 'app.kubernetes.io/instance': instance, 'app.kubernetes.io/component': role };
      const workload = workloadOf(objects, name);
      expect(workload.spec!.selector.matchLabels).toEqual(selector);
      expect(workload.spec!.template.metadata!.labels).toMatchObject(selector);
      expect(serviceOf(objects, name).spec!.selector).toEqual(selector);
    }
  }
});

test('containers name every upstream port of their role, and the role Service exposes the same ports by name', () => {
  for (const file of MANAGED) {
    const { topology, objects } = rendered(file);
    const instance = example(file).metadata.name;
    const roles = new Set<Role>(topology.upstreams.map((u) => u.role));
    for (const role of roles) {
      const ports = containerOf(objects, `${instance}-${role}`).ports!;
      for (const upstream of topology.upstreams.filter((u) => u.role === role)) {
        expect(ports).toContainEqual({
          name: `${upstream.protocol}-${upstream.port}`,
          containerPort: upstream.port,
          protocol: 'TCP',
        });
      }
      for (const port of ports) expect(port.name).toMatch(/^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/);
      expect(serviceOf(objects, `${instance}-${role}`).spec!.ports).toEqual(
        ports.map((p) => ({ name: p.name, port: p.containerPort, targetPort: p.name, protocol: 'TCP' })),
      );
    }
  }
});

test('roles listen on every product port of their sites, HTTP ones too when NGINX only redirects HTTP', () => {
  const names = (file: string, name: string) => containerOf(rendered(file).objects, name).ports!.map((p) => p.name);
  expect(names('is-7-managed.yaml', 'identity-7-worker')).toEqual(['https-9443', 'http-9763']);
  expect(names('is-7-managed.yaml', 'identity-7-manager')).toEqual(['https-9443', 'http-9763']);
  expect(names('apim-distributed.yaml', 'apim-distributed-control-plane')).toEqual([
    'https-9443',
    'http-9763',
    'jms-5672',
    'binary-9611',
    'binary-9711',
  ]);
  expect(names('apim-distributed.yaml', 'apim-distributed-gateway')).toEqual([
    'https-8243',
    'http-8280',
    'https-8099',
    'http-9099',
    'https-8021',
    'http-9021',
    // The control plane deploys APIs through it (helm-apim's gateway Service servlet-https).
    'servlet-https',
  ]);
  // No public host reaches the traffic manager; it serves Carbon's management port and the event ports.
  expect(names('apim-distributed.yaml', 'apim-distributed-traffic-manager')).toEqual([
    'https-9443',
    'jms-5672',
    'binary-9611',
    'binary-9711',
  ]);
});

test("startup, readiness and liveness probes open a TCP connection to the role's first HTTPS port", () => {
  const { objects } = rendered('apim-distributed.yaml');
  const gateway = containerOf(objects, 'apim-distributed-gateway');
  expect(gateway.startupProbe).toEqual({ tcpSocket: { port: 'https-8243' }, periodSeconds: 10, failureThreshold: 30 });
  expect(gateway.readinessProbe).toEqual({
    tcpSocket: { port: 'https-8243' },
    initialDelaySeconds: 30,
    periodSeconds: 10,
  });
  expect(gateway.livenessProbe).toEqual({
    tcpSocket: { port: 'https-8243' },
    initialDelaySeconds: 120,
    periodSeconds: 10,
    failureThreshold: 6,
  });
  for (const name of ['apim-distributed-control-plane', 'apim-distributed-traffic-manager']) {
    const container = containerOf(objects, name);
    for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe])
      expect(probe!.tcpSocket).toEqual({ port: 'https-9443' });
  }
});

test('a rollout: a Deployment starts a new pod before an old one goes, a StatefulSet replaces one pod at a time, each only 7 s after the new pod is ready; each WSO2 container serves 10 s more once terminating (preStop), within a 70 s grace period', () => {
  for (const file of MANAGED) {
    for (const workload of rendered(file).objects.filter((o) => o.kind !== 'Service')) {
      expect((workload as k8s.V1Deployment).spec!.minReadySeconds).toBe(7);
      if (workload.kind === 'Deployment')
        expect((workload as k8s.V1Deployment).spec!.strategy).toEqual({
          type: 'RollingUpdate',
          rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
        });
      else
        expect((workload as k8s.V1StatefulSet).spec!.updateStrategy).toEqual({
          type: 'RollingUpdate',
          rollingUpdate: { partition: 0 },
        });
      const pod = (workload as k8s.V1Deployment).spec!.template.spec!;
      expect(pod.containers.map((c) => [c.name, c.lifecycle])).toEqual([
        ['wso2', { preStop: { exec: { command: ['sleep', '10'] } } }],
      ]);
      expect(pod.terminationGracePeriodSeconds).toBe(70);
    }
  }
});

test('WSO2 pods run as the user of their official image (IS 802, API-M 4.3+ 10001), non-root, every container without privilege escalation or capabilities, the init containers on a read-only root; a service-account token only where clustering needs one', () => {
  const imageUser: Record<string, number> = { 'apim-distributed.yaml': 10001, 'is-7-managed.yaml': 802 };
  for (const file of MANAGED) {
    for (const workload of rendered(file).objects.filter((o) => o.kind !== 'Service') as k8s.V1Deployment[]) {
      const pod = workload.spec!.template.spec!;
      // Identity Server finds its cluster members through the Kubernetes API; API Manager does not cluster.
      expect(pod.automountServiceAccountToken).toBe(file === 'is-7-managed.yaml');
      expect(pod.serviceAccountName).toBe(`${example(file).metadata.name}-wso2`);
      expect(pod.securityContext).toEqual({
        runAsNonRoot: true,
        runAsUser: imageUser[file],
        runAsGroup: imageUser[file],
        fsGroup: imageUser[file],
        seccompProfile: { type: 'RuntimeDefault' },
      });
      // The product writes into its home; the init containers only into the pod's emptyDirs.
      for (const container of pod.containers)
        expect(container.securityContext).toEqual({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: false,
          capabilities: { drop: ['ALL'] },
        });
      for (const container of pod.initContainers!)
        expect(container.securityContext).toEqual({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
    }
  }
});

test.each([
  ['api-manager', '3.2.0', 802],
  ['api-manager', '4.2.0', 802],
  ['api-manager', '4.3.0', 10001],
  ['identity-server', '5.11.0', 802],
  ['identity-server', '7.1.0', 802],
  ['micro-integrator', '4.3.0', 802],
  ['micro-integrator', '4.4.0', 10802],
  ['enterprise-integrator', '6.6.0', 802],
] as const)('%s %s runs as uid and gid %i, as its official image does', (product, version, uid) => {
  expect(topologyOf(managedOf(product, version)).backends).toMatchObject({ source: 'managed', imageUser: uid });
});

test("the spec's resources replace the defaults (1 CPU and 2Gi requested, 4Gi memory limit)", () => {
  const { objects } = rendered('is-7-managed.yaml');
  expect(containerOf(objects, 'identity-7-worker').resources).toEqual({ requests: { cpu: '1', memory: '2Gi' } });
  expect(containerOf(objects, 'identity-7-manager').resources).toEqual({
    requests: { cpu: '1', memory: '2Gi' },
    limits: { memory: '4Gi' },
  });

  const bigger = example('apim-distributed.yaml');
  bigger.spec.backends.managed!.components = {
    gateway: { resources: { requests: { cpu: '2', memory: '4Gi' }, limits: { cpu: '4', memory: '6Gi' } } },
  };
  expect(containerOf(wso2Workloads(bigger, topologyOf(bigger)), 'apim-distributed-gateway').resources).toEqual({
    requests: { cpu: '2', memory: '4Gi' },
    limits: { cpu: '4', memory: '6Gi' },
  });
});

test('the pods run the managed image', () => {
  const frontend = example('is-7-managed.yaml');
  expect(containerOf(wso2Workloads(frontend, topologyOf(frontend)), 'identity-7-worker').image).toBe(
    'wso2/wso2is:7.1.0',
  );
  frontend.spec.backends.managed!.image = 'registry.example.com/wso2is:7.1.0-patched';
  expect(containerOf(wso2Workloads(frontend, topologyOf(frontend)), 'identity-7-manager').image).toBe(
    'registry.example.com/wso2is:7.1.0-patched',
  );
});

test('applied for real, the workers become Available, the manager gets its ready pod, and the role Services list the pods', async () => {
  const ns = await createNamespace('wso2-pods');
  const frontend = inNamespace(example('is-7-managed.yaml'), ns);
  const topology = topologyOf(frontend);
  await kubectl(
    ['apply', '-f', '-'],
    manifests([
      productConfigMap(frontend, topology),
      ...wso2Access(frontend, topology),
      ...wso2Workloads(frontend, topology),
    ]),
  );
  await kubectl(['wait', '--for=condition=Available', 'deployment/identity-7-worker', '-n', ns, '--timeout=90s']);

  const kc = kubeConfig();
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  await eventually(
    'the manager StatefulSet to have its ready replica',
    async () =>
      (await apps.readNamespacedStatefulSet({ name: 'identity-7-manager', namespace: ns })).status?.readyReplicas === 1
        ? true
        : undefined,
    90_000,
  );

  const core = kc.makeApiClient(k8s.CoreV1Api);
  const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
  for (const [role, count] of [
    ['worker', 3],
    ['manager', 1],
  ] as const) {
    const pods = (
      await core.listNamespacedPod({
        namespace: ns,
        labelSelector: `app.kubernetes.io/instance=identity-7,app.kubernetes.io/component=${role}`,
      })
    ).items;
    expect(pods).toHaveLength(count);
    if (role === 'manager') expect(pods[0]!.metadata!.name).toBe('identity-7-manager-0');
    const podIPs = pods.map((p) => p.status!.podIP!).sort();
    const ready = await eventually(`the ${role} EndpointSlice to list ${count} pods`, async () => {
      const slices = (
        await discovery.listNamespacedEndpointSlice({
          namespace: ns,
          labelSelector: `kubernetes.io/service-name=identity-7-${role}`,
        })
      ).items;
      const addresses = slices
        .flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready).flatMap((e) => e.addresses))
        .sort();
      return addresses.length === count ? addresses : undefined;
    });
    expect(ready).toEqual(podIPs);
  }
});
