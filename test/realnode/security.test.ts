// The kubelet enforces the security settings of the pods the operator creates, checked from
// inside the running containers of an example (identity-7 on real pods), not only in the pod spec:
//
// - NGINX (the agent and its NGINX): uid 101 (the nginx-unprivileged image's user), a read-only
//   root file system (only the state emptyDir is writable), seccomp RuntimeDefault, no new
//   privileges, no capabilities.
// - WSO2 (the product container): the product's uid (src/model/catalog.ts imageUser: 802 for
//   IS 7), seccomp RuntimeDefault, no new privileges, no capabilities; a WRITABLE root file system
//   on purpose: Carbon writes into its home at run time (logs, tmp, deployment, the H2 database
//   files) and the image's docker-entrypoint.sh copies the config volume over the home, so a
//   read-only root would need the whole product home copied into an emptyDir. WSO2's own charts
//   keep it writable (wso2/kubernetes-is templates/deployment.yaml sets readOnlyRootFilesystem:
//   false "to cater runtime writes to the configs, DB files"; wso2/helm-apim leaves it unset and
//   its entrypoint writes into the home). What holds instead: only the product's own files are
//   writable, the system's are not (a non-root uid), which this test checks.
// - The init containers (product-files in the WSO2 image, patch-product-config in the operator's)
//   write only to the pod's emptyDirs, so they run on a read-only root. They have ended before
//   anyone could exec into them: the test reads their securityContext from the pod, that they
//   completed, and the OCI spec the kubelet had containerd run them with (read-only root, uid,
//   seccomp filter, no new privileges, no capabilities).
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { PRODUCT_INFO, parseVersion } from '../../src/model/catalog.js';
import { containerdSocket } from '../../src/localcluster/real-node.js';
import { createNamespace, eventually, kubectl } from '../support/cluster.js';
import { conditionOf, example, installCrd, provideTlsSecrets, readFrontend } from '../support/resources.js';
import { core, onRealPods, startOperator } from '../support/real-pods.js';

const NAME = 'identity-7';
let operator: { stop: () => Promise<void> };
let namespace: string;
let resource: Wso2Frontend;
let pods: k8s.V1Pod[];

beforeAll(async () => {
  await installCrd();
  operator = await startOperator();
  namespace = await createNamespace('security');
  const base = example('is-7-managed.yaml');
  resource = onRealPods({ ...base, metadata: { ...base.metadata, namespace } });
  resource.spec.backends.managed!.components!.worker!.replicas = 1;
  await provideTlsSecrets(resource, namespace);
  await kubectl(['apply', '--server-side', '-n', namespace, '-f', '-'], JSON.stringify(resource));
  await eventually(
    'Ready',
    async () => (conditionOf(await readFrontend(namespace, NAME), 'Ready')?.status === 'True' ? true : undefined),
    240_000,
  );
  pods = JSON.parse(await kubectl(['get', 'pods', '-n', namespace, '-o', 'json'])).items as k8s.V1Pod[];
}, 280_000);

afterAll(async () => {
  await operator?.stop();
  if (namespace) await core().deleteNamespace({ name: namespace });
});

const component = (pod: k8s.V1Pod) => pod.metadata?.labels?.['app.kubernetes.io/component'];
const nginxPods = () => pods.filter((p) => component(p) === 'nginx');
const wso2Pods = () => pods.filter((p) => p.spec?.containers[0]?.name === 'wso2');

function exec(pod: k8s.V1Pod, container: string, script: string): Promise<string> {
  return kubectl(['exec', '-n', namespace, pod.metadata!.name!, '-c', container, '--', 'sh', '-c', script]).then((o) =>
    o.trim(),
  );
}

/** What the kernel says about the container's first process. */
async function processStatus(pod: k8s.V1Pod, container: string) {
  const status = await exec(pod, container, 'cat /proc/1/status');
  const field = (name: string) => new RegExp(`^${name}:\\s+(.*)$`, 'm').exec(status)?.[1]?.trim();
  return {
    uid: field('Uid'),
    // 2: a seccomp filter applies (RuntimeDefault).
    seccomp: field('Seccomp'),
    noNewPrivs: field('NoNewPrivs'),
    capEff: field('CapEff'),
  };
}

test('the example runs 2 NGINX pods and its WSO2 pods', () => {
  expect(nginxPods()).toHaveLength(2);
  expect(
    wso2Pods()
      .map((p) => p.metadata!.name)
      .sort(),
  ).toEqual([expect.stringMatching(/^identity-7-manager-/), expect.stringMatching(/^identity-7-worker-/)]);
});

test('NGINX: uid 101, read-only root but for its state volume, seccomp RuntimeDefault, no privileges', async () => {
  for (const pod of nginxPods()) {
    expect(pod.spec?.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 101,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const [container] = pod.spec!.containers;
    expect(container!.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(await exec(pod, 'nginx', 'id -u')).toBe('101');
    // /var/cache/nginx belongs to uid 101 in the image: only the read-only mount refuses the write.
    await expect(exec(pod, 'nginx', 'touch /var/cache/nginx/x')).rejects.toThrow(/Read-only file system/);
    await expect(exec(pod, 'nginx', 'touch /etc/nginx/x')).rejects.toThrow(/Read-only file system/);
    // The state emptyDir is where the agent writes (NGINX_STATE_DIR).
    expect(await exec(pod, 'nginx', 'touch /tmp/nginx/x && rm /tmp/nginx/x && echo written')).toBe('written');
    expect(await processStatus(pod, 'nginx')).toEqual({
      uid: '101\t101\t101\t101',
      seccomp: '2',
      noNewPrivs: '1',
      capEff: '0000000000000000',
    });
    // The NGINX master and its workers run as the same user.
    const nginxUids = await exec(
      pod,
      'nginx',
      'for f in /proc/[0-9]*/status; do if grep -q "^Name:.*nginx" "$f"; then grep "^Uid:" "$f"; fi; done | sort -u',
    );
    expect(nginxUids).toBe('Uid:\t101\t101\t101\t101');
  }
});

test('WSO2: the product uid, a root file system writable only where the product owns it, seccomp RuntimeDefault, no privileges', async () => {
  const version = resource.spec.version ?? PRODUCT_INFO[resource.spec.product].defaultVersion;
  const uid = PRODUCT_INFO[resource.spec.product].imageUser(parseVersion(version)!);
  expect(uid).not.toBe(0);
  for (const pod of wso2Pods()) {
    expect(pod.spec?.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: uid,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.spec!.containers[0]!.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(await exec(pod, 'wso2', 'id -u')).toBe(String(uid));
    expect(await exec(pod, 'wso2', 'touch "$WSO2_SERVER_HOME/x" && rm "$WSO2_SERVER_HOME/x" && echo written')).toBe(
      'written',
    );
    await expect(exec(pod, 'wso2', 'touch /etc/x')).rejects.toThrow(/Permission denied/);
    await expect(exec(pod, 'wso2', 'touch /usr/bin/x')).rejects.toThrow(/Permission denied/);
    expect(await processStatus(pod, 'wso2')).toEqual({
      uid: `${uid}\t${uid}\t${uid}\t${uid}`,
      seccomp: '2',
      noNewPrivs: '1',
      capEff: '0000000000000000',
    });
  }
});

interface OciSpec {
  root: { readonly?: boolean };
  process: { user: { uid: number; gid: number }; noNewPrivileges?: boolean; capabilities?: Record<string, string[]> };
  linux: { seccomp?: { defaultAction: string } };
}

test('WSO2 init containers: completed on a read-only root as the product uid, seccomp RuntimeDefault, no privileges', () => {
  const nodeDir = join(dirname(process.env.KUBECONFIG!), 'node');
  for (const pod of wso2Pods()) {
    const uid = pod.spec!.securityContext!.runAsUser!;
    expect(pod.spec!.initContainers!.map((c) => c.name)).toEqual(['product-files', 'patch-product-config']);
    for (const container of pod.spec!.initContainers!)
      expect(container.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
    for (const status of pod.status!.initContainerStatuses!) {
      expect(status.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
      // What the kubelet asked containerd to run: the container's OCI spec.
      const id = status.containerID!.replace(/^containerd:\/\//, '');
      const info = JSON.parse(
        execFileSync('ctr', ['--address', containerdSocket(nodeDir), '-n', 'k8s.io', 'containers', 'info', id], {
          encoding: 'utf8',
        }),
      ) as { Spec: OciSpec };
      const spec = info.Spec;
      expect(spec.root.readonly).toBe(true);
      expect(spec.process.user).toMatchObject({ uid, gid: uid });
      expect(spec.process.noNewPrivileges).toBe(true);
      expect(spec.linux.seccomp?.defaultAction).toBe('SCMP_ACT_ERRNO');
      expect(Object.values(spec.process.capabilities ?? {}).flat()).toEqual([]);
    }
  }
});
