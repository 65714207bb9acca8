// The WSO2 pods' identity (managed backends), on the real API server: the ServiceAccount and Role
// the operator renders (src/render/workloads.ts wso2Access) let the pods read the endpoints and
// pods of their own namespace (Hazelcast's Kubernetes membership) and nothing else: no Secrets, no
// other namespace, no writes, no pods/exec. `kubectl auth can-i` as the ServiceAccount, and real
// requests with a token of it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { wso2Access, wso2AccessName } from '../../src/render/workloads.js';
import { createNamespace, kubectl, serviceAccountKubeconfig } from '../support/cluster.js';
import { topologyOf } from '../support/frontend.js';
import { canI, EVERYONE, expectForbidden, permissionsOf, sorted } from '../support/rbac.js';
import { example } from '../support/resources.js';

let dir: string;
let namespace: string;
let other: string;
let user: string;
let kubeconfig: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wso2-frontend-wso2-rbac-'));
  namespace = await createNamespace('wso2-rbac');
  other = await createNamespace('wso2-rbac-other');
  const frontend = { ...example('is-7-managed.yaml'), metadata: { name: 'identity-7', namespace } };
  await kubectl(
    ['apply', '-f', '-'],
    wso2Access(frontend, topologyOf(frontend))
      .map((o) => yaml.dump(o))
      .join('---\n'),
  );
  // What it must not read: a Secret beside it, and the same kinds in another namespace.
  await kubectl(['create', 'secret', 'generic', 'neighbour', '-n', namespace, '--from-literal=k=v']);
  user = `system:serviceaccount:${namespace}:${wso2AccessName(frontend)}`;
  kubeconfig = await serviceAccountKubeconfig(namespace, wso2AccessName(frontend), dir);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('kubectl auth can-i --list: get and list of endpoints and pods in its namespace, nothing elsewhere', async () => {
  expect(await permissionsOf(user, namespace)).toEqual(
    sorted([
      { resource: 'endpoints', names: '', verbs: 'get list' },
      { resource: 'pods', names: '', verbs: 'get list' },
      ...EVERYONE,
    ]),
  );
  expect(await permissionsOf(user, other)).toEqual(sorted(EVERYONE));
  expect(await permissionsOf(user, 'kube-system')).toEqual(sorted(EVERYONE));
});

test('kubectl auth can-i: no Secrets anywhere, no watch, no writes, no pods/exec', async () => {
  for (const verb of ['get', 'list', 'watch']) {
    expect(await canI(user, verb, 'secrets', '-n', namespace)).toBe('no');
    expect(await canI(user, verb, 'secrets', '--all-namespaces')).toBe('no');
    expect(await canI(user, verb, 'configmaps', '-n', namespace)).toBe('no');
    expect(await canI(user, verb, 'pods', '-n', other)).toBe('no');
  }
  expect(await canI(user, 'list', 'pods', '--all-namespaces')).toBe('no');
  expect(await canI(user, 'watch', 'pods', '-n', namespace)).toBe('no');
  for (const verb of ['create', 'patch', 'update', 'delete']) {
    expect(await canI(user, verb, 'pods', '-n', namespace)).toBe('no');
    expect(await canI(user, verb, 'endpoints', '-n', namespace)).toBe('no');
  }
  expect(await canI(user, 'create', 'pods', '--subresource=exec', '-n', namespace)).toBe('no');
  expect(await canI(user, 'get', 'pods', '--subresource=log', '-n', namespace)).toBe('no');
  expect(await canI(user, 'list', 'pods', '-n', namespace)).toBe('yes');
});

test('with its token, the API server lists its pods and endpoints and refuses the rest', async () => {
  // Allowed: kubectl exits 0 (it would throw on a refusal).
  for (const kind of ['pods', 'endpoints']) {
    await kubectl(['--kubeconfig', kubeconfig, 'get', kind, '-n', namespace, '-o', 'name']);
  }
  await expectForbidden(kubeconfig, ['get', 'secret', 'neighbour', '-n', namespace]);
  await expectForbidden(kubeconfig, ['get', 'secrets', '--all-namespaces']);
  await expectForbidden(kubeconfig, ['get', 'pods', '-n', other]);
  await expectForbidden(kubeconfig, ['get', 'pods', '-n', namespace, '--watch', '--request-timeout=5s']);
  await expectForbidden(kubeconfig, ['delete', 'pod', 'any', '-n', namespace]);
  // Authorization comes before the pod is looked up: refusals, not 404s.
  await expectForbidden(
    kubeconfig,
    ['create', '--raw', `/api/v1/namespaces/${namespace}/pods/any/exec?command=true&stdout=true`, '-f', '-'],
    '{}',
  );
});
