// The upstream servers the operator renders for the reload agents' upstream_server_up gauge:
// every server of the upstreams the vhosts write, by role, as NGINX writes it in $upstream_addr.
import type { Wso2Frontend } from '../../src/api/schema.js';
import {
  namedByAddress,
  parseUpstreamServersPlan,
  UPSTREAM_SERVERS_FILE,
  type UpstreamServersPlan,
} from '../../src/api/upstream-servers.js';
import { containerLayout, renderNginx } from '../../src/render/nginx/config.js';
import { nginxConfigMap, nginxConfiguration } from '../../src/render/objects.js';
import { topologyOf } from '../support/frontend.js';
import { example } from '../support/resources.js';

function withNodes(addresses: string[]): Wso2Frontend {
  const resource = example('apim-single.yaml');
  resource.spec.backends.external!.nodes = addresses.map((address, i) => ({
    name: `node-${i + 1}`,
    address,
    roles: ['all-in-one'],
  }));
  return resource;
}

function planOf(resource: Wso2Frontend): UpstreamServersPlan {
  const plan = parseUpstreamServersPlan(nginxConfigMap(resource, topologyOf(resource)).data![UPSTREAM_SERVERS_FILE]!);
  if (typeof plan === 'string') throw new Error(plan);
  return plan;
}

test('every server of every upstream the vhosts write, once per role, as $upstream_addr shows it', () => {
  const resource = withNodes(['10.0.0.1', 'fd00:0:0::1', 'wso2-2.example.com']);
  expect(planOf(resource)).toEqual({
    roles: [
      {
        role: 'all-in-one',
        servers: [
          '10.0.0.1:9443',
          '[fd00::1]:9443',
          'wso2-2.example.com:9443',
          '10.0.0.1:8243',
          '[fd00::1]:8243',
          'wso2-2.example.com:8243',
          '10.0.0.1:8280',
          '[fd00::1]:8280',
          'wso2-2.example.com:8280',
        ],
      },
    ],
  });
  const topology = topologyOf(resource);
  const nginx = Object.values(renderNginx(topology, containerLayout(topology))).join('\n');
  expect(nginx).toContain('server 10.0.0.1:9443 ');
  expect(nginx).toContain('server wso2-2.example.com:8280 resolve ');
});

test('servers given by address are told from those NGINX resolves', () => {
  expect(['10.0.0.1:9443', '[fd00::1]:9443', 'wso2-2.example.com:9443', 'node1:9443'].map(namedByAddress)).toEqual([
    true,
    true,
    false,
    false,
  ]);
});

test('a change of the nodes changes the plan and the configuration hash; without the traffic log there is no plan', () => {
  const one = withNodes(['10.0.0.1']);
  const two = withNodes(['10.0.0.1', '10.0.0.2']);
  expect(planOf(one).roles[0]!.servers).toEqual(['10.0.0.1:9443', '10.0.0.1:8243', '10.0.0.1:8280']);
  const hash = (resource: Wso2Frontend) => {
    const topology = topologyOf(resource);
    return nginxConfiguration(topology, containerLayout(topology)).hash;
  };
  expect(hash(one)).not.toBe(hash(two));
  const topology = topologyOf(one);
  expect(nginxConfiguration(topology, { ...containerLayout(topology), trafficLog: false }).files).not.toHaveProperty(
    UPSTREAM_SERVERS_FILE,
  );
});

test('a plan that is not one is refused with the place it breaks', () => {
  expect(parseUpstreamServersPlan('{')).toMatch(/^upstreams.json is not JSON/);
  expect(parseUpstreamServersPlan(JSON.stringify({ roles: [{ role: 'gateway', servers: ['10.0.0.1'] }] }))).toMatch(
    /^upstreams.json\/roles\/0\/servers\/0: /,
  );
});
