// The documented install commands work against a real API server: the CRD on its own
// (`kubectl apply -f crds/`, or `-k deploy/crds/`), then the operator (`kubectl apply -k deploy/`),
// and removing the operator (`kubectl delete -k deploy/`) leaves the CRD, and so every
// Wso2Frontend and its NGINX, in place.
import { readdirSync, readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { kubeConfig, kubectl } from '../support/cluster.js';
import { CRD_FILE, installedAndFileCrd } from '../support/resources.js';

const CRD = 'customresourcedefinition.apiextensions.k8s.io/wso2frontends.wso2-frontend.dev';

test('kubectl apply -f crds/ installs the CRD as the folder holds it (nothing else is in crds/)', async () => {
  // Issue 26: crds/ held a kustomization.yaml, and `kubectl apply -f crds/` failed with
  // `no matches for kind "Kustomization"`.
  expect(readdirSync('crds')).toEqual(['wso2frontends.wso2-frontend.dev.yaml']);
  expect(await kubectl(['apply', '-f', 'crds/'])).toContain(CRD);
  const { installed, file } = await installedAndFileCrd();
  expect(installed).toEqual(file);
});

test('kubectl apply -k deploy/crds/ installs the same CRD, which Argo CD never prunes nor deletes', async () => {
  expect(readFileSync('deploy/crds/wso2frontends.wso2-frontend.dev.yaml', 'utf8')).toBe(readFileSync(CRD_FILE, 'utf8'));
  expect(await kubectl(['apply', '--server-side', '-k', 'deploy/crds/'])).toContain(CRD);
  const crd = JSON.parse(await kubectl(['get', 'crd', 'wso2frontends.wso2-frontend.dev', '-o', 'json'])) as {
    metadata: { annotations?: Record<string, string> };
  };
  expect(crd.metadata.annotations?.['argocd.argoproj.io/sync-options']).toBe('Prune=false,Delete=false');
  const { installed, file } = await installedAndFileCrd();
  expect(installed).toEqual(file);
});

test('kubectl apply -k deploy/ installs the operator namespace with restricted Pod Security and its service account, and not the CRD', async () => {
  const output = await kubectl(['apply', '-k', 'deploy/']);
  expect(output).toContain('namespace/wso2-frontend-system');
  expect(output).not.toContain('customresourcedefinition');

  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  const namespace = await core.readNamespace({ name: 'wso2-frontend-system' });
  expect(namespace.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  const account = await core.readNamespacedServiceAccount({
    name: 'wso2-frontend-operator',
    namespace: 'wso2-frontend-system',
  });
  expect(account.metadata?.labels?.['app.kubernetes.io/name']).toBe('wso2-frontend-operator');
});

test('kubectl delete -k deploy/ removes the operator and never the CRD (so no Wso2Frontend, no NGINX serving traffic)', async () => {
  // Issue 26: deleting the operator deleted the CRD, and with it 6 frontends at once. A server
  // dry run lists what the command deletes without deleting it (other tests share this cluster).
  await kubectl(['apply', '-k', 'deploy/']);
  const deleted = await kubectl(['delete', '-k', 'deploy/', '--dry-run=server', '-o', 'name']);
  expect(deleted).toContain('deployment.apps/wso2-frontend-operator');
  expect(deleted).not.toContain('customresourcedefinition');
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
