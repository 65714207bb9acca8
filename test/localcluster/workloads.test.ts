// kube-controller-manager, kube-scheduler and kwok's fake node turn a Deployment into Ready
// pods and fill its Service's EndpointSlice with their addresses, with no real containers.
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import { createNamespace, eventually, kubeConfig, kubectl } from '../support/cluster.js';

let namespace: string;

beforeAll(async () => {
  namespace = await createNamespace('workloads');
});

const labels = { app: 'fake-wso2' };
const manifests = (ns: string) => [
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'fake-wso2', namespace: ns },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          // What the namespace's `restricted` Pod Security Standard asks of every pod.
          securityContext: { runAsNonRoot: true, runAsUser: 802, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'carbon',
              image: 'wso2/wso2am:4.5.0',
              ports: [{ name: 'https', containerPort: 9443 }],
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            },
          ],
        },
      },
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'fake-wso2', namespace: ns },
    spec: { selector: labels, ports: [{ name: 'https', port: 9443, targetPort: 'https' }] },
  },
];

test('a Deployment becomes Available and its Service EndpointSlice lists the ready pod addresses', async () => {
  await kubectl(
    ['apply', '-f', '-'],
    manifests(namespace)
      .map((m) => yaml.dump(m))
      .join('---\n'),
  );
  await kubectl(['wait', '--for=condition=Available', 'deployment/fake-wso2', '-n', namespace, '--timeout=90s']);

  const kc = kubeConfig();
  const pods = (await kc.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace, labelSelector: 'app=fake-wso2' }))
    .items;
  expect(pods).toHaveLength(2);
  for (const pod of pods) {
    expect(pod.status?.phase).toBe('Running');
    expect(pod.status?.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'True' }));
    expect(pod.status?.podIP).toMatch(/^10\.244\.\d+\.\d+$/);
  }
  const podIPs = pods.map((p) => p.status!.podIP!).sort();

  const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
  const endpoints = await eventually('the EndpointSlice to list both pods', async () => {
    const slices = (
      await discovery.listNamespacedEndpointSlice({ namespace, labelSelector: 'kubernetes.io/service-name=fake-wso2' })
    ).items;
    const ready = slices.flatMap((s) =>
      (s.endpoints ?? []).filter((e) => e.conditions?.ready).flatMap((e) => e.addresses),
    );
    return ready.length === 2 ? { slices, ready: ready.sort() } : undefined;
  });
  expect(endpoints.ready).toEqual(podIPs);
  expect(endpoints.slices[0]!.ports).toEqual([expect.objectContaining({ name: 'https', port: 9443 })]);
});
