// Issue 17, fault 4: an NGINX pod's master killed, as users see it. First the real agent with
// real NGINX on loopback: it exits 1 and writes why to its termination message file (in a pod,
// /dev/termination-log; the container's terminationMessagePolicy is File, never its log's tail).
// Then the operator on the real control plane, with a frontend whose NGINX pods kwok runs. kwok
// runs no containers, so the test plays the kubelet: it writes the Pod's status as the kubelet
// writes it for a container that exited 1 and is being restarted (not ready, restartCount,
// lastState.terminated with exit code 1, reason Error and the termination message the agent
// wrote, state.waiting CrashLoopBackOff), then as it writes it once the container runs and is
// ready again; the test reads what the operator made of it as users do (`kubectl get -o yaml`).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { createOperator } from '../../src/controller/setup.js';
import { LABEL, NGINX_COMPONENT } from '../../src/render/ownership.js';
import {
  AgentProcess,
  agentObjects,
  createNginxPod,
  issueCertificates,
  loopbackLayout,
  loopbackPorts,
  put,
  servedCondition,
} from '../support/agent.js';
import { send } from '../support/client.js';
import { createNamespace, eventually, kubeConfig, kubectl } from '../support/cluster.js';
import { FakeWso2Node } from '../support/fake-wso2.js';
import { onLoopback, topologyOf } from '../support/frontend.js';
import { conditionOf, example, installCrd } from '../support/resources.js';

const BLOCK = 71;
const AGENT_POD = 'apim-single-nginx-0';
const NAME = 'killed';

let core: k8s.CoreV1Api;
let dir: string;
let terminationMessage: string;

describe('the agent, when its NGINX master is killed', () => {
  const node = new FakeWso2Node('node-1', `127.0.${BLOCK}.1`, { https: [9443, 8243], http: [] });
  let agent: AgentProcess;
  let namespace: string;

  beforeAll(async () => {
    core = kubeConfig().makeApiClient(k8s.CoreV1Api);
    namespace = await createNamespace('master-killed-agent');
    await createNginxPod(core, namespace, AGENT_POD);
    await node.start();
    dir = mkdtempSync(join(tmpdir(), 'wso2-frontend-master-killed-'));
    const resource = onLoopback(example('apim-single.yaml'), BLOCK);
    resource.metadata.namespace = namespace;
    resource.spec.backends.external!.nodes = [{ name: 'node-1', address: `127.0.${BLOCK}.1`, roles: ['all-in-one'] }];
    const ports = await loopbackPorts();
    const certs = issueCertificates(topologyOf(resource));
    const objects = agentObjects(resource, topologyOf(resource), loopbackLayout(ports), certs);
    agent = await AgentProcess.start({
      namespace,
      pod: AGENT_POD,
      frontend: resource,
      secretFlags: objects.secretFlags,
      dir: join(dir, 'nginx'),
      ports,
    });
    for (const secret of objects.secrets) await put(core, secret);
    await put(core, objects.configMap);
    await eventually('the Pod to report that it serves', async () => {
      agent.assertRunning();
      const served = await servedCondition(core, namespace, AGENT_POD);
      return served?.hash === objects.hash && served.condition.reason === 'Served' ? true : undefined;
    });
    const answer = await send({
      scheme: 'https',
      port: ports.https,
      host: 'api.am.wso2.com',
      ca: certs.ca.certificatePem,
    });
    expect(answer.answer?.node).toBe('node-1');
  });

  afterAll(async () => {
    await agent?.stop();
    await node.stop();
  });

  test('exits 1 and writes to its termination message file that the master was killed, and by what', async () => {
    const master = agent.masterPid()!;
    expect(agent.terminationMessage()).toBeUndefined();
    process.kill(master, 'SIGKILL');
    expect(await agent.waitForExit()).toBe(1);
    terminationMessage = agent.terminationMessage()!;
    expect(terminationMessage).toBe(`NGINX master (pid ${master}) exited: killed by SIGKILL`);
    expect(agent.log()).toContain(terminationMessage);
  });
});

/** The frontend once `holds` is true of it, as `kubectl get w2fe -o yaml` shows it. */
const once = (namespace: string, what: string, holds: (f: Wso2Frontend) => boolean) =>
  eventually(what, async () => {
    const f = yaml.load(await kubectl(['get', 'w2fe', NAME, '-n', namespace, '-o', 'yaml'])) as Wso2Frontend;
    return holds(f) ? f : undefined;
  });

interface Exit {
  exitCode: number;
  reason: string;
  message?: string;
}

/**
 * What the kubelet writes on the Pod's status subresource (a strategic merge patch) about its
 * one container: after it exited (`exit`) and waits to be restarted (not ready), or once it
 * runs again and is ready. lastState keeps the exit.
 */
function kubeletWrites(pod: k8s.V1Pod, ready: boolean, exit: Exit) {
  const container = pod.spec!.containers[0]!;
  const { name, namespace, uid } = pod.metadata!;
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const unready = {
    status: 'False',
    reason: 'ContainersNotReady',
    message: `containers with unready status: [${container.name}]`,
  };
  const backOff = `back-off 10s restarting failed container=${container.name} pod=${name}_${namespace}(${uid})`;
  const status = {
    conditions: ['Ready', 'ContainersReady'].map((type) => ({
      type,
      ...(ready ? { status: 'True' } : unready),
      lastTransitionTime: now,
    })),
    containerStatuses: [
      {
        name: container.name,
        image: container.image,
        imageID: '',
        ready,
        started: ready,
        restartCount: 1,
        state: ready ? { running: { startedAt: now } } : { waiting: { reason: 'CrashLoopBackOff', message: backOff } },
        lastState: { terminated: { ...exit, startedAt: now, finishedAt: now } },
      },
    ],
  };
  const patch = JSON.stringify({ status });
  return kubectl(['patch', 'pod', name!, '-n', namespace!, '--subresource=status', '--type=strategic', '-p', patch]);
}

/** The operator on a namespace of its own, and a frontend (apim-single) on `backends`, Ready; its pods of `component`. */
async function readyFrontend(prefix: string, backends: Wso2Frontend['spec']['backends'], component: string) {
  await installCrd();
  const namespace = await createNamespace(prefix);
  const operator = createOperator({ kubeConfig: kubeConfig(), namespaces: [namespace], identity: prefix });
  await operator.controller.start();
  const resource = example('apim-single.yaml');
  resource.metadata.name = NAME;
  resource.spec.backends = backends;
  await kubectl(['apply', '--server-side', '-n', namespace, '-f', '-'], yaml.dump(resource));
  await kubectl(['wait', '--for=condition=Ready', `w2fe/${NAME}`, '-n', namespace, '--timeout=120s']);
  const pods = await core.listNamespacedPod({
    namespace,
    labelSelector: `${LABEL.instance}=${NAME},${LABEL.component}=${component}`,
  });
  return { namespace, operator, pods: pods.items.sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!)) };
}

describe("the frontend's status while the kubelet restarts that container", () => {
  let namespace: string;
  let operator: ReturnType<typeof createOperator>;
  let pod: k8s.V1Pod;
  const exit = (): Exit => ({ exitCode: 1, reason: 'Error', message: terminationMessage });

  beforeAll(async () => {
    const external: Wso2Frontend['spec']['backends'] = {
      external: { nodes: [{ name: 'node-1', address: '192.0.2.31', roles: ['all-in-one'] }] },
    };
    const ready = await readyFrontend('master-killed', external, NGINX_COMPONENT);
    ({ namespace, operator } = ready);
    pod = ready.pods[0]!;
  });

  afterAll(async () => {
    await operator?.controller.stop();
  });

  test('Ready False (PodNotReady) names the pod, the container, its restarts, the exit and the termination message', async () => {
    expect(terminationMessage).toMatch(/^NGINX master \(pid \d+\) exited: killed by SIGKILL$/);
    expect(pod.spec!.containers[0]!.terminationMessagePolicy).toBe('File');
    await kubeletWrites(pod, false, exit());
    const f = await once(
      namespace,
      'Ready False (PodNotReady)',
      (f) => conditionOf(f, 'Ready')?.reason === 'PodNotReady',
    );
    const ready = conditionOf(f, 'Ready')!;
    expect(ready.status).toBe('False');
    expect(ready.message).toContain(
      `NGINX pod ${pod.metadata!.name} is not ready: container nginx, restarted 1 time, waiting: CrashLoopBackOff, ` +
        `last terminated with exit code 1 (Error): ${terminationMessage}`,
    );
    expect(conditionOf(f, 'ConfigurationServed')).toMatchObject({
      status: 'False',
      reason: 'PodNotReady',
      message: ready.message,
    });
    // The kubelet keeps restarting it: in progress, not stalled.
    expect(conditionOf(f, 'Reconciling')?.status).toBe('True');
    expect(conditionOf(f, 'Stalled')?.status).toBe('False');
  });

  test('once the restarted container runs and is ready again, the frontend is Ready again', async () => {
    await kubeletWrites(pod, true, exit());
    const f = await once(namespace, 'Ready True again', (f) => conditionOf(f, 'Ready')?.status === 'True');
    expect(conditionOf(f, 'ConfigurationServed')).toMatchObject({ status: 'True', reason: 'Served' });
  });
});

describe('a WSO2 pod whose container keeps failing (managed backends)', () => {
  let namespace: string;
  let operator: ReturnType<typeof createOperator>;
  let pods: k8s.V1Pod[];
  const oomKilled: Exit = { exitCode: 137, reason: 'OOMKilled' };

  beforeAll(async () => {
    ({ namespace, operator, pods } = await readyFrontend('wso2-crashing', { managed: {} }, 'all-in-one'));
  });

  afterAll(async () => {
    await operator?.controller.stop();
  });

  test('with no ready backend left, BackendsAvailable and Ready name the pod and its last exit; Ready again once it runs', async () => {
    expect(pods.length).toBeGreaterThan(0);
    for (const pod of pods) await kubeletWrites(pod, false, oomKilled);
    const f = await once(
      namespace,
      'Ready False (NoReadyBackend)',
      (f) => conditionOf(f, 'Ready')?.reason === 'NoReadyBackend',
    );
    const container = pods[0]!.spec!.containers[0]!.name;
    expect(conditionOf(f, 'BackendsAvailable')?.message).toContain(
      `WSO2 pod ${pods[0]!.metadata!.name} is not ready: container ${container}, restarted 1 time, ` +
        'waiting: CrashLoopBackOff, last terminated with exit code 137 (OOMKilled)',
    );
    expect(conditionOf(f, 'Ready')?.message).toBe(conditionOf(f, 'BackendsAvailable')?.message);

    for (const pod of pods) await kubeletWrites(pod, true, oomKilled);
    await once(namespace, 'Ready True again', (f) => conditionOf(f, 'Ready')?.status === 'True');
  });
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});
