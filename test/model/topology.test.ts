// The seed routing tables, computed by the model from the examples: for each public host and
// port, which role and backend port it reaches, on which nodes, with which stickiness, and
// which node a pinned management host goes to.
import { buildTopology, serviceDnsNames, type Topology, type Upstream } from '../../src/model/topology.js';
import { validateSpec } from '../../src/model/validate.js';
import { topologyOf } from '../support/frontend.js';
import { example } from '../support/resources.js';

function describeUpstream(u: Upstream): string {
  const servers = u.servers.map((s) => `${s.node}=${s.address}:${s.port}`).join(' ');
  const pin = u.pinnedNode ? ` pinned ${u.pinnedNode}` : '';
  return `${u.protocol}://${u.role}:${u.port} [${servers}] ${u.stickiness.mode}${pin}`;
}

/** One line per public listener: "host:port -> what happens". */
function routingTable(t: Topology): string[] {
  const upstream = (name: string) => describeUpstream(t.upstreams.find((u) => u.name === name)!);
  return t.sites.flatMap((site) => {
    const root = (locations: { path: string; upstream: string }[]) =>
      upstream(locations.find((l) => l.path === '/')!.upstream);
    const http =
      site.http.mode === 'proxy'
        ? root(site.http.locations)
        : site.http.mode === 'redirect'
          ? `301 https://${site.host}:${t.ports.https}`
          : 'off';
    return [
      `${site.host}:${t.ports.https} -> ${root(site.https.locations)}`,
      `${site.host}:${t.ports.http} -> ${http}`,
    ];
  });
}

test.each([
  [
    'seed 000, EI cluster: HTTPS to both nodes :8243 (sticky), HTTP to :8280, the console host pinned to node 1 :9443',
    'ei-cluster.yaml',
    [
      'ei.wso2.com:443 -> https://integrator:8243 [node-1=192.0.2.11:8243 node-2=192.0.2.12:8243] cookie',
      'ei.wso2.com:80 -> http://integrator:8280 [node-1=192.0.2.11:8280 node-2=192.0.2.12:8280] cookie',
      'ui.ei.wso2.com:443 -> https://integrator:9443 [node-1=192.0.2.11:9443] none pinned node-1',
      'ui.ei.wso2.com:80 -> 301 https://ui.ei.wso2.com:443',
    ],
  ],
  [
    'seeds 001/002, single node: portals :9443 and gateway :8243 without stickiness; portal HTTP redirected, gateway HTTP served from :8280',
    'apim-single.yaml',
    [
      'api.am.wso2.com:443 -> https://all-in-one:9443 [node-1=192.0.2.21:9443] none',
      'api.am.wso2.com:80 -> 301 https://api.am.wso2.com:443',
      'gw.am.wso2.com:443 -> https://all-in-one:8243 [node-1=192.0.2.21:8243] none',
      'gw.am.wso2.com:80 -> http://all-in-one:8280 [node-1=192.0.2.21:8280] none',
    ],
  ],
  [
    'seeds 001/002, active-active: portals sticky on both nodes, gateway not sticky',
    'apim-active-active.yaml',
    [
      'api.am.wso2.com:443 -> https://all-in-one:9443 [node-1=192.0.2.31:9443 node-2=192.0.2.32:9443] cookie',
      'api.am.wso2.com:80 -> 301 https://api.am.wso2.com:443',
      'gw.am.wso2.com:443 -> https://all-in-one:8243 [node-1=192.0.2.31:8243 node-2=192.0.2.32:8243] none',
      'gw.am.wso2.com:80 -> http://all-in-one:8280 [node-1=192.0.2.31:8280 node-2=192.0.2.32:8280] none',
    ],
  ],
  [
    'seeds 001/002, HA gateway: the manager host to the gateway manager :9443 (sticky), API traffic to the workers :8243',
    'apim-ha-gateway.yaml',
    [
      'mgtgw.am.wso2.com:443 -> https://gateway-manager:9443 [gwm=192.0.2.41:9443] cookie',
      'mgtgw.am.wso2.com:80 -> 301 https://mgtgw.am.wso2.com:443',
      'gw.am.wso2.com:443 -> https://gateway-worker:8243 [gw-1=192.0.2.42:8243 gw-2=192.0.2.43:8243] none',
      'gw.am.wso2.com:80 -> http://gateway-worker:8280 [gw-1=192.0.2.42:8280 gw-2=192.0.2.43:8280] none',
    ],
  ],
])('%s', (_behaviour, file, table) => {
  expect(routingTable(topologyOf(example(file)))).toEqual(table);
});

test('seeds 001/002, HA publisher, store and key manager: one sticky host each, in the mode the example chose', () => {
  expect(routingTable(topologyOf(example('apim-ha-publisher.yaml')))[0]).toBe(
    'publisher.am.wso2.com:443 -> https://publisher:9443 [publisher-1=192.0.2.51:9443 publisher-2=192.0.2.52:9443] client-ip',
  );
  expect(routingTable(topologyOf(example('apim-ha-store.yaml')))[0]).toBe(
    'store.am.wso2.com:443 -> https://store:9443 [store-1=192.0.2.61:9443 store-2=192.0.2.62:9443] cookie',
  );
  expect(routingTable(topologyOf(example('apim-ha-key-manager.yaml')))[0]).toBe(
    'km.am.wso2.com:443 -> https://key-manager:9443 [km-1=192.0.2.71:9443 km-2=192.0.2.72:9443] cookie',
  );
});

test('a cookie overridden field by field keeps the other defaults', () => {
  const store = topologyOf(example('apim-ha-store.yaml')).upstreams.find((u) => u.name === 'store-https')!;
  expect(store.stickiness).toEqual({
    mode: 'cookie',
    cookie: { name: 'STORE_ROUTE', path: '/', secure: true, sameSite: 'Strict', maxAgeSeconds: 28800 },
  });
});

test('seed 003, IS pattern 1: workers on HTTPS and HTTP :9763, node redirects rewritten on one location, management pinned to the manager', () => {
  const t = topologyOf(example('is-pattern-1.yaml'));
  expect(routingTable(t)).toEqual([
    'is.wso2.com:443 -> https://worker:9443 [worker-1=192.0.2.83:9443 worker-2=192.0.2.84:9443] cookie',
    'is.wso2.com:80 -> http://worker:9763 [worker-1=192.0.2.83:9763 worker-2=192.0.2.84:9763] cookie',
    'mgt.is.wso2.com:443 -> https://manager:9443 [manager=192.0.2.82:9443] none pinned manager',
    'mgt.is.wso2.com:80 -> 301 https://mgt.is.wso2.com:443',
  ]);
  const identity = t.sites.find((s) => s.name === 'identity')!;
  expect(identity.https.locations.map((l) => l.path)).toEqual(['/']);
  expect(identity.nodeOrigins).toEqual([
    { scheme: 'https', host: '192.0.2.83', port: 9443 },
    { scheme: 'http', host: '192.0.2.83', port: 9763 },
    { scheme: 'https', host: '192.0.2.84', port: 9443 },
    { scheme: 'http', host: '192.0.2.84', port: 9763 },
  ]);
});

test("seed 003 on Identity Server 5.4.1 keeps proxy settings in the Carbon 4 files; the management host is the manager's MgtHostName", () => {
  const settings = topologyOf(example('is-pattern-1.yaml')).productSettings;
  expect(settings.configFormat).toBe('carbon4');
  expect(settings.proxyPorts).toEqual({ http: 80, https: 443 });
  expect(settings.roles).toEqual([
    { role: 'worker', hostname: 'is.wso2.com', managementHostname: 'is.wso2.com' },
    { role: 'manager', hostname: 'mgt.is.wso2.com', managementHostname: 'mgt.is.wso2.com' },
  ]);
});

test("seed 004, API Manager 2.x: Carbon 4 product configuration with the example's own host names", () => {
  const t = topologyOf(example('apim-2-active-active.yaml'));
  expect(t.productSettings.configFormat).toBe('carbon4');
  expect(t.sites.map((s) => s.host)).toEqual(['apim.example.com', 'api.example.com']);
  expect(t.upstreams[0]!.servers.map((s) => `${s.address}:${s.port}`)).toEqual([
    'apim-1.internal.example.com:9443',
    'apim-2.internal.example.com:9443',
  ]);
});

test('API Manager 4.x distributed: portal, gateway, WebSocket and WebSub hosts; managed components with pattern replicas unless overridden', () => {
  const t = topologyOf(example('apim-distributed.yaml'));
  expect(t.sites.map((s) => `${s.host} -> ${s.https.locations[0]!.upstream}`)).toEqual([
    'am.wso2.com -> portal-https',
    'gw.wso2.com -> gateway-https',
    'websocket.wso2.com -> websocket-https',
    'websub.wso2.com -> websub-https',
  ]);
  expect(t.upstreams.map((u) => `${u.role}:${u.port} ${u.stickiness.mode} servers=${u.servers.length}`)).toEqual([
    'control-plane:9443 cookie servers=0',
    'gateway:8243 none servers=0',
    'gateway:8280 none servers=0',
    'gateway:8099 none servers=0',
    'gateway:9099 none servers=0',
    'gateway:8021 none servers=0',
    'gateway:9021 none servers=0',
  ]);
  // API-M 4.5 runs each role from its own image (docker-apim v4.5.0.1 apim-acp, apim-universal-gw, apim-tm).
  expect(t.backends).toEqual({
    source: 'managed',
    imageUser: 10001,
    components: [
      {
        role: 'control-plane',
        image: 'wso2/wso2am-acp:4.5.0',
        replicas: 2,
        listeners: [
          { protocol: 'https', port: 9443 },
          { protocol: 'http', port: 9763 },
          { protocol: 'jms', port: 5672 },
          { protocol: 'binary', port: 9611 },
          { protocol: 'binary', port: 9711 },
        ],
        pinned: false,
        peers: true,
      },
      {
        role: 'gateway',
        image: 'wso2/wso2am-universal-gw:4.5.0',
        replicas: 3,
        listeners: [
          { protocol: 'https', port: 8243 },
          { protocol: 'http', port: 8280 },
          { protocol: 'https', port: 8099 },
          { protocol: 'http', port: 9099 },
          { protocol: 'https', port: 8021 },
          { protocol: 'http', port: 9021 },
          { protocol: 'https', port: 9443, name: 'servlet-https' },
        ],
        pinned: false,
        peers: false,
      },
      // No public host reaches the traffic manager: Carbon's management port, and the event ports the others use.
      {
        role: 'traffic-manager',
        image: 'wso2/wso2am-tm:4.5.0',
        replicas: 2,
        listeners: [
          { protocol: 'https', port: 9443 },
          { protocol: 'jms', port: 5672 },
          { protocol: 'binary', port: 9611 },
          { protocol: 'binary', port: 9711 },
        ],
        pinned: false,
        peers: true,
      },
    ],
  });
  expect(t.productSettings.configFormat).toBe('deployment-toml');
  expect(t.productSettings.roles.find((r) => r.role === 'traffic-manager')!.hostname).toBe('am.wso2.com');
});

test('Micro Integrator: HTTPS :8253, HTTP :8290, management API pinned to the named node', () => {
  expect(routingTable(topologyOf(example('mi-cluster.yaml')))).toEqual([
    'mi.wso2.com:443 -> https://micro-integrator:8253 [mi-1=192.0.2.91:8253 mi-2=192.0.2.92:8253] none',
    'mi.wso2.com:80 -> http://micro-integrator:8290 [mi-1=192.0.2.91:8290 mi-2=192.0.2.92:8290] none',
    'mgt.mi.wso2.com:443 -> https://micro-integrator:9164 [mi-2=192.0.2.92:9164] none pinned mi-2',
    'mgt.mi.wso2.com:80 -> 301 https://mgt.mi.wso2.com:443',
  ]);
});

test("a node's port offset shifts every product port of that node", () => {
  const resource = example('apim-single.yaml');
  resource.spec.backends.external!.nodes[0]!.portOffset = 1;
  expect(topologyOf(resource).upstreams.map((u) => u.servers[0]!.port)).toEqual([9444, 8244, 8281]);
});

test('Identity Server 7 with a user Secret: every site serves that Secret, product settings in deployment.toml', () => {
  const t = topologyOf(example('is-7-managed.yaml'));
  expect(t.sites.map((s) => [s.host, s.certificate])).toEqual([
    ['login.example.com', { source: 'secret', name: 'secret-example-com-tls', secretName: 'example-com-tls' }],
    ['console.example.com', { source: 'secret', name: 'secret-example-com-tls', secretName: 'example-com-tls' }],
  ]);
  expect(t.productSettings.configFormat).toBe('deployment-toml');
});

test("only Identity Server 7's management site is the Console's host (docs-is configure-console-hostname.md); on 5.x it is the Carbon management console", () => {
  const consoleOf = (t: Topology) => t.sites.map((s) => [s.name, s.consoleOf]);
  expect(consoleOf(topologyOf(example('is-7-managed.yaml')))).toEqual([
    ['identity', undefined],
    ['management', { identityHost: 'login.example.com' }],
  ]);
  expect(consoleOf(topologyOf(example('is-pattern-1.yaml')))).toEqual([
    ['identity', undefined],
    ['management', undefined],
  ]);
  expect(topologyOf(example('apim-single.yaml')).sites.every((s) => s.consoleOf === undefined)).toBe(true);
});

test('the same spec always gives the same topology', () => {
  const spec = example('is-pattern-1.yaml').spec;
  expect(JSON.stringify(topologyOf(example('is-pattern-1.yaml')))).toBe(
    JSON.stringify(topologyOf({ ...example('is-pattern-1.yaml'), spec })),
  );
});

test('managed backends route to the observed ready pods of each role; a pinned site to the first pod by name', () => {
  const result = validateSpec(example('is-7-managed.yaml').spec);
  if (!result.ok) throw new Error('invalid');
  const t = buildTopology(result.spec, {
    worker: [
      { pod: 'identity-7-worker-b', address: '10.244.0.12' },
      { pod: 'identity-7-worker-a', address: '10.244.0.11' },
    ],
    manager: [
      { pod: 'identity-7-manager-1', address: '10.244.0.21' },
      { pod: 'identity-7-manager-0', address: '10.244.0.20' },
    ],
  });
  expect(routingTable(t)).toEqual([
    'login.example.com:443 -> https://worker:9443 [identity-7-worker-a=10.244.0.11:9443 identity-7-worker-b=10.244.0.12:9443] cookie',
    'login.example.com:80 -> http://worker:9763 [identity-7-worker-a=10.244.0.11:9763 identity-7-worker-b=10.244.0.12:9763] cookie',
    'console.example.com:443 -> https://manager:9443 [identity-7-manager-0=10.244.0.20:9443] none pinned identity-7-manager-0',
    'console.example.com:80 -> 301 https://console.example.com:443',
  ]);
});

test("a managed pod's redirects to its address, pod name or DNS names are all rewritten", () => {
  const result = validateSpec(example('is-7-managed.yaml').spec);
  if (!result.ok) throw new Error('invalid');
  const t = buildTopology(result.spec, {
    worker: [
      {
        pod: 'identity-7-worker-0',
        address: '10.244.0.11',
        hostnames: ['identity-7-worker.ns.svc', 'identity-7-worker.ns.svc.cluster.local'],
      },
    ],
  });
  const identity = t.sites.find((s) => s.https.locations[0]!.upstream === 'identity-https')!;
  expect(identity.nodeOrigins.filter((o) => o.scheme === 'https').map((o) => `${o.host}:${o.port}`)).toEqual([
    '10.244.0.11:9443',
    'identity-7-worker-0:9443',
    'identity-7-worker.ns.svc:9443',
    'identity-7-worker.ns.svc.cluster.local:9443',
  ]);
});

test("a managed pod's DNS names: its role Service's, and its own under it when it has a hostname there", () => {
  expect(serviceDnsNames('is7-worker', 'iam', undefined)).toEqual([
    'is7-worker.iam.svc',
    'is7-worker.iam.svc.cluster.local',
  ]);
  expect(serviceDnsNames('is7-manager', 'iam', 'is7-manager-0')).toEqual([
    'is7-manager.iam.svc',
    'is7-manager.iam.svc.cluster.local',
    'is7-manager-0.is7-manager.iam.svc',
    'is7-manager-0.is7-manager.iam.svc.cluster.local',
  ]);
  expect(serviceDnsNames(undefined, 'iam')).toEqual([]);
});

test('managed backends with no ready pods yet have upstreams without servers', () => {
  const t = topologyOf(example('is-7-managed.yaml'));
  expect(t.upstreams.map((u) => u.servers.length)).toEqual([0, 0, 0]);
  expect(t.upstreams.find((u) => u.name === 'management-https')!.pinnedNode).toBeUndefined();
});

test('validation returns every schema default, also inside objects the spec leaves out, for the topology to use as is', () => {
  const result = validateSpec(example('apim-single.yaml').spec);
  if (!result.ok) throw new Error('apim-single is valid');
  const { ports, tls, backendTLS, nginx, backends } = result.spec;
  expect({ ports, tls, backendTLS, nginx }).toEqual({
    ports: { http: 80, https: 443 },
    tls: { mode: 'self-signed', certificatePerHost: false, privateKey: { algorithm: 'RSA' } },
    backendTLS: { verify: false },
    nginx: {
      edition: 'community',
      replicas: 2,
      service: { type: 'LoadBalancer' },
      timeouts: { connect: '60s', read: '5m', send: '5m' },
      proxyBufferSize: '16k',
      clientMaxBodySize: '100m',
      hsts: { enabled: true, maxAgeSeconds: 31536000, includeSubDomains: false },
    },
  });
  expect(backends.external?.nodes.map((n) => n.portOffset)).toEqual([0]);
});

test("cookie affinity without cookie settings gets the schema's cookie defaults and the product's SameSite", () => {
  const resource = example('apim-single.yaml');
  resource.spec.sites = { portal: { sessionAffinity: { mode: 'cookie' } } };
  const upstream = topologyOf(resource).upstreams.find((u) => u.name === 'portal-https')!;
  expect(upstream.stickiness).toEqual({
    mode: 'cookie',
    cookie: { name: 'WSO2FE_ROUTE', path: '/', secure: true, sameSite: 'None' },
  });
});
