// The operator itself runs in the cluster, installed as docs/operations.md tells a user: the CRD
// on its own first, then the Helm chart with the operator image from the local registry into a
// namespace labelled for the restricted Pod Security Standard; after its uninstall, once more
// with kustomize (an overlay of deploy/ that sets `images:`, into its restricted
// wso2-frontend-system). One install at a time: two installs, each with its own Lease, would both
// reconcile the same frontends. No operator runs in this process: whatever reconciles the
// frontend here is the in-cluster leader, which the frontend's Events name (reportingInstance is
// the Lease holder's identity). Each install: 2 replicas Ready on real containers pulled from the
// local registry; one leader; the kubelet enforcing non-root, the read-only root and seccomp
// RuntimeDefault inside the operator container; the leader pod deleted and the other replica
// taking the Lease, after which a spec change is reconciled; the uninstall leaving nothing of the
// operator while the CRD and the frontend stay.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { nginxName } from '../../src/render/objects.js';
import { LEASE_NAME } from '../../src/render/ownership.js';
import { eventually, isNotFound, kubeConfig, kubectl, kubectlOutcome, type RecordedEvent } from '../support/cluster.js';
import { goTool } from '../support/go-tools.js';
import {
  conditionOf,
  example,
  patchSpec,
  provideTlsSecrets,
  readFrontend,
  settledFrontend,
} from '../support/resources.js';
import { core, curl, onRealPods, pushedImages } from '../support/real-pods.js';

const execFileAsync = promisify(execFile);
const CHART = 'deploy/helm/wso2-frontend-operator';
const RELEASE = 'wso2-frontend-operator';
const CRD = 'wso2frontends.wso2-frontend.dev';
const NAME = 'identity-7';
/** The Lease's duration (src/controller/runtime/leader.ts), and what a busy 2-core machine adds to it. */
const LEASE_MS = 15_000;
const MARGIN_MS = 45_000;

/** An image reference split as the chart's values and kustomize's `images:` take it. */
function parts(reference: string): { repository: string; tag: string } {
  const at = reference.lastIndexOf(':');
  return { repository: reference.slice(0, at), tag: reference.slice(at + 1) };
}

async function helm(args: string[]): Promise<{ stdout: string; stderr: string }> {
  try {
    return await execFileAsync(goTool('helm'), args, { env: process.env, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`helm ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** kubectl that must succeed; its stdout and stderr (where the API server's warnings go). */
async function kubectlBoth(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const outcome = await kubectlOutcome(args);
  if (outcome.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${outcome.stderr}`);
  return outcome;
}

interface Install {
  how: string;
  /** The operator's namespace. */
  namespace: string;
  /** Selects the operator's pods. */
  selector: string;
  /** Installs as the docs say; what the installer wrote to stderr. */
  install(): Promise<string>;
  /** Uninstalls as the docs say, and waits until the API server has let go of it all. */
  uninstall(): Promise<void>;
}

const images = pushedImages();
const operatorImage = parts(images.operator);
const nginxImage = parts(images.nginx);
const scratch = mkdtempSync(join(tmpdir(), 'install-'));

const helmInstall: Install = {
  how: 'the Helm chart',
  namespace: `wso2-frontend-helm-${process.pid}`,
  selector: `app.kubernetes.io/name=${RELEASE},app.kubernetes.io/instance=${RELEASE}`,
  async install() {
    // docs/operations.md: the namespace, labelled for the restricted standard, then the chart
    // with the images of the user's registry.
    await kubectl(['create', 'namespace', this.namespace]);
    await kubectl(['label', 'namespace', this.namespace, 'pod-security.kubernetes.io/enforce=restricted']);
    const install = ['install', RELEASE, CHART, '--namespace', this.namespace];
    const { stderr } = await helm([
      ...install,
      '--set',
      `image.repository=${operatorImage.repository},image.tag=${operatorImage.tag}`,
      '--set',
      `nginxImage.repository=${nginxImage.repository},nginxImage.tag=${nginxImage.tag}`,
    ]);
    return stderr;
  },
  async uninstall() {
    await helm(['uninstall', RELEASE, '--namespace', this.namespace, '--wait']);
  },
};

/** The user's overlay: deploy/ with the images of their registry. */
const overlay = join(scratch, 'overlay');
const kustomizeInstall: Install = {
  how: 'kustomize',
  namespace: 'wso2-frontend-system',
  selector: `app.kubernetes.io/name=${RELEASE}`,
  async install() {
    const kustomization = [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'resources:',
      `  - ${relative(overlay, resolve('deploy'))}`,
      'images:',
      `  - {name: wso2-frontend-operator, newName: "${operatorImage.repository}", newTag: "${operatorImage.tag}"}`,
      `  - {name: wso2-frontend-nginx, newName: "${nginxImage.repository}", newTag: "${nginxImage.tag}"}`,
      '',
    ].join('\n');
    mkdirSync(overlay, { recursive: true });
    writeFileSync(join(overlay, 'kustomization.yaml'), kustomization);
    return (await kubectlBoth(['apply', '-k', overlay])).stderr;
  },
  async uninstall() {
    await kubectl(['delete', '-k', overlay, '--wait']);
  },
};

const leases = () => kubeConfig().makeApiClient(k8s.CoordinationV1Api);

/** The operator's pods that are not being deleted. */
async function operatorPods(install: Install): Promise<k8s.V1Pod[]> {
  const pods = await core().listNamespacedPod({ namespace: install.namespace, labelSelector: install.selector });
  return pods.items.filter((p) => !p.metadata?.deletionTimestamp);
}

const isReady = (pod: k8s.V1Pod) => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

/** The Lease holder's identity (`<pod name>-<pid>`, src/controller/setup.ts), or undefined. */
async function holder(install: Install): Promise<string | undefined> {
  try {
    const lease = await leases().readNamespacedLease({ name: LEASE_NAME, namespace: install.namespace });
    return lease.spec?.holderIdentity || undefined;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

const podOf = (identity: string, pods: k8s.V1Pod[]) => pods.filter((p) => identity.startsWith(`${p.metadata!.name}-`));

async function logsOf(install: Install, pod: string): Promise<string> {
  return kubectl(['logs', '-n', install.namespace, pod, '-c', 'operator']);
}

/** The frontend's Events, as the operator recorded them. */
async function frontendEvents(namespace: string): Promise<(RecordedEvent & { reportingInstance?: string })[]> {
  const text = await kubectl([
    'get',
    'events.events.k8s.io',
    '-n',
    namespace,
    '--field-selector',
    `regarding.name=${NAME}`,
    '-o',
    'json',
  ]);
  return (JSON.parse(text) as { items: (RecordedEvent & { reportingInstance?: string })[] }).items;
}

/** Changes the frontend's NGINX configuration and waits until it is Ready for that generation; the settled frontend. */
async function reconciledAfter(namespace: string, clientMaxBodySize: string): Promise<Wso2Frontend> {
  const before = await readFrontend(namespace, NAME);
  await patchSpec(namespace, NAME, { nginx: { clientMaxBodySize } });
  return eventually(
    `the change to clientMaxBodySize ${clientMaxBodySize} reconciled to Ready`,
    async () => {
      const f = await readFrontend(namespace, NAME);
      return f.metadata.generation! > before.metadata.generation! &&
        settledFrontend(f) &&
        f.status?.configHash !== before.status?.configHash
        ? f
        : undefined;
    },
    120_000,
  );
}

let frontendNamespace: string;

beforeAll(async () => {
  // The CRD first, on its own (docs/operations.md).
  await kubectl(['apply', '--server-side', '-f', 'crds/']);
  // A CRD with no conditions yet makes `kubectl wait` fail rather than wait.
  await eventually('the CRD to be established', () =>
    kubectl(['wait', '--for=condition=Established', `crd/${CRD}`, '--timeout=60s']),
  );
  frontendNamespace = `install-${process.pid}`;
  await kubectl(['create', 'namespace', frontendNamespace]);
  await kubectl(['label', 'namespace', frontendNamespace, 'pod-security.kubernetes.io/enforce=restricted']);
  const base = example('is-7-managed.yaml');
  const resource = onRealPods({ ...base, metadata: { ...base.metadata, namespace: frontendNamespace } });
  await provideTlsSecrets(resource, frontendNamespace);
  await kubectl(['apply', '--server-side', '-n', frontendNamespace, '-f', '-'], JSON.stringify(resource));
});

afterAll(async () => {
  // Whatever a failed test left: no operator of this file may outlive it.
  await helm(['uninstall', RELEASE, '--namespace', helmInstall.namespace]).catch(() => undefined);
  if (existsSync(overlay) && (await kubectlOutcome(['get', 'namespace', kustomizeInstall.namespace])).code === 0)
    await kubectlOutcome(['delete', '-k', overlay, '--ignore-not-found']);
  for (const namespace of [helmInstall.namespace, frontendNamespace])
    await kubectlOutcome(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
  rmSync(scratch, { recursive: true, force: true });
});

describe.each([
  { install: helmInstall, sizes: ['64m', '32m'] },
  { install: kustomizeInstall, sizes: ['48m', '24m'] },
])('installed with $install.how', ({ install, sizes }) => {
  let pods: k8s.V1Pod[];

  test('2 replicas become Ready in the restricted namespace, running the images of the local registry', async () => {
    const stderr = await install.install();
    // The API server's warnings (a Pod Security violation among them) reach the installer's stderr.
    expect(stderr).not.toMatch(/warning|violat/i);
    const namespace = await core().readNamespace({ name: install.namespace });
    expect(namespace.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    pods = await eventually(
      '2 operator replicas Ready',
      async () => {
        const current = await operatorPods(install);
        return current.length === 2 && current.every(isReady) ? current : undefined;
      },
      150_000,
    ).catch(async (error: Error) => {
      const listing = await kubectl(['get', 'pods,events', '-n', install.namespace, '-o', 'wide']);
      throw new Error(`${error.message}\n${listing}`);
    });
    for (const pod of pods) {
      const status = pod.status!.containerStatuses!.find((c) => c.name === 'operator')!;
      expect(status.containerID).toMatch(/^containerd:\/\//);
      expect(status.restartCount).toBe(0);
      // containerd names the image by one of its tags (the registry holds it as 0.1.0 too); the
      // pod asked for the registry's reference, and the node holds that registry's digest.
      expect(pod.spec!.containers.find((c) => c.name === 'operator')!.image).toBe(images.operator);
      // The digest the node pulled from the registry under that name.
      expect(status.imageID).toMatch(
        new RegExp(`^${operatorImage.repository.replace(/\./g, '\\.')}@sha256:[0-9a-f]{64}$`),
      );
      // kustomize's install runs the NGINX image once as an init container, for the operator to read back.
      for (const init of pod.status!.initContainerStatuses ?? []) {
        expect(init.state?.terminated?.exitCode).toBe(0);
        expect(pod.spec!.initContainers!.find((c) => c.name === init.name)!.image).toBe(images.nginx);
        expect(init.imageID).toMatch(new RegExp(`^${nginxImage.repository.replace(/\./g, '\\.')}@sha256:`));
      }
      // The images it runs for frontends: the ones the install set (flags, or read from its own Pod).
      const log = await logsOf(install, pod.metadata!.name!);
      const line = log.split('\n').find((l) => l.includes('"images for frontends"'));
      expect(JSON.parse(line!)).toMatchObject({ operator: images.operator, nginx: images.nginx });
    }
    // The namespace's restricted admission refused no pod of the ReplicaSet.
    const refused = await kubectl([
      'get',
      'events',
      '-n',
      install.namespace,
      '--field-selector',
      'reason=FailedCreate',
      '-o',
      'name',
    ]);
    expect(refused).toBe('');
  }, 180_000);

  test('the kubelet runs the operator container as uid 1000, on a read-only root, under seccomp RuntimeDefault', async () => {
    for (const pod of pods) {
      const exec = (script: string) =>
        kubectlOutcome([
          'exec',
          '-n',
          install.namespace,
          pod.metadata!.name!,
          '-c',
          'operator',
          '--',
          'sh',
          '-c',
          script,
        ]);
      const uid = await exec('id -u');
      expect([uid.code, uid.stdout.trim()]).toEqual([0, '1000']);
      const write = await exec('echo x > /written-by-the-test');
      expect(write.code).not.toBe(0);
      expect(write.stderr).toContain('Read-only file system');
      const status = await exec('cat /proc/1/status');
      expect(status.stdout).toMatch(/^Seccomp:\s+2$/m);
      expect(status.stdout).toMatch(/^Uid:\s+1000\s+1000\s+1000\s+1000$/m);
    }
  });

  test('exactly one replica leads: it holds the Lease and reconciles the frontend to Ready', async () => {
    const identity = await eventually('a Lease holder', () => holder(install));
    expect(podOf(identity, pods)).toHaveLength(1);
    const leaders = [];
    for (const pod of pods)
      if ((await logsOf(install, pod.metadata!.name!)).includes('"became leader"')) leaders.push(pod.metadata!.name);
    expect(leaders).toEqual([podOf(identity, pods)[0]!.metadata!.name]);

    // With the Helm install the frontend comes up for the first time; with kustomize, after the
    // frontend sat unreconciled between the two installs, a spec change.
    const settled =
      install === helmInstall
        ? await eventually(
            'the frontend Ready',
            async () => {
              const f = await readFrontend(frontendNamespace, NAME);
              return settledFrontend(f) ? f : undefined;
            },
            240_000,
          ).catch(async (error: Error) => {
            const live = await kubectl(['get', 'wso2frontend,pods', '-n', frontendNamespace, '-o', 'wide']);
            throw new Error(`${error.message}\n${live}`);
          })
        : await reconciledAfter(frontendNamespace, sizes[0]!);
    expect(conditionOf(settled, 'Serving')?.status).toBe('True');
    expect(conditionOf(settled, 'ProductConfigured')?.status).toBe('True');
    // The leader pod recorded the frontend's Events: no other operator acted on it.
    const events = await frontendEvents(frontendNamespace);
    expect(events.some((e) => e.reportingInstance === identity)).toBe(true);
  }, 280_000);

  test('when the leader pod is deleted, the other replica takes the Lease and reconciles a spec change', async () => {
    const before = await eventually('a Lease holder', () => holder(install));
    const leader = podOf(before, pods)[0]!.metadata!.name!;
    const other = pods.find((p) => p.metadata!.name !== leader)!.metadata!.name!;
    const transitions = (await leases().readNamespacedLease({ name: LEASE_NAME, namespace: install.namespace })).spec
      ?.leaseTransitions;
    // The leaving leader's log to its end: it stops cleanly (SIGTERM), never for a lost Lease.
    const follow = spawn('kubectl', ['logs', '-f', '-n', install.namespace, leader, '-c', 'operator'], {
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let leaderLog = '';
    follow.stdout.on('data', (chunk: Buffer) => (leaderLog += chunk.toString()));
    follow.stderr.on('data', (chunk: Buffer) => (leaderLog += chunk.toString()));
    const followed = new Promise<void>((done) => follow.once('close', () => done()));
    await eventually('kubectl logs -f following the leader', () => (leaderLog ? true : undefined));
    await kubectl(['delete', 'pod', '-n', install.namespace, leader, '--wait=false']);

    const after = await eventually(
      'another replica holding the Lease',
      async () => {
        const identity = await holder(install);
        return identity && !identity.startsWith(`${leader}-`) ? identity : undefined;
      },
      LEASE_MS + MARGIN_MS,
    );
    const lease = await leases().readNamespacedLease({ name: LEASE_NAME, namespace: install.namespace });
    expect(lease.spec?.leaseTransitions).toBeGreaterThan(transitions ?? 0);
    await followed;
    expect(leaderLog).toContain('"stopping: finishing reconciles in flight"');
    expect(leaderLog).not.toContain('lost the leader-election lease');
    expect(leaderLog).not.toContain('could not release the lease');

    // The new leader: the other replica, or the ReplicaSet's replacement if it won the race.
    const current = await eventually(
      '2 operator replicas Ready again',
      async () => {
        const now = await operatorPods(install);
        return now.length === 2 && now.every(isReady) ? now : undefined;
      },
      120_000,
    );
    expect(current.map((p) => p.metadata!.name)).toContain(other);
    expect(podOf(after, current)).toHaveLength(1);
    for (const pod of current)
      expect(pod.status!.containerStatuses!.find((c) => c.name === 'operator')!.restartCount).toBe(0);

    const settled = await reconciledAfter(frontendNamespace, sizes[1]!);
    expect(conditionOf(settled, 'Ready')?.status).toBe('True');
    await eventually('an Event of the new leader', async () =>
      (await frontendEvents(frontendNamespace)).some((e) => e.reportingInstance === after) ? true : undefined,
    );
    pods = current;
  }, 240_000);

  test('the uninstall leaves nothing of the operator, and the CRD and the frontend stay', async () => {
    const served = await readFrontend(frontendNamespace, NAME);
    // The operator's last words, should the frontend's status change on the way out.
    const logs = (await operatorPods(install)).map((pod) => {
      const follow = spawn('kubectl', ['logs', '-f', '-n', install.namespace, pod.metadata!.name!, '-c', 'operator'], {
        env: process.env,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      let text = '';
      follow.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      return () => `${pod.metadata!.name}:\n${text}`;
    });
    await install.uninstall();
    await eventually(
      'no operator pod',
      async () =>
        (await core().listPodForAllNamespaces({ labelSelector: install.selector })).items.length ? undefined : true,
      120_000,
    );
    const cluster = await kubectl([
      'get',
      'clusterroles,clusterrolebindings',
      '-l',
      `app.kubernetes.io/name=${RELEASE}`,
      '-o',
      'name',
    ]);
    expect(cluster).toBe('');
    if (install === helmInstall) {
      // The release namespace stays, with the Lease the operator made in it (docs/operations.md):
      // nothing else of the operator's.
      const left = await kubectl([
        'get',
        'deployments,replicasets,pods,services,serviceaccounts,roles,rolebindings,secrets,configmaps,leases',
        '-n',
        install.namespace,
        '-o',
        'name',
      ]);
      // What Kubernetes itself puts in every namespace aside.
      const ofEveryNamespace = ['configmap/kube-root-ca.crt', 'serviceaccount/default'];
      expect(
        left
          .split('\n')
          .filter((name) => name && !ofEveryNamespace.includes(name))
          .sort(),
      ).toEqual([`lease.coordination.k8s.io/${LEASE_NAME}`]);
      await kubectl(['delete', 'namespace', install.namespace]);
    } else {
      // kubectl delete -k removes the operator's namespace, and the Lease with it.
      expect((await kubectlOutcome(['get', 'namespace', install.namespace])).code).not.toBe(0);
    }
    await kubectl(['get', 'crd', CRD]);
    const after = await readFrontend(frontendNamespace, NAME);
    expect(after.metadata.uid).toBe(served.metadata.uid);
    // Its NGINX keeps serving, unreconciled: a request through the Service reaches a WSO2 pod.
    const service = await core().readNamespacedService({ name: nginxName(after), namespace: frontendNamespace });
    const host = after.spec.sites!.identity!.host;
    const answer = await curl(['-k', '--resolve', `${host}:443:${service.spec!.clusterIP}`, `https://${host}/`]);
    expect(answer.ok).toBe(true);
    expect(JSON.parse(answer.out)).toMatchObject({ node: expect.stringContaining(NAME) });
    if (conditionOf(after, 'Ready')?.status !== 'True')
      throw new Error(
        `Ready is no longer True after the uninstall: ${JSON.stringify(after.status?.conditions, null, 1)}\nbefore: ${JSON.stringify(served.status?.conditions, null, 1)}\n${logs.map((l) => l()).join('\n')}`,
      );
  }, 180_000);
});
