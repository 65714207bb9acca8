// The install runs as its own identity with least privilege: `kubectl apply -k deploy/`, then the
// operator process with a TokenRequest token of the deployed service account brings every
// example to Ready; `kubectl auth can-i --list` for that account is exactly the table below
// (the README's "Permissions"); writes outside it are refused by the real API server, including
// blockOwnerDeletion without wso2frontends/finalizers (OwnerReferencesPermissionEnforcement is
// on in the local control plane). The namespaced mode (deploy/namespaced/) is proven the same way.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { createNamespace, kubectl, serviceAccountKubeconfig } from '../support/cluster.js';
import { OperatorProcess } from '../support/operator-process.js';
import { EVERYONE, expectForbidden, permissionsOf, sorted, type Permission } from '../support/rbac.js';
import { examples, provideBaseConfig, provideTlsSecrets } from '../support/resources.js';

const OPERATOR_NAMESPACE = 'wso2-frontend-system';
const ACCOUNT = 'wso2-frontend-operator';

/** What the operator may do in a namespace it reconciles, by kind (see deploy/base/rbac.yaml for why). */
const OPERATOR_PERMISSIONS: Permission[] = [
  { resource: 'certificates.cert-manager.io', names: '', verbs: 'get list create patch delete' },
  { resource: 'configmaps', names: '', verbs: 'get list watch create patch delete' },
  { resource: 'deployments.apps', names: '', verbs: 'get list watch create patch delete' },
  { resource: 'endpointslices.discovery.k8s.io', names: '', verbs: 'list watch' },
  { resource: 'endpoints', names: '', verbs: 'get list' },
  { resource: 'events.events.k8s.io', names: '', verbs: 'create patch' },
  { resource: 'networkpolicies.networking.k8s.io', names: '', verbs: 'list watch create patch delete' },
  { resource: 'poddisruptionbudgets.policy', names: '', verbs: 'list watch create patch delete' },
  { resource: 'pods', names: '', verbs: 'get list watch' },
  { resource: 'pods/status', names: '', verbs: 'patch' },
  { resource: 'rolebindings.rbac.authorization.k8s.io', names: '', verbs: 'list watch create patch delete' },
  { resource: 'roles.rbac.authorization.k8s.io', names: '', verbs: 'list watch create patch delete' },
  { resource: 'secrets', names: '', verbs: 'get list watch create patch delete' },
  { resource: 'serviceaccounts', names: '', verbs: 'list watch create patch delete' },
  { resource: 'services', names: '', verbs: 'list watch create patch delete' },
  { resource: 'statefulsets.apps', names: '', verbs: 'get list watch create patch delete' },
  { resource: 'wso2frontends.wso2-frontend.dev/finalizers', names: '', verbs: 'update' },
  { resource: 'wso2frontends.wso2-frontend.dev/status', names: '', verbs: 'patch' },
  { resource: 'wso2frontends.wso2-frontend.dev', names: '', verbs: 'get list watch' },
];
/** In its own namespace, also its leader-election Lease. */
const LEASE: Permission = { resource: 'leases.coordination.k8s.io', names: '', verbs: 'get create update' };
/** And its own Pod, read once for the images it runs (src/controller/images.ts). */
const OWN_POD: Permission = { resource: 'pods', names: '', verbs: 'get' };

/** Runs the operator as `kubeconfig`'s identity on `namespace`, applies the examples there, and waits until all are Ready. */
async function examplesReady(
  kubeconfig: string,
  namespace: string,
  leaseNamespace: string,
  chosen = examples(),
): Promise<string> {
  for (const { resource } of chosen) {
    await provideTlsSecrets(resource, namespace);
    await provideBaseConfig(resource, namespace);
  }
  const operator = await OperatorProcess.start(
    ['--namespace', namespace, '--health-port', '0', '--leader-elect', '--lease-namespace', leaseNamespace],
    { kubeconfig },
  );
  try {
    // The Lease is taken with the token's rights, before any reconcile.
    await operator.waitForLog('became leader', 60_000);
    await Promise.all(
      chosen.map(({ file }) => kubectl(['apply', '--server-side', '-n', namespace, '-f', join('examples', file)])),
    );
    return await kubectl([
      'wait',
      '--for=condition=Ready',
      'wso2frontends',
      '--all',
      '-n',
      namespace,
      '--timeout=240s',
    ]);
  } finally {
    const refused = operator.logLines().filter((line) => /forbidden|\b403\b/i.test(JSON.stringify(line)));
    await operator.stop();
    expect(refused).toEqual([]);
  }
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wso2-frontend-rbac-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cluster-wide install (kubectl apply -k deploy/)', () => {
  const user = `system:serviceaccount:${OPERATOR_NAMESPACE}:${ACCOUNT}`;
  let namespace: string;
  let kubeconfig: string;

  beforeAll(async () => {
    // As documented: the CRD on its own first, then the operator.
    await kubectl(['apply', '--server-side', '-f', 'crds/']);
    await kubectl(['apply', '-k', 'deploy/']);
    namespace = await createNamespace('rbac');
    kubeconfig = await serviceAccountKubeconfig(OPERATOR_NAMESPACE, ACCOUNT, dir);
  });

  test('the operator with a token of its service account brings every example to Ready, with no request refused', async () => {
    const out = await examplesReady(kubeconfig, namespace, OPERATOR_NAMESPACE);
    expect(out.trim().split('\n')).toHaveLength(examples().length);
  });

  test('kubectl auth can-i --list is exactly the table, in any namespace, plus its Lease in its own', async () => {
    expect(await permissionsOf(user, namespace)).toEqual(sorted([...OPERATOR_PERMISSIONS, ...EVERYONE]));
    expect(await permissionsOf(user, 'kube-system')).toEqual(sorted([...OPERATOR_PERMISSIONS, ...EVERYONE]));
    expect(await permissionsOf(user, OPERATOR_NAMESPACE)).toEqual(
      sorted([...OPERATOR_PERMISSIONS, LEASE, ...EVERYONE]),
    );
  });

  test('writes outside the table are refused by the API server', async () => {
    await expectForbidden(kubeconfig, ['run', 'shell', '--image=busybox', '-n', namespace]);
    await expectForbidden(kubeconfig, [
      'patch',
      'wso2frontend',
      'apim-single',
      '-n',
      namespace,
      '--type=merge',
      '-p',
      '{"spec":{"nginx":{"replicas":5}}}',
    ]);
    const configMap = JSON.parse(
      await kubectl(['get', 'configmap', 'apim-single-nginx', '-n', namespace, '-o', 'json']),
    ) as object;
    // update: server-side apply never needs it.
    await expectForbidden(kubeconfig, ['replace', '-f', '-'], JSON.stringify(configMap));
    await expectForbidden(kubeconfig, ['scale', 'deployment', 'apim-single-nginx', '--replicas=5', '-n', namespace]);
    await expectForbidden(kubeconfig, [
      'create',
      'clusterrolebinding',
      'mine',
      '--clusterrole=cluster-admin',
      `--user=x`,
    ]);
    await expectForbidden(kubeconfig, ['delete', 'lease', 'kube-controller-manager', '-n', 'kube-system']);
  });

  test('blockOwnerDeletion on an owned object needs wso2frontends/finalizers update (OwnerReferencesPermissionEnforcement)', async () => {
    const owner = JSON.parse(await kubectl(['get', 'wso2frontend', 'apim-single', '-n', namespace, '-o', 'json'])) as {
      metadata: { uid: string };
    };
    const owned = (name: string) =>
      yaml.dump({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name,
          namespace,
          ownerReferences: [
            {
              apiVersion: 'wso2-frontend.dev/v1alpha1',
              kind: 'Wso2Frontend',
              name: 'apim-single',
              uid: owner.metadata.uid,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
      });
    // The same rules without the finalizers one, for another account.
    const rules = JSON.parse(await kubectl(['get', 'clusterrole', ACCOUNT, '-o', 'json'])) as {
      rules: { resources: string[] }[];
    };
    const withoutFinalizers = rules.rules.filter((r) => !r.resources.includes('wso2frontends/finalizers'));
    await kubectl(['create', 'serviceaccount', 'no-finalizers', '-n', namespace]);
    await kubectl(
      ['apply', '-f', '-'],
      yaml.dump({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'no-finalizers', namespace },
        rules: withoutFinalizers,
      }),
    );
    await kubectl([
      'create',
      'rolebinding',
      'no-finalizers',
      '--role=no-finalizers',
      `--serviceaccount=${namespace}:no-finalizers`,
      '-n',
      namespace,
    ]);
    const other = await serviceAccountKubeconfig(namespace, 'no-finalizers', dir);
    const apply = ['apply', '--server-side', '--field-manager=wso2-frontend-operator', '-f', '-'];
    await expect(kubectl(['--kubeconfig', other, ...apply], owned('refused'))).rejects.toThrow(
      /cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on/,
    );
    expect(await kubectl(['--kubeconfig', kubeconfig, ...apply], owned('admitted'))).toContain('configmap/admitted');
  });

  test('every pod the operator made for the examples was admitted under the restricted Pod Security Standard', async () => {
    const ns = JSON.parse(await kubectl(['get', 'namespace', namespace, '-o', 'json'])) as {
      metadata: { labels: Record<string, string> };
    };
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const replicaSets = JSON.parse(await kubectl(['get', 'replicasets', '-n', namespace, '-o', 'json'])) as {
      items: {
        metadata: { name: string };
        spec: { replicas: number };
        status: { readyReplicas?: number; conditions?: { reason: string }[] };
      }[];
    };
    expect(replicaSets.items.length).toBeGreaterThan(examples().length);
    for (const rs of replicaSets.items) {
      expect({ name: rs.metadata.name, failures: rs.status.conditions ?? [] }).toEqual({
        name: rs.metadata.name,
        failures: [],
      });
    }
  });
});

describe('namespaced install (kubectl apply -k deploy/namespaced/)', () => {
  // The overlay as it is, with the operator in a namespace of its own so that its service
  // account is not the one the cluster-wide install above binds to a ClusterRole.
  const operatorNamespace = 'wso2-frontend-namespaced';
  const user = `system:serviceaccount:${operatorNamespace}:${ACCOUNT}`;
  const watched = 'wso2';
  let kubeconfig: string;

  beforeAll(async () => {
    const rendered = (await kubectl(['kustomize', 'deploy/namespaced/'])).replaceAll(
      OPERATOR_NAMESPACE,
      operatorNamespace,
    );
    const objects = yaml.loadAll(rendered) as { kind: string }[];
    expect(objects.filter((o) => o.kind.startsWith('Cluster') && o.kind !== 'ClusterRole').map((o) => o.kind)).toEqual(
      [],
    );
    expect(objects.map((o) => o.kind)).not.toContain('ClusterRole');
    await kubectl(['apply', '--server-side', '-f', 'crds/']);
    await kubectl(['apply', '-f', '-'], rendered);
    kubeconfig = await serviceAccountKubeconfig(operatorNamespace, ACCOUNT, dir);
  });

  test('the operator Deployment watches only the namespace the Role is in', async () => {
    const deployment = JSON.parse(
      await kubectl(['get', 'deployment', ACCOUNT, '-n', operatorNamespace, '-o', 'json']),
    ) as { spec: { template: { spec: { containers: { args: string[] }[] } } } };
    expect(deployment.spec.template.spec.containers[0]!.args).toContain(`--namespace=${watched}`);
  });

  test('the operator with a token of its service account brings examples to Ready in the watched namespace', async () => {
    // One with external nodes, one with managed WSO2 pods and a certificate Secret of the user's.
    const chosen = examples().filter(({ file }) => ['apim-single.yaml', 'is-7-managed.yaml'].includes(file));
    expect(chosen).toHaveLength(2);
    const out = await examplesReady(kubeconfig, watched, operatorNamespace, chosen);
    expect(out.trim().split('\n')).toHaveLength(2);
  });

  test('kubectl auth can-i --list: the table in the watched namespace, nothing in any other', async () => {
    expect(await permissionsOf(user, watched)).toEqual(sorted([...OPERATOR_PERMISSIONS, ...EVERYONE]));
    expect(await permissionsOf(user, 'kube-system')).toEqual(sorted(EVERYONE));
    expect(await permissionsOf(user, operatorNamespace)).toEqual(sorted([LEASE, OWN_POD, ...EVERYONE]));
  });

  test('Secrets outside the watched namespace are refused by the API server', async () => {
    await expectForbidden(kubeconfig, ['get', 'secrets', '-A']);
    await expectForbidden(kubeconfig, ['delete', 'secret', 'anything', '-n', 'kube-system']);
    await expectForbidden(kubeconfig, ['create', 'secret', 'generic', 'x', '--from-literal=a=b', '-n', 'default']);
  });
});
