// The controller against the real API server: watch events of primaries and of secondaries
// that point at them become reconciles, failures are retried with backoff, a resync revisits
// unchanged objects, and the watch scope is respected.
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import {
  Controller,
  labelKeys,
  ownerKeys,
  type ControllerOptions,
  type Logger,
  type ResourceType,
} from '../../src/controller/runtime/controller.js';
import { createNamespace, eventually, kubeConfig, kubectl, sleep } from '../support/cluster.js';

const group = 'fixtures-controller.wso2-frontend.test';
const widgets: ResourceType = { group, version: 'v1', plural: 'widgets', kind: 'Widget' };
const configMaps: ResourceType = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap' };
const crd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `widgets.${group}` },
  spec: {
    group,
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } },
          },
        },
      },
    ],
  },
};

interface Widget extends k8s.KubernetesObject {
  spec: { size: number };
}

/** What one reconcile saw: the key and the size of the cached widget (undefined when gone). */
interface Reconciled {
  key: string;
  size: number | undefined;
  at: number;
}

let core: k8s.CoreV1Api;
let objects: k8s.CustomObjectsApi;
const running: Controller[] = [];

beforeAll(async () => {
  core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  objects = kubeConfig().makeApiClient(k8s.CustomObjectsApi);
  await kubectl(['apply', '-f', '-'], yaml.dump(crd));
  await kubectl(['wait', '--for=condition=Established', `crd/widgets.${group}`, '--timeout=60s']);
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((controller) => controller.stop()));
});

afterAll(async () => {
  await kubectl(['delete', 'crd', `widgets.${group}`, '--ignore-not-found', '--wait=false']);
});

const quiet: Logger = () => undefined;

/** Starts a widget controller whose reconcile records what it saw in the cache. */
async function startController(
  options: Partial<ControllerOptions> & { reconcileHook?: (key: string) => void } = {},
): Promise<{ controller: Controller<Widget>; reconciled: Reconciled[] }> {
  const reconciled: Reconciled[] = [];
  const { reconcileHook, ...rest } = options;
  const controller: Controller<Widget> = new Controller<Widget>({
    kubeConfig: kubeConfig(),
    primary: widgets,
    logger: quiet,
    reconcile: (key) => {
      reconciled.push({ key, size: controller.get(key)?.spec.size, at: Date.now() });
      reconcileHook?.(key);
    },
    ...rest,
  });
  running.push(controller);
  await controller.start();
  return { controller, reconciled };
}

async function createWidget(namespace: string, name: string, size: number): Promise<Widget> {
  return (await objects.createNamespacedCustomObject({
    group,
    version: 'v1',
    namespace,
    plural: 'widgets',
    body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name, namespace }, spec: { size } },
  })) as Widget;
}

function reconciledWith(reconciled: Reconciled[], key: string, size: number | undefined): Promise<Reconciled> {
  return eventually(
    `a reconcile of ${key} that sees size ${size}`,
    () => reconciled.find((r) => r.key === key && r.size === size),
    20_000,
  );
}

test('creating, updating and deleting a primary reconciles it with the cached state', async () => {
  const namespace = await createNamespace('ctrl-lifecycle');
  const { reconciled } = await startController({ namespaces: [namespace] });
  const key = `${namespace}/w`;

  await createWidget(namespace, 'w', 1);
  await reconciledWith(reconciled, key, 1);

  await objects.patchNamespacedCustomObject(
    { group, version: 'v1', namespace, plural: 'widgets', name: 'w', body: { spec: { size: 2 } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  await reconciledWith(reconciled, key, 2);

  await objects.deleteNamespacedCustomObject({ group, version: 'v1', namespace, plural: 'widgets', name: 'w' });
  await reconciledWith(reconciled, key, undefined);
  expect(reconciled.map((r) => r.size)).toEqual([1, 2, undefined]);
});

test('primaries that exist before the start are reconciled once the cache is filled', async () => {
  const namespace = await createNamespace('ctrl-existing');
  await createWidget(namespace, 'early', 3);

  const { controller, reconciled } = await startController({ namespaces: [namespace] });

  expect(controller.get(`${namespace}/early`)?.spec.size).toBe(3);
  await reconciledWith(reconciled, `${namespace}/early`, 3);
});

test('a change to a ConfigMap owned by a primary reconciles that primary', async () => {
  const namespace = await createNamespace('ctrl-owner');
  const owner = await createWidget(namespace, 'owner', 1);
  const { reconciled } = await startController({
    namespaces: [namespace],
    secondaries: [{ resource: configMaps, primaryKeys: ownerKeys(widgets) }],
  });
  await reconciledWith(reconciled, `${namespace}/owner`, 1);
  const before = reconciled.length;

  await core.createNamespacedConfigMap({
    namespace,
    body: {
      metadata: {
        name: 'owned',
        ownerReferences: [{ apiVersion: `${group}/v1`, kind: 'Widget', name: 'owner', uid: owner.metadata!.uid! }],
      },
      data: { nginx: 'worker_processes 1;' },
    },
  });

  const after = await eventually(
    'a reconcile caused by the owned ConfigMap',
    () => reconciled.slice(before).find((r) => r.key === `${namespace}/owner`),
    20_000,
  );
  expect(after.size).toBe(1);
});

test('a change to a ConfigMap whose label names a primary reconciles that primary', async () => {
  const namespace = await createNamespace('ctrl-label');
  await createWidget(namespace, 'named', 1);
  const { reconciled } = await startController({
    namespaces: [namespace],
    secondaries: [{ resource: configMaps, primaryKeys: labelKeys('fixtures.wso2-frontend.test/widget') }],
  });
  await reconciledWith(reconciled, `${namespace}/named`, 1);
  const before = reconciled.length;

  await core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: 'labelled', labels: { 'fixtures.wso2-frontend.test/widget': 'named' } } },
  });

  await eventually(
    'a reconcile caused by the labelled ConfigMap',
    () => reconciled.slice(before).find((r) => r.key === `${namespace}/named`),
    20_000,
  );
  expect(reconciled.slice(before).map((r) => r.key)).toEqual([`${namespace}/named`]);
});

test('a reconcile that throws is retried until it succeeds, each retry after at least its doubled delay', async () => {
  const namespace = await createNamespace('ctrl-retry');
  const logged: string[] = [];
  let failuresLeft = 3;
  const { reconciled } = await startController({
    namespaces: [namespace],
    retryBaseDelayMs: 100,
    // The failures, without the debug line each reconcile also logs.
    logger: (level, message, fields) => {
      if (level !== 'debug') logged.push(`${level} ${message} ${String(fields.error)}`);
    },
    reconcileHook: () => {
      if (failuresLeft-- > 0) throw new Error('upstream not ready');
    },
  });

  await createWidget(namespace, 'flaky', 1);

  await eventually('four reconciles', () => (reconciled.length >= 4 ? true : undefined), 20_000);
  const gaps = reconciled.slice(1, 4).map((r, i) => r.at - reconciled[i]!.at);
  // Timers run on libuv's cached loop time, which may trail Date.now() by a millisecond or two.
  const clockSlack = 5;
  // Lower bounds only: a loaded machine may fire any timer late, the first as late as the second.
  expect(gaps[0]).toBeGreaterThanOrEqual(100 - clockSlack);
  expect(gaps[1]).toBeGreaterThanOrEqual(200 - clockSlack);
  expect(gaps[2]).toBeGreaterThanOrEqual(400 - clockSlack);
  expect(logged).toEqual(Array(3).fill('error reconcile failed Error: upstream not ready'));
});

test('the resync reconciles primaries that did not change', async () => {
  const namespace = await createNamespace('ctrl-resync');
  const widget = await createWidget(namespace, 'idle', 1);
  const { reconciled } = await startController({ namespaces: [namespace], resyncPeriodMs: 300 });

  await eventually(
    'three reconciles of the unchanged widget',
    () => (reconciled.length >= 3 ? true : undefined),
    20_000,
  );

  const current = (await objects.getNamespacedCustomObject({
    group,
    version: 'v1',
    namespace,
    plural: 'widgets',
    name: 'idle',
  })) as Widget;
  expect(current.metadata!.resourceVersion).toBe(widget.metadata!.resourceVersion);
  expect(new Set(reconciled.map((r) => r.key))).toEqual(new Set([`${namespace}/idle`]));
});

test('a controller scoped to namespaces ignores primaries in other namespaces', async () => {
  const [watched, other] = await Promise.all([createNamespace('ctrl-scope'), createNamespace('ctrl-other')]);
  const { controller, reconciled } = await startController({ namespaces: [watched] });

  // Created first: a controller that watched `other` would see it before the widget in `watched`.
  await createWidget(other, 'outside', 1);
  await createWidget(watched, 'inside', 1);

  await reconciledWith(reconciled, `${watched}/inside`, 1);
  expect(reconciled.map((r) => r.key)).toEqual([`${watched}/inside`]);
  expect(controller.get(`${other}/outside`)).toBeUndefined();
  expect(controller.list().map((w) => w.metadata?.name)).toEqual(['inside']);
});

test('a controller without a namespace list watches every namespace', async () => {
  const [first, second] = await Promise.all([createNamespace('ctrl-all'), createNamespace('ctrl-all')]);
  const { reconciled } = await startController();

  await createWidget(first, 'one', 1);
  await createWidget(second, 'two', 2);

  await reconciledWith(reconciled, `${first}/one`, 1);
  await reconciledWith(reconciled, `${second}/two`, 2);
});

test('stop resolves only after the reconcile in flight has finished', async () => {
  const namespace = await createNamespace('ctrl-stop');
  let reconcileStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (reconcileStarted = resolve));
  let finished = false;
  const controller = new Controller({
    kubeConfig: kubeConfig(),
    primary: widgets,
    namespaces: [namespace],
    logger: quiet,
    reconcile: async () => {
      reconcileStarted();
      await sleep(500);
      finished = true;
    },
  });
  await controller.start();
  await createWidget(namespace, 'slow', 1);
  await started;

  await controller.stop();

  expect(finished).toBe(true);
});

test('a stopped controller stays stopped: a later start neither watches nor reconciles', async () => {
  const namespace = await createNamespace('ctrl-final');
  const { controller, reconciled } = await startController({ namespaces: [namespace], resyncPeriodMs: 200 });
  await createWidget(namespace, 'before', 1);
  await reconciledWith(reconciled, `${namespace}/before`, 1);
  await controller.stop();
  // A leader elector that wins the lease again while the process shuts down calls start().
  await controller.start();
  await createWidget(namespace, 'after', 2);
  const seen = reconciled.length;
  await sleep(1000); // five resync periods and time for a watch event: nothing may arrive
  expect(reconciled.length).toBe(seen);
  expect(controller.get(`${namespace}/after`)).toBeUndefined();
});

test('secondary caches are listed before the first reconcile, and transformed before they are cached', async () => {
  const namespace = await createNamespace('ctrl-cache');
  await core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: 'for-one', labels: { widget: 'one', kept: 'yes' } }, data: { big: 'x'.repeat(10_000) } },
  });
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'unlabelled' }, data: { big: 'y' } } });
  await createWidget(namespace, 'one', 1);
  const seenAtFirstReconcile: (k8s.V1ConfigMap | undefined)[] = [];
  const { controller } = await startController({
    namespaces: [namespace],
    secondaries: [
      {
        resource: configMaps,
        primaryKeys: labelKeys('widget'),
        labelSelector: 'kept=yes',
        transform: (o) => ({ ...o, data: undefined }) as k8s.KubernetesObject,
      },
    ],
    reconcileHook: () =>
      seenAtFirstReconcile.push(controller.cached<k8s.V1ConfigMap>('ConfigMap', namespace, 'for-one')),
  });
  await eventually('a reconcile', () => (seenAtFirstReconcile.length ? true : undefined));
  const cached = seenAtFirstReconcile[0];
  expect(cached?.metadata?.name).toBe('for-one');
  expect(cached?.data).toBeUndefined();
  expect(cached?.metadata?.managedFields).toBeUndefined();
  expect(controller.cached('ConfigMap', namespace, 'unlabelled')).toBeUndefined();
  expect(controller.cachedList('ConfigMap', namespace).map((c) => c.metadata?.name)).toEqual(['for-one']);
});
