// `kubectl apply -k deploy/`, the documented install command, works against a real API server.
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

test('the PodSecurity admission plugin admits the operator pods in wso2-frontend-system and refuses a privileged pod there', async () => {
  await kubectl(['apply', '-k', 'deploy/']);
  // kwok runs the pods the ReplicaSet created, so each was admitted by the real plugin.
  await kubectl([
    'wait',
    '--for=condition=Available',
    'deployment/wso2-frontend-operator',
    '-n',
    'wso2-frontend-system',
    '--timeout=90s',
  ]);
  const pods = JSON.parse(
    await kubectl([
      'get',
      'pods',
      '-n',
      'wso2-frontend-system',
      '-l',
      'app.kubernetes.io/name=wso2-frontend-operator',
      '-o',
      'json',
    ]),
  ) as { items: unknown[] };
  expect(pods.items).toHaveLength(2);
  const privileged = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'privileged', namespace: 'wso2-frontend-system' },
    spec: { containers: [{ name: 'c', image: 'busybox', securityContext: { privileged: true } }] },
  };
  await expect(kubectl(['create', '--dry-run=server', '-f', '-'], JSON.stringify(privileged))).rejects.toThrow(
    /violates PodSecurity "restricted:latest": privileged/,
  );
});
