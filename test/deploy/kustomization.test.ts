// `kubectl apply -k deploy/`, the documented install command, works against a real API server.
import { spawnSync } from 'node:child_process';
import * as k8s from '@kubernetes/client-node';
import { kubeConfig, kubectl } from '../support/cluster.js';
import { installedAndFileCrd } from '../support/resources.js';

test('kubectl apply -k deploy/ installs the CRD, the operator namespace with restricted Pod Security and its service account', async () => {
  const output = await kubectl(['apply', '-k', 'deploy/']);
  expect(output).toContain('customresourcedefinition.apiextensions.k8s.io/wso2frontends.wso2-frontend.dev');
  expect(output).toContain('namespace/wso2-frontend-system');

  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  const namespace = await core.readNamespace({ name: 'wso2-frontend-system' });
  expect(namespace.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  const account = await core.readNamespacedServiceAccount({
    name: 'wso2-frontend-operator',
    namespace: 'wso2-frontend-system',
  });
  expect(account.metadata?.labels?.['app.kubernetes.io/name']).toBe('wso2-frontend-operator');
});

test('the CRD that kubectl apply -k deploy/ installs, read back from the API server, is crds/ field for field', async () => {
  await kubectl(['apply', '-k', 'deploy/']);
  const { installed, file } = await installedAndFileCrd();
  expect(installed).toEqual(file);
});

test("the operator Deployment passes the namespace's restricted Pod Security admission", async () => {
  const output = await kubectl(['apply', '-k', 'deploy/', '--dry-run=server']);
  expect(output).toContain('deployment.apps/wso2-frontend-operator');
  expect(output).not.toMatch(/[Ww]arning/);
});

test("the operator's service account may do what reconciling needs and nothing it does not", () => {
  // can-i prints yes or no, and exits 1 for no.
  const can = (verb: string, resource: string, namespace = 'default', ...extra: string[]) =>
    spawnSync(
      'kubectl',
      [
        'auth',
        'can-i',
        verb,
        resource,
        '-n',
        namespace,
        '--as=system:serviceaccount:wso2-frontend-system:wso2-frontend-operator',
        ...extra,
      ],
      { encoding: 'utf8', env: process.env },
    ).stdout.trim();
  expect(can('patch', 'wso2frontends.wso2-frontend.dev', 'default', '--subresource=status')).toBe('yes');
  expect(can('patch', 'deployments.apps')).toBe('yes');
  expect(can('create', 'events.events.k8s.io')).toBe('yes');
  expect(can('update', 'leases.coordination.k8s.io', 'wso2-frontend-system')).toBe('yes');
  expect(can('update', 'wso2frontends.wso2-frontend.dev')).toBe('no');
  expect(can('update', 'leases.coordination.k8s.io', 'default')).toBe('no');
  expect(can('create', 'pods')).toBe('no');
  expect(can('create', 'clusterrolebindings.rbac.authorization.k8s.io')).toBe('no');
});
