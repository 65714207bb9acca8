// Issue 17, fault 4: an NGINX pod's master killed, as users see it. First the real agent with
// real NGINX on loopback: it exits 1 and writes why to its termination message file (in a pod,
// /dev/termination-log; the container's terminationMessagePolicy is FallbackToLogsOnError).
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

describe("the frontend's status while the kubelet restarts that container", () => {
  let namespace: string;
  let operator: ReturnType<typeof createOperator>;
  let pod: k8s.V1Pod;

  /** The frontend once `holds` is true of it, as `kubectl get w2fe -o yaml` shows it. */
  const once = (what: string, holds: (f: Wso2Frontend) => boolean) =>
    eventually(what, async () => {
      const f = yaml.load(await kubectl(['get', 'w2fe', NAME, '-n', namespace, '-o', 'yaml'])) as Wso2Frontend;
      return holds(f) ? f : undefined;
    });

  /**
   * What the kubelet writes on the Pod's status subresource (a strategic merge patch) about its
   * one container: after it exited 1 with the agent's termination message and waits to be
   * restarted (not ready), or once it runs again and is ready. lastState keeps the exit.
   */
  const kubeletWrites = (ready: boolean) => {
    const container = pod.spec!.containers[0]!;
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const unready = {
      status: 'False',
      reason: 'ContainersNotReady',
      message: `containers with unready status: [${container.name}]`,
    };
    const backOff = `back-off 10s restarting failed container=${container.name} pod=${pod.metadata!.name}_${namespace}(${pod.metadata!.uid})`;
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
          state: ready
            ? { running: { startedAt: now } }
            : { waiting: { reason: 'CrashLoopBackOff', message: backOff } },
          lastState: {
            terminated: { exitCode: 1, reason: 'Error', message: terminationMessage, startedAt: now, finishedAt: now },
          },
        },
      ],
    };
    const patch = JSON.stringify({ status });
    const name = pod.metadata!.name!;
    return kubectl(['patch', 'pod', name, '-n', namespace, '--subresource=status', '--type=strategic', '-p', patch]);
  };

  beforeAll(async () => {
    await installCrd();
    namespace = await createNamespace('master-killed');
    operator = createOperator({ kubeConfig: kubeConfig(), namespaces: [namespace], identity: 'master-killed' });
    await operator.controller.start();
    const resource = example('apim-single.yaml');
    resource.metadata.name = NAME;
    resource.spec.backends = {
      external: { nodes: [{ name: 'node-1', address: '192.0.2.31', roles: ['all-in-one'] }] },
    };
    await kubectl(['apply', '--server-side', '-n', namespace, '-f', '-'], yaml.dump(resource));
    await kubectl(['wait', '--for=condition=Ready', `w2fe/${NAME}`, '-n', namespace, '--timeout=60s']);
    const pods = await core.listNamespacedPod({
      namespace,
      labelSelector: `${LABEL.instance}=${NAME},${LABEL.component}=${NGINX_COMPONENT}`,
    });
    pod = pods.items.sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!))[0]!;
  });

  afterAll(async () => {
    await operator?.controller.stop();
  });

  test('Ready False (PodNotReady) names the pod, the container, its restarts, the exit and the termination message', async () => {
    expect(terminationMessage).toMatch(/^NGINX master \(pid \d+\) exited: killed by SIGKILL$/);
    expect(pod.spec!.containers[0]!.terminationMessagePolicy).toBe('FallbackToLogsOnError');
    await kubeletWrites(false);
    const f = await once('Ready False (PodNotReady)', (f) => conditionOf(f, 'Ready')?.reason === 'PodNotReady');
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
    await kubeletWrites(true);
    const f = await once('Ready True again', (f) => conditionOf(f, 'Ready')?.status === 'True');
    expect(conditionOf(f, 'ConfigurationServed')).toMatchObject({ status: 'True', reason: 'Served' });
  });
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});
