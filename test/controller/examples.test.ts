// Every file in examples/, as a GitOps tool would sync it, against the real control plane and
// the operator in-process: `kubectl apply -f` of the file as it is becomes Ready, the objects it
// owns carry what its spec asks for, and the operator writes nothing but status, so `kubectl
// diff` of the file shows no drift, also after a resync.
//
// The files are applied server-side, as Argo CD does with ServerSideApply=true. After a
// client-side apply, `kubectl diff --server-side` always shows the last-applied-configuration
// annotation rewritten (without the `"annotations":{}` the client-side apply recorded), with or
// without an operator, so only a server-side apply lets both diffs be empty on their own merits.
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import {
  API_GROUP,
  API_VERSION,
  NginxSettings,
  PLURAL,
  Wso2FrontendSpec,
  type Wso2Frontend,
} from '../../src/api/schema.js';
import { createOperator } from '../../src/controller/setup.js';
import { FIELD_MANAGER } from '../../src/render/ownership.js';
import type { OperatorMetrics } from '../../src/controller/observability.js';
import type { Controller } from '../../src/controller/runtime/controller.js';
import type { Role } from '../../src/api/vocabulary.js';
import { PATTERN_PRESETS } from '../../src/model/catalog.js';
import { reconciles } from '../support/prometheus.js';
import { installCertManagerCrd, issueForIssuerFrontends } from '../support/cert-manager.js';
import { createNamespace, eventually, kubeConfig, kubectl, kubectlOutcome } from '../support/cluster.js';
import {
  conditionOf,
  examples,
  installCrd,
  provideBaseConfig,
  provideTlsSecrets,
  sitesOf,
} from '../support/resources.js';

const EXAMPLES = examples();
const CONFIG_HASH = 'wso2-frontend.dev/config-hash';
// A no-op reconcile takes about 150 ms here (every owned object re-applied, every owned kind
// listed for pruning), so a pass over a dozen examples takes about 2 s: a shorter period would
// keep the queue busy for good, and `settle` needs it idle now and then.
const RESYNC_PERIOD_MS = 5000;
// The schema's defaults, for examples that leave these fields out.
const DEFAULT_NGINX_REPLICAS = NginxSettings.properties.replicas.default as number;
const DEFAULT_PORTS = {
  http: Wso2FrontendSpec.properties.ports.properties.http.default as number,
  https: Wso2FrontendSpec.properties.ports.properties.https.default as number,
};

let namespace: string;
let operator: { controller: Controller<Wso2Frontend>; metrics: OperatorMetrics };
const core = () => kubeConfig().makeApiClient(k8s.CoreV1Api);
const apps = () => kubeConfig().makeApiClient(k8s.AppsV1Api);

type Example = (typeof EXAMPLES)[number];
type LiveFrontend = Omit<Wso2Frontend, 'metadata'> & { metadata: k8s.V1ObjectMeta & { name: string } };
type Owned = k8s.KubernetesObject & { metadata: k8s.V1ObjectMeta & { name: string } };

async function readFrontend(name: string): Promise<LiveFrontend> {
  const custom = kubeConfig().makeApiClient(k8s.CustomObjectsApi);
  return (await custom.getNamespacedCustomObject({
    group: API_GROUP,
    version: API_VERSION,
    namespace,
    plural: PLURAL,
    name,
  })) as LiveFrontend;
}

/**
 * For managed backends, once every WSO2 pod is ready: the pod addresses NGINX must route to (every
 * pod of a role behind an unpinned site, the first pod by name of a role behind pinned sites
 * only); undefined while pods are missing or not ready. None for external backends.
 */
async function wso2Addresses(resource: Wso2Frontend): Promise<string[] | undefined> {
  const { metadata, spec } = resource;
  const managed = spec.backends.managed;
  if (!managed) return [];
  const preset = PATTERN_PRESETS[spec.pattern];
  const sites = sitesOf(resource);
  const addresses: string[] = [];
  for (const role of Object.keys(preset.roles) as Role[]) {
    const replicas = managed.components?.[role]?.replicas ?? preset.roles[role]!.replicas;
    const labelSelector = `app.kubernetes.io/instance=${metadata.name},app.kubernetes.io/component=${role}`;
    const pods = (await core().listNamespacedPod({ namespace, labelSelector })).items.filter(
      (p) => !p.metadata?.deletionTimestamp,
    );
    const ready = pods.filter(
      (p) => p.status?.podIP && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    if (pods.length !== replicas || ready.length !== replicas) return undefined;
    const behind = sites.filter((s) => s.role === role);
    if (!behind.length) continue;
    const byName = ready.sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
    addresses.push(...(behind.some((s) => !s.pinned) ? byName : byName.slice(0, 1)).map((p) => p.status!.podIP!));
  }
  return addresses;
}

/** The state of each example once settled, to tell later that nothing was written since (the Deployment's status is not the operator's, so its generation). */
const settledState = new Map<string, { frontend: string; configMap: string; deployment: number }>();

/**
 * Waits until the example is Ready for the configuration its NGINX ConfigMap holds, with every WSO2
 * pod in it for managed backends. The frontend is read before and after its ConfigMap and
 * Deployment, with the operator idle in between, so the three come from finished reconciles.
 */
async function settle({ file, resource }: Example): Promise<void> {
  const { name } = resource.metadata;
  await eventually(
    `${file} to settle`,
    async () => {
      const addresses = await wso2Addresses(resource);
      if (!addresses) throw new Error('WSO2 pods are not all ready yet');
      const before = await readFrontend(name);
      const configMap = await core().readNamespacedConfigMap({ name: `${name}-nginx`, namespace });
      const deployment = await apps().readNamespacedDeployment({ name: `${name}-nginx`, namespace });
      const idle = operator.controller.stats().inFlight === 0;
      const after = await readFrontend(name);
      const served = Object.values(configMap.data ?? {}).join('\n');
      const missing = addresses.filter((address) => !served.includes(`server ${address}:`));
      const hash = configMap.metadata?.annotations?.[CONFIG_HASH];
      if (!idle || before.metadata.resourceVersion !== after.metadata.resourceVersion)
        throw new Error('the operator was reconciling');
      if (conditionOf(after, 'Ready')?.status !== 'True')
        throw new Error(`Ready is ${JSON.stringify(conditionOf(after, 'Ready'))}`);
      if (after.status?.observedGeneration !== after.metadata.generation)
        throw new Error(
          `status.observedGeneration ${after.status?.observedGeneration}, generation ${after.metadata.generation}`,
        );
      if (after.status?.configHash !== hash)
        throw new Error(`status.configHash ${after.status?.configHash}, but the NGINX ConfigMap carries ${hash}`);
      if (missing.length) throw new Error(`the NGINX configuration does not route to ${missing.join(', ')}`);
      settledState.set(name, {
        frontend: after.metadata.resourceVersion!,
        configMap: configMap.metadata!.resourceVersion!,
        deployment: deployment.metadata!.generation!,
      });
      return true;
    },
    90_000,
  );
}

async function ownedBy(name: string): Promise<Owned[]> {
  const kinds = 'configmap,secret,service,deployment,statefulset,poddisruptionbudget';
  return (
    JSON.parse(
      await kubectl(['get', kinds, '-n', namespace, '-l', `app.kubernetes.io/instance=${name}`, '-o', 'json']),
    ) as { items: Owned[] }
  ).items;
}

async function expectNoDrift(file: string, name: string): Promise<void> {
  const path = join('examples', file);
  expect(await kubectlOutcome(['diff', '-n', namespace, '-f', path])).toEqual({ code: 0, stdout: '', stderr: '' });
  expect(await kubectlOutcome(['diff', '--server-side', '-n', namespace, '-f', path])).toEqual({
    code: 0,
    stdout: '',
    stderr: '',
  });
  const f = await readFrontend(name);
  expect(f.metadata.generation).toBe(1);
  const entries = (f.metadata.managedFields ?? []).filter((entry) => entry.manager === FIELD_MANAGER);
  expect(
    entries.map((entry) => ({
      operation: entry.operation,
      subresource: entry.subresource,
      fields: Object.keys(entry.fieldsV1 ?? {}),
    })),
  ).toEqual([{ operation: 'Apply', subresource: 'status', fields: ['f:status'] }]);
}

beforeAll(async () => {
  await installCrd();
  // tls.mode issuer: cert-manager's Certificate CRD, and its issuance played (support/cert-manager.ts).
  if (EXAMPLES.some(({ resource }) => resource.spec.tls?.mode === 'issuer')) await installCertManagerCrd();
  namespace = await createNamespace('examples');
  for (const { resource } of EXAMPLES) {
    await provideTlsSecrets(resource, namespace);
    await provideBaseConfig(resource, namespace);
  }
  operator = createOperator({
    kubeConfig: kubeConfig(),
    namespaces: [namespace],
    resyncPeriodMs: RESYNC_PERIOD_MS,
    identity: 'examples-test',
  });
  await operator.controller.start();
  // The names differ, so one namespace holds them all, and they settle side by side.
  await Promise.all(
    EXAMPLES.map(({ file }) => kubectl(['apply', '--server-side', '-n', namespace, '-f', join('examples', file)])),
  );
  await issueForIssuerFrontends(
    namespace,
    EXAMPLES.map((e) => e.resource),
  );
});

afterAll(async () => {
  await operator?.controller.stop();
});

test.each(EXAMPLES)('$file becomes Ready (kubectl wait --for=condition=Ready)', async ({ resource }) => {
  const out = await kubectl([
    'wait',
    '--for=condition=Ready',
    `wso2frontend/${resource.metadata.name}`,
    '-n',
    namespace,
    '--timeout=90s',
  ]);
  expect(out).toContain('condition met');
});

test.each(EXAMPLES)(
  '$file: the owned objects carry what its spec asks for, each with one controller owner reference',
  async (example) => {
    await settle(example);
    const { resource } = example;
    const { name } = resource.metadata;
    const f = await readFrontend(name);
    const owned = await ownedBy(name);
    const find = <T extends Owned>(kind: string, objectName: string) =>
      owned.find((o) => o.kind === kind && o.metadata.name === objectName) as T | undefined;

    const configMap = find<k8s.V1ConfigMap & Owned>('ConfigMap', `${name}-nginx`);
    const vhosts = Object.keys(configMap?.data ?? {}).filter((key) => key.startsWith('vhost-'));
    const sites = sitesOf(resource);
    expect(vhosts.sort()).toEqual(sites.map((s) => `vhost-${s.name}.conf`).sort());
    for (const site of sites)
      expect(configMap!.data![`vhost-${site.name}.conf`]).toContain(`server_name ${site.host};`);

    const deployment = find<k8s.V1Deployment & Owned>('Deployment', `${name}-nginx`);
    const replicas = resource.spec.nginx?.replicas ?? DEFAULT_NGINX_REPLICAS;
    expect(deployment?.spec?.replicas).toBe(replicas);
    expect(configMap?.metadata?.annotations?.[CONFIG_HASH]).toBe(f.status?.configHash);
    // The configuration reaches the pods through their agents, not the pod template.
    expect(deployment?.spec?.template.metadata?.annotations?.[CONFIG_HASH]).toBeUndefined();

    const service = find<k8s.V1Service & Owned>('Service', `${name}-nginx`);
    expect(service?.spec?.selector).toEqual(deployment?.spec?.selector.matchLabels);
    expect(service?.spec?.ports?.map((p) => [p.name, p.port])).toEqual([
      ['http', resource.spec.ports?.http ?? DEFAULT_PORTS.http],
      ['https', resource.spec.ports?.https ?? DEFAULT_PORTS.https],
    ]);

    const budgets = owned.filter((o) => o.kind === 'PodDisruptionBudget').map((o) => o.metadata.name);
    expect(budgets).toEqual(replicas > 1 ? [`${name}-nginx`] : []);

    if (resource.spec.backends.managed) {
      for (const role of Object.keys(PATTERN_PRESETS[resource.spec.pattern].roles)) {
        const kinds = owned
          .filter((o) => o.metadata.name === `${name}-${role}`)
          .map((o) => o.kind)
          .sort();
        expect([
          ['Deployment', 'Service'],
          ['Service', 'StatefulSet'],
        ]).toContainEqual(kinds);
      }
    }
    for (const o of owned) {
      expect({ object: `${o.kind}/${o.metadata.name}`, ownerReferences: o.metadata.ownerReferences }).toEqual({
        object: `${o.kind}/${o.metadata.name}`,
        ownerReferences: [
          expect.objectContaining({
            apiVersion: `${API_GROUP}/${API_VERSION}`,
            kind: 'Wso2Frontend',
            name,
            uid: f.metadata.uid,
            controller: true,
          }),
        ],
      });
    }
  },
);

test.each(EXAMPLES)(
  '$file: no drift: kubectl diff (client- and server-side) is empty, generation 1, the operator owns only status',
  async ({ file, resource }) => {
    await expectNoDrift(file, resource.metadata.name);
  },
);

describe('after a resync period', () => {
  beforeAll(async () => {
    // The resync pass under way may reconcile up to all but one of them; the next one does them all.
    const start = await reconciles(operator.metrics);
    await eventually(
      'every example to be reconciled by a resync',
      async () => ((await reconciles(operator.metrics)) >= start + 2 * EXAMPLES.length ? true : undefined),
      30_000,
    );
  });

  test.each(EXAMPLES)('$file: still no drift, and nothing was written since it settled', async ({ file, resource }) => {
    const { name } = resource.metadata;
    await expectNoDrift(file, name);
    const settled = settledState.get(name);
    expect(settled).toBeDefined();
    expect({
      frontend: (await readFrontend(name)).metadata.resourceVersion,
      configMap: (await core().readNamespacedConfigMap({ name: `${name}-nginx`, namespace })).metadata?.resourceVersion,
      deployment: (await apps().readNamespacedDeployment({ name: `${name}-nginx`, namespace })).metadata?.generation,
    }).toEqual(settled);
  });
});
