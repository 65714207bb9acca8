// The Helm chart in deploy/helm/wso2-frontend-operator, with a real helm (scripts/go-tools.sh
// builds it from the Go module proxy): it lints, renders what its values ask, is accepted by the
// real API server (--dry-run=server, in a namespace enforcing the restricted Pod Security
// Standard), and grants exactly the RBAC of the kustomize install, cluster-wide and namespaced.
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import * as yaml from 'js-yaml';
import { AGENT_PORT, nginxDeployment } from '../../src/render/objects.js';
import { LABEL, NGINX_COMPONENT, OPERATOR_NAME } from '../../src/render/ownership.js';
import { createNamespace, kubectl } from '../support/cluster.js';
import { topologyOf } from '../support/frontend.js';
import { example } from '../support/resources.js';
import { goTool } from '../support/go-tools.js';

const CHART = 'deploy/helm/wso2-frontend-operator';
const execFileAsync = promisify(execFile);

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: unknown[];
  roleRef?: unknown;
  subjects?: unknown[];
  spec?: Record<string, unknown>;
}

async function helm(args: string[]): Promise<string> {
  try {
    return (await execFileAsync(goTool('helm'), args, { maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`helm ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

const parse = (text: string) => (yaml.loadAll(text) as (Manifest | null)[]).filter((m): m is Manifest => !!m);

const template = async (...values: string[]) =>
  parse(
    await helm([
      'template',
      'wso2-frontend-operator',
      CHART,
      '--namespace',
      'wso2-frontend-system',
      ...values.flatMap((v) => ['--set', v]),
    ]),
  );

/** Every RBAC object, without labels and annotations (which say who installed it, not what it grants). */
function rbacOf(manifests: Manifest[]) {
  return manifests
    .filter((m) => m.apiVersion.startsWith('rbac.authorization.k8s.io/'))
    .map(({ kind, metadata, rules, roleRef, subjects }) => ({
      kind,
      name: metadata.name,
      namespace: metadata.namespace,
      ...(rules ? { rules } : {}),
      ...(roleRef ? { roleRef } : {}),
      ...(subjects ? { subjects } : {}),
    }))
    .sort((a, b) => `${a.kind}/${a.namespace}/${a.name}`.localeCompare(`${b.kind}/${b.namespace}/${b.name}`));
}

const kustomize = async (dir: string) => parse(await kubectl(['kustomize', dir]));

test('helm lint --strict passes with the default values and with every option turned on', async () => {
  expect(await helm(['lint', '--strict', CHART])).toContain('1 chart(s) linted, 0 chart(s) failed');
  expect(
    await helm([
      'lint',
      '--strict',
      CHART,
      '--set',
      'watchNamespaces={team-a,team-b},metrics.serviceMonitor.enabled=true,nginxMetrics.podMonitor.enabled=true,alerts.prometheusRule.enabled=true,logLevel=error,replicas=1,leaderElection.enabled=false',
    ]),
  ).toContain('0 chart(s) failed');
});

test('the chart installs the same RBAC as kubectl apply -k deploy/', async () => {
  expect(rbacOf(await template())).toEqual(rbacOf(await kustomize('deploy/')));
});

test('with watchNamespaces, the same RBAC as kubectl apply -k deploy/namespaced/: Roles, no ClusterRole', async () => {
  const chart = rbacOf(await template('watchNamespaces={wso2}'));
  expect(chart.map((o) => o.kind)).not.toContain('ClusterRole');
  expect(chart).toEqual(rbacOf(await kustomize('deploy/namespaced/')));
});

test("deploy/namespaced's Role has exactly the rules of deploy/'s ClusterRole", async () => {
  const clusterRole = (await kustomize('deploy/')).find((m) => m.kind === 'ClusterRole')!;
  const role = (await kustomize('deploy/namespaced/')).find(
    (m) => m.kind === 'Role' && m.metadata.namespace === 'wso2',
  )!;
  expect(role.rules).toEqual(clusterRole.rules);
});

test("the chart's CRD is the generated one in crds/, byte for byte", () => {
  const file = 'wso2frontends.wso2-frontend.dev.yaml';
  expect(readFileSync(`${CHART}/crds/${file}`, 'utf8')).toBe(readFileSync(`crds/${file}`, 'utf8'));
});

test('the values reach the operator Deployment: image, replicas, leader election, namespaces, log level, resources', async () => {
  const deployment = (
    await template(
      'image.repository=registry.example.com/wso2-frontend-operator',
      'image.tag=1.2.3',
      'replicas=1',
      'leaderElection.enabled=false',
      'watchNamespaces={team-a,team-b}',
      'logLevel=error',
      'resources.limits.memory=512Mi',
    )
  ).find((m) => m.kind === 'Deployment')!;
  const spec = deployment.spec as {
    replicas: number;
    template: { spec: { containers: { image: string; args: string[]; resources: unknown }[] } };
  };
  const container = spec.template.spec.containers[0]!;
  expect(spec.replicas).toBe(1);
  expect(container.image).toBe('registry.example.com/wso2-frontend-operator:1.2.3');
  expect(container.args).toEqual([
    'operator',
    '--operator-image=registry.example.com/wso2-frontend-operator:1.2.3',
    '--nginx-image=wso2-frontend-nginx:0.1.0',
    '--health-port=8081',
    '--log-level=error',
    '--namespace=team-a',
    '--namespace=team-b',
  ]);
  expect(container.resources).toEqual({ requests: { cpu: '100m', memory: '192Mi' }, limits: { memory: '512Mi' } });
});

test('every image the operator runs comes from the values: tags, digests and the pull Secrets of the pods it runs (issue 26)', async () => {
  const digest = `sha256:${'c'.repeat(64)}`;
  const deployment = (
    await template(
      'image.repository=registry.example.com/team/wso2-frontend-operator',
      `image.digest=${digest}`,
      'nginxImage.repository=registry.example.com/team/wso2-frontend-nginx',
      'nginxImage.tag=1.2.3',
      `nginxImage.digest=${digest}`,
      'imagePullSecrets[0].name=operator-registry',
      'managedImagePullSecrets={team-registry,mirror}',
    )
  ).find((m) => m.kind === 'Deployment')!;
  const pod = (
    deployment.spec as {
      template: { spec: { imagePullSecrets: unknown; containers: { image: string; args: string[] }[] } };
    }
  ).template.spec;
  const container = pod.containers[0]!;
  expect(container.image).toBe(`registry.example.com/team/wso2-frontend-operator@${digest}`);
  expect(pod.imagePullSecrets).toEqual([{ name: 'operator-registry' }]);
  expect(container.args.filter((a) => /image/.test(a))).toEqual([
    `--operator-image=registry.example.com/team/wso2-frontend-operator@${digest}`,
    `--nginx-image=registry.example.com/team/wso2-frontend-nginx:1.2.3@${digest}`,
    '--image-pull-secret=team-registry',
    '--image-pull-secret=mirror',
  ]);
});

test('two replicas without leader election, or an unknown log level, are refused with the reason', async () => {
  await expect(template('leaderElection.enabled=false')).rejects.toThrow(/replicas > 1 needs leaderElection.enabled/);
  await expect(template('logLevel=verbose')).rejects.toThrow(/logLevel must be debug, info or error, got verbose/);
});

test('the metrics Service is on by default and the ServiceMonitor renders when asked', async () => {
  const defaults = await template();
  expect(defaults.filter((m) => m.kind === 'Service').map((m) => m.metadata.name)).toEqual([
    'wso2-frontend-operator-metrics',
  ]);
  expect(defaults.map((m) => m.kind)).not.toContain('ServiceMonitor');
  const monitor = (await template('metrics.serviceMonitor.enabled=true')).find((m) => m.kind === 'ServiceMonitor')!;
  expect(monitor.spec).toMatchObject({
    jobLabel: 'app.kubernetes.io/name',
    endpoints: [{ port: 'metrics', path: '/metrics', interval: '30s', honorLabels: true }],
  });
});

test("the NGINX pods' PodMonitor is off by default and, when asked, scrapes every NGINX pod's agent port in the watched namespaces", async () => {
  expect((await template()).map((m) => m.kind)).not.toContain('PodMonitor');
  const kinds = (await template('nginxMetrics.podMonitor.enabled=true')).map((m) => m.kind);
  expect(kinds.filter((k) => k === 'PodMonitor')).toHaveLength(1);
  const monitor = (await template('nginxMetrics.podMonitor.enabled=true')).find((m) => m.kind === 'PodMonitor')!;
  expect(monitor.spec).toEqual({
    namespaceSelector: { any: true },
    selector: {
      matchLabels: { [LABEL.component]: NGINX_COMPONENT, [LABEL.managedBy]: OPERATOR_NAME },
    },
    podMetricsEndpoints: [{ port: 'agent', path: '/metrics', interval: '30s' }],
  });
  const namespaced = (await template('nginxMetrics.podMonitor.enabled=true,watchNamespaces={wso2}')).find(
    (m) => m.kind === 'PodMonitor',
  )!;
  expect(namespaced.spec).toMatchObject({ namespaceSelector: { matchNames: ['wso2'] } });
  // The port it names is the one the operator's NGINX pods declare.
  const resource = example('apim-single.yaml');
  const nginx = nginxDeployment(resource, topologyOf(resource));
  expect(nginx.spec!.template.spec!.containers[0]!.ports).toContainEqual({ name: 'agent', containerPort: AGENT_PORT });
  expect(nginx.spec!.template.metadata!.labels).toMatchObject({
    [LABEL.component]: NGINX_COMPONENT,
    [LABEL.managedBy]: OPERATOR_NAME,
  });
});

test('the rendered chart is accepted by the API server (--dry-run=server) in a restricted namespace, with no Pod Security warning', async () => {
  const namespace = await createNamespace('helm');
  // A release name of its own, so that the cluster-scoped ClusterRole and binding do not meet the
  // ones `kubectl apply -k deploy/` made in other tests.
  const rendered = await helm(['template', 'dry-run', CHART, '--namespace', namespace, '--include-crds']);
  // Server-side, as the CRD may already be there from another test's server-side apply (a
  // client-side apply would warn about its missing last-applied annotation).
  const result = spawnSync(
    'kubectl',
    ['apply', '--server-side', '--field-manager=helm-test', '--dry-run=server', '-f', '-'],
    { input: rendered, encoding: 'utf8', env: process.env },
  );
  expect({ code: result.status, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  for (const object of [
    'clusterrole.rbac.authorization.k8s.io/dry-run-wso2-frontend-operator',
    'clusterrolebinding.rbac.authorization.k8s.io/dry-run-wso2-frontend-operator',
    'deployment.apps/dry-run-wso2-frontend-operator',
    'service/dry-run-wso2-frontend-operator-metrics',
  ])
    expect(result.stdout).toContain(`${object} serverside-applied (server dry run)`);
});
