// Every example with managed backends, applied as it is (with this build's images and requests
// small enough for a 2-core node), on real pods: the WSO2 stand-ins boot with the configuration
// the operator's init containers patched, the NGINX pods' real agents report what they serve,
// the frontend becomes Ready, and requests cross the NGINX Service (ClusterIP through kube-proxy,
// and NodePort) to a WSO2 pod.
import type { Wso2Frontend } from '../../src/api/schema.js';
import { nginxName } from '../../src/render/objects.js';
import { REAL_NODE_IP } from '../../src/localcluster/pki.js';
import { createNamespace, eventually, kubectl } from '../support/cluster.js';
import {
  conditionOf,
  examples,
  readFrontend,
  installCrd,
  provideBaseConfig,
  provideTlsSecrets,
  sitesOf,
} from '../support/resources.js';
import { core, curl, onRealPods, startOperator } from '../support/real-pods.js';
import { topologyOf } from '../support/frontend.js';

const MANAGED = examples().filter(({ resource }) => resource.spec.backends.managed);
let operator: { stop: () => Promise<void> };

beforeAll(async () => {
  await installCrd();
  operator = await startOperator();
});

afterAll(async () => {
  await operator?.stop();
});

test('the examples with managed backends are the ones this file runs', () => {
  expect(MANAGED.map((e) => e.file).sort()).toEqual(['apim-distributed.yaml', 'is-7-managed.yaml']);
});

const applied = new Map<string, { namespace: string; resource: Wso2Frontend }>();

// All at once: their pods start side by side.
beforeAll(async () => {
  for (const { resource: example } of MANAGED) {
    const namespace = await createNamespace(example.metadata.name.slice(0, 20));
    const resource = onRealPods({ ...example, metadata: { ...example.metadata, namespace } });
    await provideBaseConfig(resource, namespace);
    await provideTlsSecrets(resource, namespace);
    await kubectl(['apply', '--server-side', '-n', namespace, '-f', '-'], JSON.stringify(resource));
    applied.set(example.metadata.name, { namespace, resource });
  }
});

afterAll(async () => {
  for (const { namespace } of applied.values()) await core().deleteNamespace({ name: namespace });
});

describe.each(MANAGED)('$file on real pods', ({ resource: example }) => {
  let namespace: string;
  let resource: Wso2Frontend;
  const name = example.metadata.name;

  beforeAll(() => {
    ({ namespace, resource } = applied.get(name)!);
  });

  test('becomes Ready: Serving from the real agents, ProductConfigured', async () => {
    const ready = await eventually(
      'Ready',
      async () => {
        const f = await readFrontend(namespace, name);
        return conditionOf(f, 'Ready')?.status === 'True' ? f : undefined;
      },
      280_000,
    ).catch(async (error: Error) => {
      const live = await kubectl(['get', 'wso2frontend', name, '-n', namespace, '-o', 'yaml']);
      const pods = await kubectl(['get', 'pods', '-n', namespace, '-o', 'wide']);
      throw new Error(`${error.message}\n${live}\n${pods}`);
    });
    expect(conditionOf(ready, 'Serving')?.status).toBe('True');
    expect(conditionOf(ready, 'ProductConfigured')?.status).toBe('True');
    expect(conditionOf(ready, 'ConfigurationServed')?.status).toBe('True');
  }, 300_000);

  test('each WSO2 pod started with the public host and the proxy port in its configuration', async () => {
    const pods = (await core().listNamespacedPod({ namespace })).items;
    // The WSO2 image, or a role's own (API-M 4.5 distributed: wso2am-acp, -universal-gw, -tm).
    const managed = resource.spec.backends.managed!;
    const images = [managed.image, ...Object.values(managed.components ?? {}).map((c) => c?.image)];
    const wso2 = pods.filter((p) => p.spec?.containers.some((c) => images.includes(c.image)));
    expect(wso2.length).toBeGreaterThan(0);
    const hosts = sitesOf(resource).map((s) => s.host);
    for (const pod of wso2) {
      const toml = await kubectl([
        'exec',
        '-n',
        namespace,
        pod.metadata!.name!,
        '-c',
        pod.spec!.containers[0]!.name,
        '--',
        'sh',
        '-c',
        'cat "$WSO2_SERVER_HOME/repository/conf/deployment.toml"',
      ]);
      expect(toml).toMatch(/^proxyPort = 443$/m);
      expect(hosts.some((host) => toml.includes(`hostname = "${host}"`))).toBe(true);
    }
  });

  test('requests cross the NGINX Service by ClusterIP and by NodePort to a WSO2 pod', async () => {
    const service = await core().readNamespacedService({ name: nginxName(resource), namespace });
    const clusterIp = service.spec!.clusterIP!;
    const httpsPort = service.spec!.ports!.find((p) => p.name === 'https')!;
    // IS 7's Console host proxies only the Console's paths (docs-is configure-console-hostname.md).
    const consoleHosts = topologyOf(resource)
      .sites.filter((s) => s.consoleOf)
      .map((s) => s.host);
    for (const site of sitesOf(resource)) {
      const path = consoleHosts.includes(site.host) ? '/console' : '/';
      const viaClusterIp = await eventually(`${site.host} through the ClusterIP`, async () => {
        const r = await curl(['-k', '--resolve', `${site.host}:443:${clusterIp}`, `https://${site.host}${path}`]);
        return r.ok ? r.out : undefined;
      });
      expect(JSON.parse(viaClusterIp)).toMatchObject({ node: expect.stringContaining(name) });
      const viaNodePort = await curl([
        '-k',
        '--resolve',
        `${site.host}:${httpsPort.nodePort}:${REAL_NODE_IP}`,
        `https://${site.host}:${httpsPort.nodePort}${path}`,
      ]);
      expect(viaNodePort.ok).toBe(true);
      expect(JSON.parse(viaNodePort.out)).toMatchObject({ node: expect.stringContaining(name) });
    }
  });
});
