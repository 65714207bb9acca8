// A frontend served as in a cluster, with every part real but the container runtime: the operator
// (run by the caller) reconciles it, kwok runs its one NGINX pod and its WSO2 pods, and the reload
// agent runs as a real process with that NGINX pod's name, the flags the operator wrote into the
// pod and (by default) the token of the ServiceAccount the operator made for it, running Debian's
// NGINX on exactly the ConfigMap the operator renders. That configuration listens where the
// container would (8080, 8443, 8081 on every address), so agent and NGINX run in a network
// namespace of their own (netns.ts): the pod network is local there, and a connection to a WSO2
// pod's address reaches the fake WSO2 node mapped to it here.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import * as k8s from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { POD_CIDR, REAL_AGENTS_LABEL } from '../../src/localcluster/control-plane.js';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { nginxName } from '../../src/render/objects.js';
import { AgentProcess } from './agent.js';
import { eventually, POD_SECURITY_LABELS, serviceAccountKubeconfig } from './cluster.js';
import type { FakeWso2Node } from './fake-wso2.js';
import { NetworkNamespace, type Address } from './netns.js';

/**
 * A namespace `<prefix>-<random>` whose NGINX pods real agents report on (the local control
 * plane's stand-in stays out of it), under the restricted Pod Security Standard.
 */
export async function createRealAgentsNamespace(core: k8s.CoreV1Api, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({
    body: { metadata: { name, labels: { ...POD_SECURITY_LABELS, [REAL_AGENTS_LABEL]: 'true' } } },
  });
  return name;
}

/** The WSO2 ports NGINX connects to (every product's HTTPS, passthrough HTTPS and HTTP ports the tests use). */
const WSO2_PORTS = [9443, 8243, 8280];

export class ServedFrontend {
  /** WSO2 pod address -> the fake node that answers for it. */
  readonly podNodes = new Map<string, FakeWso2Node>();

  private constructor(
    private readonly core: k8s.CoreV1Api,
    readonly resource: Wso2Frontend,
    private readonly nodes: FakeWso2Node[],
    readonly ns: NetworkNamespace,
    /** The loopback port here that reaches NGINX's HTTPS listener. */
    readonly https: number,
  ) {}

  agent!: AgentProcess;
  nginxPod!: k8s.V1Pod;

  /**
   * Once kwok runs the frontend's NGINX pod and `wso2Pods` WSO2 pods, starts the agent for that
   * pod. `kubeconfig` is the agent's identity (default: a token of the pod's ServiceAccount).
   */
  static async start(options: {
    kubeConfig: k8s.KubeConfig;
    resource: Wso2Frontend;
    nodes: FakeWso2Node[];
    dir: string;
    wso2Pods: number;
    kubeconfig?: string;
    /** Added to the agent's environment (e.g. its test-only hook). */
    env?: Record<string, string>;
  }): Promise<ServedFrontend> {
    const core = options.kubeConfig.makeApiClient(k8s.CoreV1Api);
    const apiServer = new URL(options.kubeConfig.getCurrentCluster()!.server);
    const api: Address = { host: '127.0.0.1', port: Number(apiServer.port) };
    let served: ServedFrontend | undefined;
    const ns = await NetworkNamespace.start((inside) => {
      if (inside.host === api.host && inside.port === api.port) return api;
      const node = served?.podNodes.get(inside.host);
      return node && { host: node.address, port: inside.port };
    });
    served = new ServedFrontend(core, options.resource, options.nodes, ns, await ns.expose(8443));
    try {
      const { name, namespace } = options.resource.metadata as { name: string; namespace: string };
      served.nginxPod = await eventually('kwok to run the NGINX pod', async () => {
        const pods = await core.listNamespacedPod({
          namespace,
          labelSelector: `app.kubernetes.io/instance=${name},app.kubernetes.io/component=nginx`,
        });
        return pods.items.find((p) => p.status?.phase === 'Running');
      });
      const addresses = await served.mapPods(options.wso2Pods);
      // The agent starts on a configuration that routes to every WSO2 pod. Before the pods'
      // EndpointSlice, the operator renders one that does not (its sites answer 503 from NGINX
      // itself, and the first probes would say so until the next render is served).
      await eventually('a configuration in the ConfigMap that routes to every WSO2 pod', async () => {
        const configMap = await core.readNamespacedConfigMap({ name: nginxName(options.resource), namespace });
        const text = Object.values(configMap.data ?? {}).join('\n');
        return addresses.every((address) => text.includes(`server ${address}:`)) ? true : undefined;
      });
      const pod = served.nginxPod;
      const args = pod.spec!.containers[0]!.args!;
      const kubeconfig =
        options.kubeconfig ?? (await serviceAccountKubeconfig(namespace, pod.spec!.serviceAccountName!, options.dir));
      const stateDir = join(options.dir, 'state');
      mkdirSync(stateDir, { recursive: true });
      served.agent = await AgentProcess.start({
        namespace,
        pod: pod.metadata!.name!,
        frontend: options.resource,
        secretFlags: args.filter((_arg, i) => args[i - 1] === '--secret'),
        dir: stateDir,
        ports: { http: 8080, https: 8443, health: 8081 },
        kubeconfig,
        ...(options.env ? { env: options.env } : {}),
        wrap: (command) =>
          ns.wrap(command, [api, ...WSO2_PORTS.map((port) => ({ host: '0.0.0.0', port }))], [POD_CIDR]),
      });
    } catch (error) {
      // Whatever was started so far goes with it.
      await served.stop();
      throw error;
    }
    return served;
  }

  /** Waits for `count` WSO2 pods with an address, gives each new one a fake node of its own, returns the addresses. */
  mapPods(count: number): Promise<string[]> {
    const { name, namespace } = this.resource.metadata as { name: string; namespace: string };
    return eventually(`${count} WSO2 pod(s) with an address`, async () => {
      const pods = (
        await this.core.listNamespacedPod({
          namespace,
          labelSelector: `app.kubernetes.io/instance=${name},app.kubernetes.io/managed-by=wso2-frontend-operator`,
        })
      ).items.filter(
        (p) =>
          p.status?.podIP &&
          !p.metadata?.deletionTimestamp &&
          p.metadata?.labels?.['app.kubernetes.io/component'] !== 'nginx',
      );
      if (pods.length !== count) return undefined;
      for (const pod of pods) this.mapAddress(pod.status!.podIP!);
      return pods.map((p) => p.status!.podIP!);
    });
  }

  /** Gives an address in the pod network the next unused fake node. */
  mapAddress(address: string): FakeWso2Node {
    if (!this.podNodes.has(address)) {
      const node = this.nodes[this.podNodes.size];
      if (!node) throw new Error(`no fake node left for ${address}`);
      this.podNodes.set(address, node);
    }
    return this.podNodes.get(address)!;
  }

  /** The SHA-256 fingerprint of the certificate NGINX presents for `servername`, checked against `ca`. */
  presentedCertificate(servername: string, ca: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: this.https, servername, ca }, () => {
        resolve(socket.getPeerCertificate().fingerprint256);
        socket.end();
      });
      socket.once('error', reject);
    });
  }

  async stop(): Promise<void> {
    // Set once start() got that far.
    await (this.agent as AgentProcess | undefined)?.stop();
    await this.ns.close();
  }
}
