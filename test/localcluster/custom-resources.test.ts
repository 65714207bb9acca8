// A CRD installed with kubectl serves a custom resource that can be created, read, patched
// with server-side apply and deleted, through kubectl and through client-node.
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import { createNamespace, eventually, isNotFound, kubeConfig, kubectl } from '../support/cluster.js';

const group = 'fixtures.wso2-frontend.test';
const crd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `gadgets.${group}` },
  spec: {
    group,
    scope: 'Namespaced',
    names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                properties: { color: { type: 'string', enum: ['red', 'blue'] }, size: { type: 'integer', minimum: 1 } },
              },
              status: { type: 'object', properties: { phase: { type: 'string' } } },
            },
          },
        },
      },
    ],
  },
};

let namespace: string;
let objects: k8s.CustomObjectsApi;

beforeAll(async () => {
  namespace = await createNamespace('crd');
  objects = kubeConfig().makeApiClient(k8s.CustomObjectsApi);
  await kubectl(['apply', '-f', '-'], yaml.dump(crd));
  await kubectl(['wait', '--for=condition=Established', `crd/gadgets.${group}`, '--timeout=60s']);
});

afterAll(async () => {
  await kubectl(['delete', 'crd', `gadgets.${group}`, '--ignore-not-found', '--wait=false']);
});

test('kubectl creates a custom resource that client-node reads back', async () => {
  const gadget = {
    apiVersion: `${group}/v1`,
    kind: 'Gadget',
    metadata: { name: 'created', namespace },
    spec: { color: 'red', size: 2 },
  };
  await kubectl(['create', '-f', '-'], yaml.dump(gadget));

  const read = (await objects.getNamespacedCustomObject({
    group,
    version: 'v1',
    namespace,
    plural: 'gadgets',
    name: 'created',
  })) as {
    spec: { color: string; size: number };
    metadata: { uid?: string };
  };
  expect(read.spec).toEqual({ color: 'red', size: 2 });
  expect(read.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
});

test('the API server rejects a custom resource that breaks the schema', async () => {
  const bad = {
    apiVersion: `${group}/v1`,
    kind: 'Gadget',
    metadata: { name: 'bad', namespace },
    spec: { color: 'green' },
  };
  await expect(kubectl(['create', '-f', '-'], yaml.dump(bad))).rejects.toThrow(
    /spec\.color: Unsupported value: "green"/,
  );
});

test('server-side apply with client-node patches a custom resource and records the field manager', async () => {
  await kubectl(
    ['create', '-f', '-'],
    yaml.dump({
      apiVersion: `${group}/v1`,
      kind: 'Gadget',
      metadata: { name: 'applied', namespace },
      spec: { color: 'red', size: 1 },
    }),
  );

  const patch = {
    apiVersion: `${group}/v1`,
    kind: 'Gadget',
    metadata: { name: 'applied', namespace },
    spec: { size: 5 },
  };
  const applied = (await objects.patchNamespacedCustomObject(
    {
      group,
      version: 'v1',
      namespace,
      plural: 'gadgets',
      name: 'applied',
      body: patch,
      fieldManager: 'wso2-frontend-test',
      force: true,
    },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
  )) as {
    spec: { color: string; size: number };
    metadata: { managedFields: { manager: string; operation: string }[] };
  };

  expect(applied.spec).toEqual({ color: 'red', size: 5 });
  expect(applied.metadata.managedFields).toContainEqual(
    expect.objectContaining({ manager: 'wso2-frontend-test', operation: 'Apply' }),
  );
  const viaKubectl = JSON.parse(await kubectl(['get', 'gadget', 'applied', '-n', namespace, '-o', 'json'])) as {
    spec: { size: number };
  };
  expect(viaKubectl.spec.size).toBe(5);
});

test('server-side apply reports a conflict as an ApiException whose body is JSON text', async () => {
  await kubectl(
    ['apply', '--server-side', '--field-manager=someone-else', '-f', '-'],
    yaml.dump({
      apiVersion: `${group}/v1`,
      kind: 'Gadget',
      metadata: { name: 'contested', namespace },
      spec: { size: 3 },
    }),
  );

  const patch = {
    apiVersion: `${group}/v1`,
    kind: 'Gadget',
    metadata: { name: 'contested', namespace },
    spec: { size: 4 },
  };
  const error = await objects
    .patchNamespacedCustomObject(
      {
        group,
        version: 'v1',
        namespace,
        plural: 'gadgets',
        name: 'contested',
        body: patch,
        fieldManager: 'wso2-frontend-test',
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
    )
    .then(
      () => undefined,
      (e: unknown) => e,
    );

  expect(error).toBeInstanceOf(k8s.ApiException);
  const apiError = error as k8s.ApiException<string>;
  expect(apiError.code).toBe(409);
  const status = JSON.parse(apiError.body) as { reason: string; message: string };
  expect(status.reason).toBe('Conflict');
  expect(status.message).toContain('someone-else');
});

test('kubectl deletes a custom resource and client-node then gets 404', async () => {
  await kubectl(
    ['create', '-f', '-'],
    yaml.dump({
      apiVersion: `${group}/v1`,
      kind: 'Gadget',
      metadata: { name: 'deleted', namespace },
      spec: { size: 1 },
    }),
  );
  await kubectl(['delete', 'gadget', 'deleted', '-n', namespace, '--wait=true']);

  const gone = await eventually('the deleted gadget to be gone', async () => {
    try {
      await objects.getNamespacedCustomObject({ group, version: 'v1', namespace, plural: 'gadgets', name: 'deleted' });
      return undefined;
    } catch (error) {
      return isNotFound(error) ? true : undefined;
    }
  });
  expect(gone).toBe(true);
});
