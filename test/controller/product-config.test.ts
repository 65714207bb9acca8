// The product configuration against the real control plane, with the operator running: the WSO2
// pod templates carry the init containers, volumes and checksum; a host edit rolls the WSO2 pods
// once and changes the patched settings; an NGINX-only edit leaves the WSO2 workloads untouched;
// the WSO2 ServiceAccount can read endpoints and pods of its namespace and nothing more; external
// nodes get their <name>-product-config ConfigMap; a user's base file that does not parse is on
// the status with nothing rolled, and an owned key it overrides is named in a Warning Event.
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { createOperator } from '../../src/controller/setup.js';
import type { Controller } from '../../src/controller/runtime/controller.js';
import { PRODUCT_CONFIG_CHECKSUM } from '../../src/render/workloads.js';
import { createNamespace, eventsWith, eventually, kubeConfig, kubectl, kubectlOutcome } from '../support/cluster.js';
import { conditionOf, example, frontendOnce, installCrd, readFrontend } from '../support/resources.js';

let namespace: string;
let controller: Controller<Wso2Frontend>;
const apps = () => kubeConfig().makeApiClient(k8s.AppsV1Api);
const core = () => kubeConfig().makeApiClient(k8s.CoreV1Api);

/** Identity Server 7 run by the operator, with issued certificates. */
const identity: Wso2Frontend = (() => {
  const base = example('is-7-managed.yaml');
  const { tls: _tls, ...spec } = base.spec;
  return { ...base, metadata: { name: 'identity' }, spec };
})();

const read = (name: string) => readFrontend(namespace, name);
const apply = (resource: Wso2Frontend) =>
  kubectl(['apply', '--server-side', '--force-conflicts', '-n', namespace, '-f', '-'], yaml.dump(resource));
const ready = (name: string) =>
  kubectl(['wait', '--for=condition=Ready', `wso2frontend/${name}`, '-n', namespace, '--timeout=90s']);
const worker = () => apps().readNamespacedDeployment({ name: 'identity-worker', namespace });
const replicaSets = async () =>
  (
    await apps().listNamespacedReplicaSet({
      namespace,
      labelSelector: 'app.kubernetes.io/instance=identity,app.kubernetes.io/component=worker',
    })
  ).items;
const events = (reason: string) => eventsWith(namespace, reason);

beforeAll(async () => {
  await installCrd();
  namespace = await createNamespace('product-config');
  ({ controller } = createOperator({
    kubeConfig: kubeConfig(),
    namespaces: [namespace],
    // Long: every change below must be noticed through a watch, not by a resync.
    resyncPeriodMs: 600_000,
    identity: 'test',
  }));
  await controller.start();
  await apply(identity);
  await ready('identity');
});

afterAll(async () => {
  await controller?.stop();
});

test('Ready includes ProductConfigured: every WSO2 pod runs the patched configuration, and the status names the ConfigMap', async () => {
  const f = await read('identity');
  expect(conditionOf(f, 'ProductConfigured')).toMatchObject({ status: 'True', reason: 'Configured' });
  expect(f.status?.productConfigMap).toBe('identity-product-config');
  const configMap = await core().readNamespacedConfigMap({ name: 'identity-product-config', namespace });
  expect(Object.keys(configMap.data ?? {}).sort()).toEqual(['manager.json', 'worker.json']);
  expect(configMap.data!['worker.json']).toContain('"value": "login.example.com"');
});

test('the WSO2 pod templates carry the init containers, the volumes, the ServiceAccount and the checksum', async () => {
  const template = (await worker()).spec!.template;
  expect(template.metadata!.annotations![PRODUCT_CONFIG_CHECKSUM]).toMatch(/^[0-9a-f]{16}$/);
  expect(template.spec!.initContainers!.map((c) => c.name)).toEqual(['product-files', 'patch-product-config']);
  expect(template.spec!.volumes!.map((v) => v.name)).toEqual([
    'product-base',
    'product-config',
    'product-settings',
    'lb-ca',
  ]);
  expect(template.spec!.serviceAccountName).toBe('identity-wso2');
  const manager = await apps().readNamespacedStatefulSet({ name: 'identity-manager', namespace });
  expect(manager.spec!.template.metadata!.annotations![PRODUCT_CONFIG_CHECKSUM]).toMatch(/^[0-9a-f]{16}$/);
});

test('the WSO2 ServiceAccount reads endpoints and pods of its namespace, and nothing more', async () => {
  const as = `system:serviceaccount:${namespace}:identity-wso2`;
  // kubectl auth can-i answers on stdout and with its exit code (0 yes, 1 no).
  const can = async (...args: string[]) => (await kubectlOutcome(['auth', 'can-i', ...args, '--as', as])).stdout.trim();
  expect(await can('list', 'endpoints', '-n', namespace)).toBe('yes');
  expect(await can('get', 'pods', '-n', namespace)).toBe('yes');
  expect(await can('watch', 'pods', '-n', namespace)).toBe('no');
  expect(await can('create', 'pods', '-n', namespace)).toBe('no');
  expect(await can('list', 'secrets', '-n', namespace)).toBe('no');
  expect(await can('list', 'configmaps', '-n', namespace)).toBe('no');
  expect(await can('list', 'pods', '-n', 'default')).toBe('no');
  expect(await can('list', 'pods', '--all-namespaces')).toBe('no');
});

test('an NGINX-only edit leaves the WSO2 workloads untouched (same resourceVersion)', async () => {
  const before = {
    worker: (await worker()).metadata!.resourceVersion,
    manager: (await apps().readNamespacedStatefulSet({ name: 'identity-manager', namespace })).metadata!
      .resourceVersion,
  };
  await apply({ ...identity, spec: { ...identity.spec, nginx: { replicas: 3, timeouts: { read: '9m' } } } });
  await eventually('the NGINX Deployment to have 3 replicas', async () =>
    (await apps().readNamespacedDeployment({ name: 'identity-nginx', namespace })).spec?.replicas === 3
      ? true
      : undefined,
  );
  await ready('identity');
  expect({
    worker: (await worker()).metadata!.resourceVersion,
    manager: (await apps().readNamespacedStatefulSet({ name: 'identity-manager', namespace })).metadata!
      .resourceVersion,
  }).toEqual(before);
});

test('a host edit changes the patched settings and rolls the WSO2 pods once', async () => {
  const checksum = (await worker()).spec!.template.metadata!.annotations![PRODUCT_CONFIG_CHECKSUM];
  const sets = (await replicaSets()).length;
  await apply({
    ...identity,
    spec: {
      ...identity.spec,
      nginx: { replicas: 3, timeouts: { read: '9m' } },
      sites: { ...identity.spec.sites, identity: { host: 'id.example.com' } },
    },
  });
  await eventually('the worker pod template to get a new checksum', async () => {
    const now = (await worker()).spec!.template.metadata!.annotations![PRODUCT_CONFIG_CHECKSUM];
    return now !== checksum ? now : undefined;
  });
  await ready('identity');
  const configMap = await core().readNamespacedConfigMap({ name: 'identity-product-config', namespace });
  expect(configMap.data!['worker.json']).toContain('"value": "id.example.com"');
  expect(configMap.data!['worker.json']).not.toContain('login.example.com');
  // One new ReplicaSet: the roll happened once, and the later reconciles did not roll again.
  expect((await replicaSets()).length).toBe(sets + 1);
  expect((await worker()).metadata!.generation).toBe(2);
});

test('external nodes get their <name>-product-config ConfigMap, named in the status', async () => {
  const external = example('apim-2-active-active.yaml');
  await apply(external);
  await ready(external.metadata.name);
  const f = await read(external.metadata.name);
  expect(f.status?.productConfigMap).toBe('apim-2-product-config');
  expect(conditionOf(f, 'ProductConfigured')).toMatchObject({ status: 'True', reason: 'Published' });
  const data = (await core().readNamespacedConfigMap({ name: 'apim-2-product-config', namespace })).data!;
  expect(data['all-in-one.CHANGES.txt']).toContain('Server/HostName = "apim.example.com"');
});

describe("a user's base ConfigMap", () => {
  const withBase: Wso2Frontend = {
    ...identity,
    metadata: { name: 'identity-base' },
    spec: { ...identity.spec, backends: { managed: { configMapName: 'identity-base-files' } } },
  };
  const baseFiles = (toml: string) =>
    kubectl(
      ['apply', '-n', namespace, '-f', '-'],
      yaml.dump({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'identity-base-files' },
        data: { 'deployment.toml': toml },
      }),
    );

  test('an owned key it overrides is named in a Warning Event and on ProductConfigured; the operator value wins', async () => {
    await baseFiles('[server]\nhostname = "is.corp.internal"\n');
    await apply(withBase);
    await ready('identity-base');
    const note =
      'ConfigMap identity-base-files key deployment.toml: [server] hostname is "is.corp.internal" there; the fronting sets "login.example.com" (it owns this key)';
    await eventually('the OwnedKeyOverridden Event', async () =>
      (await events('OwnedKeyOverridden')).some((e) => e.note === note && e.type === 'Warning') ? true : undefined,
    );
    expect(conditionOf(await read('identity-base'), 'ProductConfigured')?.message).toContain(note);
  });

  test('an edit of it rolls the WSO2 pods at once: the ConfigMap is watched, not re-read at the next resync', async () => {
    const checksum = async () =>
      (await apps().readNamespacedDeployment({ name: 'identity-base-worker', namespace })).spec!.template.metadata!
        .annotations![PRODUCT_CONFIG_CHECKSUM];
    const before = await checksum();
    await baseFiles('[server]\nhostname = "is.corp.internal"\n\n[user_store]\ntype = "database_unique_id"\n');
    await eventually('the worker pod template to get a new checksum', async () => {
      const now = await checksum();
      return now !== before ? now : undefined;
    });
    await eventually('the roll to finish and ProductConfigured to say so', async () => {
      const deployment = await apps().readNamespacedDeployment({ name: 'identity-base-worker', namespace });
      const done =
        deployment.status?.observedGeneration === deployment.metadata!.generation &&
        deployment.status?.updatedReplicas === deployment.spec!.replicas &&
        deployment.status?.replicas === deployment.spec!.replicas;
      return done && conditionOf(await read('identity-base'), 'ProductConfigured')?.status === 'True'
        ? true
        : undefined;
    });
  });

  test('a base file that does not parse: on the status with file and line, a Warning Event, and nothing rolled', async () => {
    const before = (await apps().readNamespacedDeployment({ name: 'identity-base-worker', namespace })).metadata!
      .resourceVersion;
    await baseFiles('[server]\nhostname = \n');
    const f = await frontendOnce(
      'ProductConfigured to say the file does not parse',
      namespace,
      'identity-base',
      (f) => conditionOf(f, 'ProductConfigured')?.reason === 'InvalidBaseConfig',
    );
    expect(conditionOf(f, 'ProductConfigured')!.message).toMatch(
      /^ConfigMap identity-base-files key deployment\.toml:2: .*; nothing was rolled$/,
    );
    expect(conditionOf(f, 'Ready')?.status).toBe('False');
    expect((await events('InvalidBaseConfig')).map((e) => e.regarding.name)).toContain('identity-base');
    expect(
      (await apps().readNamespacedDeployment({ name: 'identity-base-worker', namespace })).metadata!.resourceVersion,
    ).toBe(before);
  });
});

test('a truststore password Secret: ProductConfigured waits for it, and its value is on no pod spec, status or Event', async () => {
  const password = 'truststore-secret-value-3c9e';
  const withPassword: Wso2Frontend = {
    ...identity,
    metadata: { name: 'identity-trust' },
    spec: {
      ...identity.spec,
      backends: { managed: { truststorePassword: { secretName: 'identity-trust-password', key: 'password' } } },
    },
  };
  await apply(withPassword);
  await frontendOnce(
    'ProductConfigured to wait for the Secret',
    namespace,
    'identity-trust',
    (f) => conditionOf(f, 'ProductConfigured')?.reason === 'TruststorePasswordMissing',
  );
  // Created after the frontend: a watch (the resync is 10 minutes here) brings the frontend to Ready.
  await core().createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'identity-trust-password' }, stringData: { password } },
  });
  await ready('identity-trust');
  const worker = await apps().readNamespacedDeployment({ name: 'identity-trust-worker', namespace });
  expect(worker.spec!.template.spec!.initContainers![0]!.env).toEqual([
    {
      name: 'TRUSTSTORE_PASSWORD',
      valueFrom: { secretKeyRef: { name: 'identity-trust-password', key: 'password' } },
    },
  ]);
  const everything = JSON.stringify([
    worker,
    await read('identity-trust'),
    await kubectl(['get', 'events.events.k8s.io', '-n', namespace, '-o', 'json']),
  ]);
  expect(everything).not.toContain(password);
  expect(everything).not.toContain(Buffer.from(password).toString('base64'));
});
