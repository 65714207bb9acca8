// Distributed API Manager run by the operator: every control-plane and traffic-manager pod has a
// stable name and a DNS name of its own, each pod's deployment.toml lists its peers, the gateway
// Service carries the Carbon port the control plane deploys through, and each role starts with
// its own image or profile.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { parse as parseToml } from 'smol-toml';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { productConfigMap, wso2Workloads } from '../../src/render/workloads.js';
import { topologyOf } from '../support/frontend.js';

const frontend = (version: string, controlPlanes = 2, trafficManagers = 2): Wso2Frontend => ({
  apiVersion: 'wso2-frontend.dev/v1alpha1',
  kind: 'Wso2Frontend',
  metadata: { name: 'am', namespace: 'apim' },
  spec: {
    product: 'api-manager',
    version,
    pattern: 'apim-distributed',
    backends: {
      managed: {
        components: {
          'control-plane': { replicas: controlPlanes },
          'traffic-manager': { replicas: trafficManagers },
        },
      },
    },
  },
});

const objects = (f: Wso2Frontend) => wso2Workloads(f, topologyOf(f));
const named = <T extends k8s.KubernetesObject>(list: k8s.KubernetesObject[], kind: string, name: string) =>
  list.find((o) => o.kind === kind && o.metadata!.name === name) as T;

test("the gateway Service exposes Carbon's 9443 as servlet-https, as helm-apim's gateway Service, for the control plane's service_url", () => {
  const service = named<k8s.V1Service>(objects(frontend('4.4.0')), 'Service', 'am-gateway');
  expect(service.spec!.ports).toContainEqual({
    name: 'servlet-https',
    port: 9443,
    targetPort: 'servlet-https',
    protocol: 'TCP',
  });
  const gateway = named<k8s.V1Deployment>(objects(frontend('4.4.0')), 'Deployment', 'am-gateway');
  expect(gateway.spec!.template.spec!.containers[0]!.ports).toContainEqual({
    name: 'servlet-https',
    containerPort: 9443,
    protocol: 'TCP',
  });
});

test.each(['control-plane', 'traffic-manager'])(
  'the %s pods have stable names under a headless Service that publishes them before they are ready',
  (role) => {
    const list = objects(frontend('4.4.0'));
    const workload = named<k8s.V1StatefulSet>(list, 'StatefulSet', `am-${role}`);
    expect(workload.spec!.serviceName).toBe(`am-${role}-pods`);
    const pods = named<k8s.V1Service>(list, 'Service', `am-${role}-pods`);
    expect(pods.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    // The same pods as the role Service, which NGINX routes by.
    expect(pods.spec!.selector).toEqual(named<k8s.V1Service>(list, 'Service', `am-${role}`).spec!.selector);
  },
);

test.each(['control-plane', 'traffic-manager'])(
  'the %s StatefulSet rolls one pod at a time (no surge: a pod name exists once) and starts its pods in parallel',
  (role) => {
    const workload = named<k8s.V1StatefulSet>(objects(frontend('4.4.0')), 'StatefulSet', `am-${role}`);
    expect(workload.spec!.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
    expect(workload.spec!.podManagementPolicy).toBe('Parallel');
  },
);

test.each([
  // helm-apim 4.4.x: PROFILE_NAME on each role's deployment, which the image's entrypoint runs as -Dprofile=.
  {
    version: '4.4.0',
    roles: {
      'control-plane': ['wso2/wso2am:4.4.0', 'control-plane'],
      gateway: ['wso2/wso2am:4.4.0', 'gateway-worker'],
      'traffic-manager': ['wso2/wso2am:4.4.0', 'traffic-manager'],
    },
  },
  // docker-apim v4.5.0.1: one image per role, started by its own script; no profile.
  {
    version: '4.5.0',
    roles: {
      'control-plane': ['wso2/wso2am-acp:4.5.0', undefined],
      gateway: ['wso2/wso2am-universal-gw:4.5.0', undefined],
      'traffic-manager': ['wso2/wso2am-tm:4.5.0', undefined],
    },
  },
])('API-M $version: each role runs its image with its profile', ({ version, roles }) => {
  const list = objects(frontend(version));
  for (const [role, [image, profile]] of Object.entries(roles)) {
    const workload = list.find((o) => o.kind !== 'Service' && o.metadata!.name === `am-${role}`) as k8s.V1Deployment;
    const container = workload.spec!.template.spec!.containers[0]!;
    expect([role, container.image, container.env]).toEqual([
      role,
      image,
      profile ? [{ name: 'PROFILE_NAME', value: profile }] : undefined,
    ]);
  }
});

describe("each pod's deployment.toml, as the init containers write it", () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'wso2-frontend-distributed-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /**
   * What the pod `pod` of `workload` gets: the settings volume laid out as the kubelet projects the
   * ConfigMap's items, the patch container's args with $(VAR) expanded from its env as the kubelet
   * does, and the built `patch-product-config` run on the product's shipped deployment.toml.
   */
  function podToml(f: Wso2Frontend, workload: k8s.V1StatefulSet | k8s.V1Deployment, pod: string) {
    const configMap = productConfigMap(f, topologyOf(f));
    const spec = workload.spec!.template.spec!;
    const root = join(scratch, pod);
    const settings = spec.volumes!.find((v) => v.name === 'product-settings')!.configMap!;
    mkdirSync(join(root, 'settings'), { recursive: true });
    for (const item of settings.items!) writeFileSync(join(root, 'settings', item.path), configMap.data![item.key]!);
    mkdirSync(join(root, 'base', 'repository', 'conf'), { recursive: true });
    cpSync('test/fixtures/product/apim-4/deployment.toml', join(root, 'base/repository/conf/deployment.toml'));

    const patch = spec.initContainers!.find((c) => c.name === 'patch-product-config')!;
    const env = Object.fromEntries(
      (patch.env ?? []).map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath === 'metadata.name' ? pod : e.value]),
    );
    const args = patch
      .args!.map((a) => a.replace(/\$\((\w+)\)/g, (_, name: string) => env[name] ?? `$(${name})`))
      .map((a) => a.replace('/wso2-frontend', root));
    const result = spawnSync(process.execPath, [join(process.cwd(), 'dist/cli/main.js'), ...args], {
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    return parseToml(readFileSync(join(root, 'config/repository/conf/deployment.toml'), 'utf8')) as {
      apim: {
        throttling: {
          throttle_decision_endpoints: string[];
          event_duplicate_url?: string[];
          url_group: { traffic_manager_urls: string[]; type: string }[];
        };
        event_hub: {
          event_listening_endpoints: string[];
          event_duplicate_url?: string[];
          publish: { url_group: { urls: string[] }[] };
        };
      };
    };
  }

  const cp = (i: number) => `am-control-plane-${i}.am-control-plane-pods.apim.svc`;
  const tm = (i: number) => `am-traffic-manager-${i}.am-traffic-manager-pods.apim.svc`;

  test('3 control planes, 2 traffic managers: each control plane duplicates to the other two and publishes to all three', () => {
    const f = frontend('4.4.0', 3, 2);
    const workload = named<k8s.V1StatefulSet>(objects(f), 'StatefulSet', 'am-control-plane');
    for (const i of [0, 1, 2]) {
      const toml = podToml(f, workload, `am-control-plane-${i}`);
      expect(toml.apim.event_hub.event_duplicate_url).toEqual(
        [0, 1, 2].filter((j) => j !== i).map((j) => `tcp://${cp(j)}:5672`),
      );
      expect(toml.apim.event_hub.publish.url_group.map((g) => g.urls)).toEqual(
        [0, 1, 2].map((j) => [`tcp://${cp(j)}:9611`]),
      );
    }
  });

  test('each traffic manager duplicates throttle events to the other and listens to every control plane', () => {
    const f = frontend('4.4.0', 3, 2);
    const workload = named<k8s.V1StatefulSet>(objects(f), 'StatefulSet', 'am-traffic-manager');
    for (const i of [0, 1]) {
      const toml = podToml(f, workload, `am-traffic-manager-${i}`);
      expect(toml.apim.throttling.event_duplicate_url).toEqual([`tcp://${tm(1 - i)}:5672`]);
      expect(toml.apim.event_hub.event_listening_endpoints).toEqual([0, 1, 2].map((j) => `tcp://${cp(j)}:5672`));
    }
  });

  test('every gateway lists every traffic manager (one loadbalance url_group each) and every control plane', () => {
    const f = frontend('4.4.0', 2, 3);
    const workload = named<k8s.V1Deployment>(objects(f), 'Deployment', 'am-gateway');
    const toml = podToml(f, workload, 'am-gateway-7d9f-abcde');
    expect(toml.apim.throttling.throttle_decision_endpoints).toEqual([0, 1, 2].map((j) => `tcp://${tm(j)}:5672`));
    expect(toml.apim.throttling.url_group).toEqual(
      [0, 1, 2].map((j) =>
        expect.objectContaining({ traffic_manager_urls: [`tcp://${tm(j)}:9611`], type: 'loadbalance' }),
      ),
    );
    expect(toml.apim.event_hub.event_listening_endpoints).toEqual([0, 1].map((j) => `tcp://${cp(j)}:5672`));
  });

  test('scaling the traffic managers changes what the gateways and traffic managers are given, not the control planes', () => {
    const checksum = (f: Wso2Frontend) =>
      Object.fromEntries(
        objects(f)
          .filter((o) => o.kind !== 'Service')
          .map((o) => [
            o.metadata!.name,
            (o as k8s.V1Deployment).spec!.template.metadata!.annotations!['wso2-frontend.dev/product-config-checksum'],
          ]),
      );
    const [two, three] = [checksum(frontend('4.4.0', 2, 2)), checksum(frontend('4.4.0', 2, 3))];
    expect(two['am-control-plane']).toBe(three['am-control-plane']);
    expect(two['am-gateway']).not.toBe(three['am-gateway']);
    expect(two['am-traffic-manager']).not.toBe(three['am-traffic-manager']);
  });
});
