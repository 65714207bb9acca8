// The reload agent as a real process (`wso2-frontend agent` from dist/), and the objects it
// watches written as the operator writes them: the NGINX ConfigMap (rendered for loopback
// ports, with its hash) and the certificate Secrets.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { SERVED_CONDITION, certificateFingerprint, formatSecretMount, servedHashOf } from '../../src/api/agent.js';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { ComponentProcess } from '../../src/localcluster/process.js';
import { freePort } from '../../src/localcluster/ports.js';
import type { Topology } from '../../src/model/topology.js';
import type { NginxLayout } from '../../src/render/nginx/config.js';
import {
  agentSecretMounts,
  certificateSecretName,
  configMapOf,
  nginxConfiguration,
  nginxName,
} from '../../src/render/objects.js';
import { issueCa, issueServerCertificate, serverCertificateNames, tlsSecretData } from '../../src/tls/issuer.js';
import type { KeyAndCertificate } from '../../src/tls/issuer.js';
import { eventually } from './cluster.js';
import { onLoopback, topologyOf } from './frontend.js';
import { NGINX } from './nginx.js';
import { example } from './resources.js';

export interface LoopbackPorts {
  http: number;
  https: number;
  health: number;
}

export async function loopbackPorts(): Promise<LoopbackPorts> {
  return { http: await freePort(), https: await freePort(), health: await freePort() };
}

export const loopbackLayout = (ports: LoopbackPorts): NginxLayout => ({
  listen: { address: '127.0.0.1', ...ports },
  publicPorts: { http: ports.http, https: ports.https },
  trafficLog: true,
});

/** The frontend's CA and one server certificate per certificate of the topology, as the operator issues them. */
export function issueCertificates(topology: Topology, ca?: KeyAndCertificate) {
  const now = new Date();
  const authority = ca ?? issueCa('agent test CA', { now });
  const certificates = topology.certificates.map((plan) => {
    const [names] = serverCertificateNames(plan.hosts, topology.tls.extraSANs, false);
    return { plan, data: tlsSecretData(issueServerCertificate(authority, names!, { now }), authority) };
  });
  return { ca: authority, certificates };
}

export type Certificates = ReturnType<typeof issueCertificates>;

/** The ConfigMap and Secrets for a topology, and the agent's --secret flags that lay the Secrets out as nginx.conf expects. */
export function agentObjects(frontend: Wso2Frontend, topology: Topology, layout: NginxLayout, certs: Certificates) {
  const configuration = nginxConfiguration(
    topology,
    layout,
    certs.certificates.map((c) => certificateFingerprint(c.data['tls.crt'])),
  );
  const secrets: k8s.V1Secret[] = certs.certificates.map((c) => ({
    metadata: { name: certificateSecretName(frontend, c.plan.name), namespace: frontend.metadata.namespace! },
    type: 'kubernetes.io/tls',
    data: Object.fromEntries(Object.entries(c.data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  }));
  const secretFlags = agentSecretMounts(frontend, topology).map(formatSecretMount);
  return { configMap: configMapOf(frontend, configuration), hash: configuration.hash, secrets, secretFlags };
}

/** apim-single on loopback block `block`, served by one fake node (node-1 at 127.0.BLOCK.1, node-2 at .2), in `namespace`. */
export function singleNodeFrontend(block: number, namespace: string, node: 'node-1' | 'node-2'): Wso2Frontend {
  const resource = onLoopback(example('apim-single.yaml'), block);
  resource.metadata.namespace = namespace;
  resource.spec.backends.external!.nodes = [
    { name: node, address: `127.0.${block}.${node === 'node-1' ? 1 : 2}`, roles: ['all-in-one'] },
  ];
  return resource;
}

/** Writes the frontend's Secrets, then its ConfigMap (the operator's order); returns the configuration's hash. */
export async function publishAgentObjects(
  core: k8s.CoreV1Api,
  resource: Wso2Frontend,
  layout: NginxLayout,
  certs: Certificates,
): Promise<string> {
  const objects = agentObjects(resource, topologyOf(resource), layout, certs);
  for (const secret of objects.secrets) await put(core, secret);
  await put(core, objects.configMap);
  return objects.hash;
}

/** Creates or replaces the ConfigMap or Secret (a PUT, as an update would be). */
export async function put(core: k8s.CoreV1Api, object: k8s.V1ConfigMap | k8s.V1Secret): Promise<void> {
  const { name, namespace } = object.metadata as { name: string; namespace: string };
  const isSecret = 'type' in object;
  try {
    if (isSecret) await core.replaceNamespacedSecret({ name, namespace, body: object });
    else await core.replaceNamespacedConfigMap({ name, namespace, body: object });
  } catch (error) {
    if (!(error instanceof k8s.ApiException && error.code === 404)) throw error;
    if (isSecret) await core.createNamespacedSecret({ namespace, body: object });
    else await core.createNamespacedConfigMap({ namespace, body: object });
  }
}

/** A Pod for kwok's fake node to run, whose identity the agent takes (POD_NAME, POD_NAMESPACE). */
export async function createNginxPod(core: k8s.CoreV1Api, namespace: string, name: string): Promise<void> {
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name, labels: { 'app.kubernetes.io/component': 'nginx' } },
      // As locked down as the operator's NGINX pods (namespaces enforce Pod Security "restricted").
      spec: {
        securityContext: { runAsNonRoot: true, runAsUser: 101, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [
          {
            name: 'nginx',
            image: 'wso2-frontend-nginx:test',
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          },
        ],
      },
    },
  });
}

/** createNginxPod, then waits until kwok runs it (the agent reports on a running pod). */
export async function createRunningNginxPod(core: k8s.CoreV1Api, namespace: string, name: string): Promise<void> {
  await createNginxPod(core, namespace, name);
  await eventually('kwok to run the NGINX pod', async () => {
    const pod = await core.readNamespacedPodStatus({ name, namespace });
    return pod.status?.phase === 'Running' ? true : undefined;
  });
}

/** The agent's condition on a Pod, and the hash its message says is served. */
export async function servedCondition(
  core: k8s.CoreV1Api,
  namespace: string,
  name: string,
): Promise<{ condition: k8s.V1PodCondition; hash: string | undefined } | undefined> {
  const pod = await core.readNamespacedPodStatus({ name, namespace });
  const condition = pod.status?.conditions?.find((c) => c.type === SERVED_CONDITION);
  return condition && { condition, hash: servedHashOf(condition.message) };
}

export class AgentProcess {
  private constructor(
    private readonly process: ComponentProcess,
    readonly dir: string,
    readonly healthPort: number,
  ) {}

  /** Starts `wso2-frontend agent` with the identity of `pod`, NGINX's prefix and state in `dir`. */
  static async start(options: {
    namespace: string;
    pod: string;
    frontend: Wso2Frontend;
    secretFlags: string[];
    dir: string;
    ports: LoopbackPorts;
    kubeconfig?: string;
    env?: Record<string, string>;
    args?: string[];
    /** Runs the agent's command line through another (e.g. NetworkNamespace.wrap). */
    wrap?: (command: string[]) => [string, string[]];
  }): Promise<AgentProcess> {
    const healthPort = await freePort();
    const args = [
      join(process.cwd(), 'dist/cli/main.js'),
      'agent',
      '--config-map',
      nginxName(options.frontend),
      ...options.secretFlags.flatMap((flag) => ['--secret', flag]),
      '--nginx',
      NGINX,
      '--state-dir',
      options.dir,
      '--confirm-url',
      `http://127.0.0.1:${options.ports.health}/config-hash`,
      '--health-port',
      String(healthPort),
      '--termination-message-path',
      join(options.dir, '..', 'termination-log'),
      ...(options.args ?? []),
    ];
    const env = {
      POD_NAME: options.pod,
      POD_NAMESPACE: options.namespace,
      ...(options.kubeconfig ? { KUBECONFIG: options.kubeconfig } : {}),
      ...options.env,
    };
    const [binary, binaryArgs] = options.wrap ? options.wrap([process.execPath, ...args]) : [process.execPath, args];
    const agent = new ComponentProcess('agent', binary, binaryArgs, join(options.dir, '..', 'agent.log'), env);
    agent.start();
    return new AgentProcess(agent, options.dir, healthPort);
  }

  /** The NGINX master's process id, from its pid file. */
  masterPid(): number | undefined {
    const file = join(this.dir, 'nginx.pid');
    return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : undefined;
  }

  /** What the agent wrote to its termination message file (the kubelet's /dev/termination-log); undefined when nothing. */
  terminationMessage(): string | undefined {
    const file = join(this.dir, '..', 'termination-log');
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  }

  async metrics(): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${this.healthPort}/metrics`);
    return response.text();
  }

  /** The value of one sample, e.g. metric('wso2_frontend_agent_reloads_total{result="success"}'); 0 when absent. */
  async metric(sample: string): Promise<number> {
    const line = (await this.metrics()).split('\n').find((l) => l.startsWith(`${sample} `));
    return line ? Number(line.slice(sample.length + 1)) : 0;
  }

  assertRunning(): void {
    this.process.assertRunning();
  }

  waitForExit(): Promise<number | null> {
    return this.process.waitForExit();
  }

  log(): string {
    return this.process.logTail(80);
  }

  /** SIGTERM (NGINX quits gracefully first); resolves with the agent's exit code. */
  async stop(): Promise<number | null> {
    await this.process.stop(20_000);
    return this.process.waitForExit();
  }
}
