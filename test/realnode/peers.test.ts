// Distributed API Manager in HA on real pods: two control planes, two traffic managers and two
// gateways of API-M 4.4 (one image per version, each role started with its profile as helm-apim
// 4.4.x does). From inside each running WSO2 pod, its deployment.toml names every peer instance
// by the stable name of its pod (the StatefulSet pod's hostname under the headless Service), as
// WSO2's notes on separating the traffic manager ask: a gateway subscribed to one event hub
// misses the events the other publishes, and throttle counts split across traffic managers.
import * as k8s from '@kubernetes/client-node';
import { parse } from 'smol-toml';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { createNamespace, eventually, kubeConfig, kubectl } from '../support/cluster.js';
import {
  conditionOf,
  example,
  installCrd,
  provideBaseConfig,
  provideTlsSecrets,
  readFrontend,
} from '../support/resources.js';
import { core, onRealPods, startOperator } from '../support/real-pods.js';

const ROLES = ['control-plane', 'traffic-manager', 'gateway'] as const;
type Role = (typeof ROLES)[number];
/** helm-apim 4.4.x's profiles (`-Dprofile=`), which the 4.0-4.4 image's entrypoint takes from PROFILE_NAME. */
const PROFILE: Record<Role, string> = {
  'control-plane': 'control-plane',
  'traffic-manager': 'traffic-manager',
  gateway: 'gateway-worker',
};

let operator: { stop: () => Promise<void> };
let namespace: string;
let resource: Wso2Frontend;
const name = 'apim-ha';

beforeAll(async () => {
  await installCrd();
  operator = await startOperator();
  namespace = await createNamespace('apim-ha');
  const shipped = example('apim-distributed.yaml');
  const twoEach: Wso2Frontend = {
    ...shipped,
    metadata: { name, namespace },
    spec: {
      ...shipped.spec,
      version: '4.4.0',
      backends: {
        managed: { components: Object.fromEntries(ROLES.map((role) => [role, { replicas: 2 }])) },
      },
    },
  };
  resource = onRealPods(twoEach);
  await provideBaseConfig(resource, namespace);
  await provideTlsSecrets(resource, namespace);
  await kubectl(['apply', '--server-side', '-n', namespace, '-f', '-'], JSON.stringify(resource));
});

afterAll(async () => {
  if (namespace) await core().deleteNamespace({ name: namespace });
  await operator?.stop();
});

/** The keys of deployment.toml read here (each present only on the roles that get it). */
interface DistributedToml {
  apim: {
    event_hub: {
      event_listening_endpoints?: string[];
      event_duplicate_url?: string[];
      publish?: { url_group?: unknown[] };
    };
    throttling: { throttle_decision_endpoints?: string[]; url_group?: unknown[]; event_duplicate_url?: string[] };
  };
}

interface RunningPod {
  pod: k8s.V1Pod;
  role: Role;
  toml: DistributedToml;
  profile: string;
}

const exec = (pod: k8s.V1Pod, script: string) =>
  kubectl([
    'exec',
    '-n',
    namespace,
    pod.metadata!.name!,
    '-c',
    pod.spec!.containers[0]!.name,
    '--',
    'sh',
    '-c',
    script,
  ]);

/** The WSO2 pods of each role, with the deployment.toml and PROFILE_NAME each one runs with. */
async function runningPods(): Promise<RunningPod[]> {
  const apps = kubeConfig().makeApiClient(k8s.AppsV1Api);
  const found: RunningPod[] = [];
  for (const role of ROLES) {
    const workload =
      role === 'gateway'
        ? await apps.readNamespacedDeployment({ name: `${name}-${role}`, namespace })
        : await apps.readNamespacedStatefulSet({ name: `${name}-${role}`, namespace });
    const selector = Object.entries(workload.spec!.selector.matchLabels!)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const pods = (await core().listNamespacedPod({ namespace, labelSelector: selector })).items.filter(
      (p) => !p.metadata!.deletionTimestamp,
    );
    for (const pod of pods) {
      const file = await exec(pod, 'cat "$WSO2_SERVER_HOME/repository/conf/deployment.toml"');
      const toml = parse(file) as unknown as DistributedToml;
      found.push({ pod, role, toml, profile: (await exec(pod, 'printf %s "$PROFILE_NAME"')).trim() });
    }
  }
  return found;
}

test('two instances of each role run, each with its own profile, and the frontend is Ready', async () => {
  await eventually(
    'Ready',
    async () => {
      const f = await readFrontend(namespace, name);
      return conditionOf(f, 'Ready')?.status === 'True' ? f : undefined;
    },
    400_000,
  ).catch(async (error: Error) => {
    const pods = await kubectl(['get', 'pods', '-n', namespace, '-o', 'wide']);
    throw new Error(`${error.message}\n${pods}`);
  });
  const pods = await runningPods();
  for (const role of ROLES) {
    const ofRole = pods.filter((p) => p.role === role);
    expect(ofRole).toHaveLength(2);
    for (const { profile } of ofRole) expect(profile).toBe(PROFILE[role]);
  }
}, 420_000);

test('from inside each pod, its configuration names every peer instance by its pod name, and never itself as a peer', async () => {
  const pods = await runningPods();
  /** The stable DNS name of each StatefulSet pod of `role`, from the pods themselves: hostname.subdomain.namespace.svc. */
  const instances = (role: Role) =>
    pods
      .filter((p) => p.role === role)
      .map(({ pod }) => {
        expect(pod.spec!.hostname).toBe(pod.metadata!.name);
        expect(pod.spec!.subdomain).toBeDefined();
        return { pod: pod.metadata!.name!, host: `${pod.spec!.hostname}.${pod.spec!.subdomain}.${namespace}.svc` };
      })
      .sort((a, b) => a.pod.localeCompare(b.pod));
  const controlPlanes = instances('control-plane');
  const trafficManagers = instances('traffic-manager');
  // The headless Services list each pod under its hostname, which is what makes the names resolve.
  for (const role of ['control-plane', 'traffic-manager'] as const) {
    const subdomain = pods.find((p) => p.role === role)!.pod.spec!.subdomain!;
    const service = await core().readNamespacedService({ name: subdomain, namespace });
    expect(service.spec!.clusterIP).toBe('None');
    expect(service.spec!.publishNotReadyAddresses).toBe(true);
  }

  const listening = controlPlanes.map((cp) => `tcp://${cp.host}:5672`);
  for (const { pod, role, toml } of pods) {
    const self = pod.metadata!.name!;
    const others = (list: { pod: string; host: string }[]) =>
      list.filter((i) => i.pod !== self).map((i) => `tcp://${i.host}:5672`);
    switch (role) {
      case 'gateway':
        expect(toml.apim.event_hub.event_listening_endpoints).toEqual(listening);
        expect(toml.apim.throttling.throttle_decision_endpoints).toEqual(
          trafficManagers.map((tm) => `tcp://${tm.host}:5672`),
        );
        expect(toml.apim.throttling.url_group).toEqual(
          trafficManagers.map((tm) => ({
            traffic_manager_urls: [`tcp://${tm.host}:9611`],
            traffic_manager_auth_urls: [`ssl://${tm.host}:9711`],
            type: 'loadbalance',
          })),
        );
        break;
      case 'control-plane':
        expect(toml.apim.event_hub.event_duplicate_url).toEqual(others(controlPlanes));
        expect(toml.apim.event_hub.publish?.url_group).toEqual(
          controlPlanes.map((cp) => ({ urls: [`tcp://${cp.host}:9611`], auth_urls: [`ssl://${cp.host}:9711`] })),
        );
        break;
      case 'traffic-manager':
        expect(toml.apim.event_hub.event_listening_endpoints).toEqual(listening);
        expect(toml.apim.throttling.event_duplicate_url).toEqual(others(trafficManagers));
        break;
    }
  }
});
