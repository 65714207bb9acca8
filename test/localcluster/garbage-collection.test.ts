// The garbage collector in kube-controller-manager deletes objects whose owner is gone: the
// mechanism the operator relies on to clean up after a deleted Wso2Frontend.
import * as k8s from '@kubernetes/client-node';
import { createNamespace, eventually, isNotFound, kubeConfig, kubectl } from '../support/cluster.js';

let namespace: string;
let core: k8s.CoreV1Api;

beforeAll(async () => {
  namespace = await createNamespace('gc');
  core = kubeConfig().makeApiClient(k8s.CoreV1Api);
});

test('deleting an owner garbage-collects the object that references it', async () => {
  const owner = await core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: 'owner' }, data: { role: 'owner' } },
  });
  await core.createNamespacedSecret({
    namespace,
    body: {
      metadata: {
        name: 'dependent',
        ownerReferences: [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            name: 'owner',
            uid: owner.metadata!.uid!,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      stringData: { 'tls.crt': 'not really a certificate' },
    },
  });
  const bystander = await core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'bystander' }, stringData: { a: 'b' } },
  });

  await kubectl(['delete', 'configmap', 'owner', '-n', namespace]);

  const collected = await eventually('the dependent Secret to be garbage-collected', async () => {
    try {
      await core.readNamespacedSecret({ name: 'dependent', namespace });
      return undefined;
    } catch (error) {
      return isNotFound(error) ? true : undefined;
    }
  });
  expect(collected).toBe(true);
  const stillThere = await core.readNamespacedSecret({ name: 'bystander', namespace });
  expect(stillThere.metadata?.uid).toBe(bystander.metadata?.uid);
});
