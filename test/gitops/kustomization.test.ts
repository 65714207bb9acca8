// The documented install commands work against a real API server: the CRD on its own
// (`kubectl apply -f crds/`, or `-k deploy/crds/`), then the operator (`kubectl apply -k deploy/`),
// and removing the operator (`kubectl delete -k deploy/`) leaves the CRD, and so every
// Wso2Frontend and its NGINX, in place.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import { resolveImages } from '../../src/controller/images.js';
import { createNamespace, kubeConfig, kubectl } from '../support/cluster.js';
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

test('kustomize images: moves both images the operator runs, and the operator reads them from its own Pod (issue 26)', async () => {
  // The images transformer rewrites container images only; the operator's Pod carries the NGINX
  // image as an init container, and the operator reads both back from the API server.
  const digest = `sha256:${'d'.repeat(64)}`;
  const overlay = mkdtempSync(join(tmpdir(), 'images-overlay-'));
  try {
    writeFileSync(
      join(overlay, 'kustomization.yaml'),
      [
        'resources:',
        `  - ${relative(overlay, resolve('deploy'))}`,
        'images:',
        '  - name: wso2-frontend-operator',
        '    newName: registry.example.com/team/wso2-frontend-operator',
        '    newTag: 1.2.3',
        '  - name: wso2-frontend-nginx',
        '    newName: registry.example.com/team/wso2-frontend-nginx',
        `    digest: ${digest}`,
        '',
      ].join('\n'),
    );
    const deployment = (yaml.loadAll(await kubectl(['kustomize', overlay])) as k8s.V1Deployment[]).find(
      (o) => o.kind === 'Deployment',
    )!;
    const namespace = await createNamespace('own-pod');
    const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
    // A Pod of that template, as the ReplicaSet would create it.
    await core.createNamespacedPod({
      namespace,
      // Its own service account is not part of this check.
      body: {
        metadata: { name: 'operator-0' },
        spec: { ...deployment.spec!.template.spec!, serviceAccountName: 'default' },
      },
    });
    expect(await resolveImages({}, { namespace, name: 'operator-0' }, core)).toEqual({
      operator: 'registry.example.com/team/wso2-frontend-operator:1.2.3',
      nginx: `registry.example.com/team/wso2-frontend-nginx@${digest}`,
      pullSecrets: [],
    });
    // A flag wins over the Pod.
    expect(
      (await resolveImages({ nginxImage: 'mirror.example.com/nginx:1' }, { namespace, name: 'operator-0' }, core))
        .nginx,
    ).toBe('mirror.example.com/nginx:1');
    // A Pod that cannot be read is an error naming what is missing, not a silent default.
    await expect(resolveImages({}, { namespace, name: 'absent' }, core)).rejects.toThrow(
      /reading the operator's own Pod .*\/absent for its images failed \(it needs get on pods in its namespace, or pass --operator-image and --nginx-image\)/,
    );
  } finally {
    rmSync(overlay, { recursive: true, force: true });
  }
});
