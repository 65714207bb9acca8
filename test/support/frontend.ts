// A whole frontend on loopback for data-plane tests: the example's nodes become fake WSO2
// nodes on 127.0.<block>.<n> at the product ports, the rendered configuration runs in a real
// NGINX on free ports, and clients reach each public host through it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { freePort } from '../../src/localcluster/ports.js';
import { buildTopology, type Topology } from '../../src/model/topology.js';
import { validateSpec } from '../../src/model/validate.js';
import type { NginxLayout } from '../../src/render/nginx/config.js';
import { FakeWso2Node } from './fake-wso2.js';
import { NginxProcess, writeNginxTree } from './nginx.js';

export { freePort };

/** The resource with each external node moved to a loopback address of its own. */
export function onLoopback(resource: Wso2Frontend, block: number): Wso2Frontend {
  const copy = JSON.parse(JSON.stringify(resource)) as Wso2Frontend;
  copy.spec.backends.external?.nodes.forEach((node, i) => (node.address = `127.0.${block}.${i + 1}`));
  return copy;
}

export function topologyOf(resource: Wso2Frontend): Topology {
  const result = validateSpec(resource.spec);
  if (!result.ok) throw new Error(`invalid resource: ${JSON.stringify(result.problems)}`);
  return buildTopology(result.spec);
}

export interface NginxInstance {
  nginx: NginxProcess;
  dir: string;
  ports: { http: number; https: number };
  /** The CA of this instance's certificates, to trust them. */
  ca: string;
}

export class LoopbackFrontend {
  private constructor(
    readonly topology: Topology,
    readonly nodes: FakeWso2Node[],
    readonly instances: NginxInstance[],
    private readonly dir: string,
  ) {}

  /** The ports and CA of the first NGINX instance, which are also the public ports. */
  get ports(): { http: number; https: number } {
    return this.instances[0]!.ports;
  }

  get ca(): string {
    return this.instances[0]!.ca;
  }

  node(name: string): FakeWso2Node {
    return this.nodes.find((n) => n.name === name)!;
  }

  /**
   * Starts fake nodes for `resource` (already on loopback) and `count` NGINX instances, each on its
   * own tree rendered from the same topology. Nodes named by DNS listen where `listenOn` says,
   * and NGINX asks `resolver` for their addresses.
   */
  static async start(
    resource: Wso2Frontend,
    count = 1,
    options: { resolver?: string; listenOn?: Record<string, string>; trafficLog?: boolean } = {},
  ): Promise<LoopbackFrontend> {
    const topology = topologyOf(resource);
    const nodes = (resource.spec.backends.external?.nodes ?? []).map((node) => {
      const portsOf = (protocol: 'http' | 'https') => [
        ...new Set(
          topology.upstreams
            .filter((u) => u.protocol === protocol)
            .flatMap((u) => u.servers.filter((s) => s.node === node.name).map((s) => s.port)),
        ),
      ];
      return new FakeWso2Node(node.name, options.listenOn?.[node.name] ?? node.address, {
        https: portsOf('https'),
        http: portsOf('http'),
      });
    });
    for (const node of nodes) await node.start();

    const dir = mkdtempSync(join(tmpdir(), 'wso2-frontend-dataplane-'));
    const instances: NginxInstance[] = [];
    for (let i = 0; i < count; i++) {
      const instanceDir = join(dir, `nginx-${i}`);
      const ports = { http: await freePort(), https: await freePort() };
      const publicPorts = instances[0]?.ports ?? ports;
      const layout: NginxLayout = {
        listen: { address: '127.0.0.1', ...ports },
        publicPorts,
        ...(options.resolver ? { resolver: [options.resolver] } : {}),
        ...(options.trafficLog ? { trafficLog: true } : {}),
      };
      writeNginxTree(instanceDir, topology, layout);
      const nginx = await NginxProcess.start(instanceDir, ports.https);
      instances.push({
        nginx,
        dir: instanceDir,
        ports,
        ca: readFileSync(join(instanceDir, 'tls', 'ca', 'ca.crt'), 'utf8'),
      });
    }
    return new LoopbackFrontend(topology, nodes, instances, dir);
  }

  async stop(): Promise<void> {
    await Promise.all(this.instances.map((i) => i.nginx.stop()));
    await Promise.all(this.nodes.map((n) => n.stop()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
