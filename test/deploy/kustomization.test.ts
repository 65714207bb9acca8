// `kubectl apply -k deploy/`, the documented install command, works against a real API server.
import * as k8s from '@kubernetes/client-node';
import { kubeConfig, kubectl } from '../support/cluster.js';

test('kubectl apply -k deploy/ installs the CRD, the operator namespace with restricted Pod Security and its service account', async () => {
  const output = await kubectl(['apply', '-k', 'deploy/']);
  expect(output).toContain('customresourcedefinition.apiextensions.k8s.io/wso2frontends.wso2-frontend.dev');
  expect(output).toContain('namespace/wso2-frontend-system');

  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  const namespace = await core.readNamespace({ name: 'wso2-frontend-system' });
  expect(namespace.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  const account = await core.readNamespacedServiceAccount({ name: 'wso2-frontend-operator', namespace: 'wso2-frontend-system' });
  expect(account.metadata?.labels?.['app.kubernetes.io/name']).toBe('wso2-frontend-operator');
});
