// The keys the fronting owns, per product, version, pattern and replica count, each row naming the
// WSO2 chart, Dockerfile or document it comes from (and the setting must cite it). The sources were
// read from wso2/helm-apim (4.4.x, 4.5.x, main), wso2/docker-apim tags, wso2/kubernetes-is,
// wso2/docker-ei tags, wso2/docs-apim and wso2/docs-is.
import type { Role } from '../../src/api/vocabulary.js';
import { roleRuntime } from '../../src/model/catalog.js';
import { roleConfiguration, type TomlSetting, type TomlValue } from '../../src/model/product-config.js';
import { buildTopology, type Topology } from '../../src/model/topology.js';
import { validateSpec } from '../../src/model/validate.js';

const PLACEMENT = { name: 'fe', namespace: 'wso2' };

function topology(spec: Record<string, unknown>): Topology {
  const result = validateSpec(spec);
  if (!result.ok) throw new Error(`invalid spec: ${JSON.stringify(result.problems)}`);
  return buildTopology(result.spec);
}

const distributed = (controlPlanes: number, trafficManagers: number, version = '4.4.0') =>
  topology({
    product: 'api-manager',
    version,
    pattern: 'apim-distributed',
    backends: {
      managed: {
        components: { 'control-plane': { replicas: controlPlanes }, 'traffic-manager': { replicas: trafficManagers } },
      },
    },
  });

/** Two control planes (one with a port offset), three traffic managers, one gateway, outside the cluster. */
const EXTERNAL = topology({
  product: 'api-manager',
  version: '4.4.0',
  pattern: 'apim-distributed',
  backends: {
    external: {
      nodes: [
        { name: 'cp-a', address: '10.0.0.1', roles: ['control-plane'] },
        { name: 'cp-b', address: '10.0.0.2', roles: ['control-plane'], portOffset: 1 },
        { name: 'tm-a', address: '10.0.1.1', roles: ['traffic-manager'] },
        { name: 'tm-b', address: '10.0.1.2', roles: ['traffic-manager'] },
        { name: 'tm-c', address: '10.0.1.3', roles: ['traffic-manager'] },
        { name: 'gw-a', address: '10.0.2.1', roles: ['gateway'] },
      ],
    },
  },
});

const identityServer = (version: string, sites: Record<string, { host: string }> = {}) =>
  topology({ product: 'identity-server', version, pattern: 'is-pattern-1', sites, backends: { managed: {} } });

const allInOne = (version: string, pattern: 'apim-single' | 'apim-active-active' = 'apim-single') =>
  topology({ product: 'api-manager', version, pattern, backends: { managed: {} } });

const cp = (i: number) => `fe-control-plane-${i}.fe-control-plane-pods.wso2.svc`;
const tm = (i: number) => `fe-traffic-manager-${i}.fe-traffic-manager-pods.wso2.svc`;

const HELM_GW = 'wso2/helm-apim 4.4.x distributed/gateway/confs/deployment.toml';
const HELM_CP = 'wso2/helm-apim 4.4.x distributed/control-plane/confs/instance-1/deployment.toml';
const HELM_TM = 'wso2/helm-apim 4.4.x distributed/traffic-manager/confs/instance-1/deployment.toml';
const DOCS_TM_SEPARATED = 'deploying-wso2-api-m-in-a-distributed-setup-with-tm-separated.md';
const DOCS_ACTIVE_ACTIVE = 'single-node/configuring-an-active-active-deployment.md (Step 7)';
const HELM_AIO = 'wso2/helm-apim main all-in-one/confs/instance-1/deployment.toml';
const KUBERNETES_IS = 'wso2/kubernetes-is master';
const KUBERNETES_IS_5 = 'wso2/kubernetes-is 5.11.x, 6.0.x, 6.1.x';
const DOCS_IS_CONSOLE = 'wso2/docs-is en/includes/deploy/configure-console-hostname.md';

/** The TOML key `[table] key` (`[[table]]#n key` for entry n of an array of tables) a role's instance owns. */
function owned(t: Topology, role: Role, name: string, instance?: string): TomlSetting | undefined {
  const settings = roleConfiguration(t, PLACEMENT, role, instance).files.flatMap((f) =>
    f.settings.filter((s): s is TomlSetting => s.kind === 'toml'),
  );
  return settings.find((s) => {
    const table = s.entry ? `[[${s.table.join('.')}]]#${s.entry.index ?? 0}` : `[${s.table.join('.')}]`;
    return `${table} ${s.key.join('.')}` === name;
  });
}

interface Row {
  case: string;
  topology: Topology;
  role: Role;
  instance?: string;
  key: string;
  /** undefined: the key is not owned in this case. */
  value: TomlValue | undefined;
  source: string;
}

const ROWS: Row[] = [
  // Gateway -> traffic managers: every one, one url_group each (loadbalance), as helm-apim's gateway.
  ...[1, 2, 3].map((n): Row => ({
    case: `gateway, ${n} traffic managers`,
    topology: distributed(2, n),
    role: 'gateway',
    key: '[apim.throttling] throttle_decision_endpoints',
    value: Array.from({ length: n }, (_, i) => `tcp://${tm(i)}:5672`),
    source: HELM_GW,
  })),
  {
    case: 'gateway, 3 traffic managers',
    topology: distributed(2, 3),
    role: 'gateway',
    key: '[[apim.throttling.url_group]]#2 traffic_manager_auth_urls',
    value: [`ssl://${tm(2)}:9711`],
    source: HELM_GW,
  },
  {
    case: 'gateway, 2 traffic managers',
    topology: distributed(2, 2),
    role: 'gateway',
    key: '[[apim.throttling.url_group]]#1 traffic_manager_urls',
    value: [`tcp://${tm(1)}:9611`],
    source: DOCS_TM_SEPARATED,
  },
  {
    case: 'gateway, 2 traffic managers',
    topology: distributed(2, 2),
    role: 'gateway',
    key: '[[apim.throttling.url_group]]#1 type',
    value: 'loadbalance',
    source: HELM_GW,
  },
  {
    case: 'gateway, 1 traffic manager: one url_group',
    topology: distributed(2, 1),
    role: 'gateway',
    key: '[[apim.throttling.url_group]]#1 traffic_manager_urls',
    value: undefined,
    source: HELM_GW,
  },
  {
    case: 'gateway: the traffic managers as a whole, through their Service',
    topology: distributed(2, 2),
    role: 'gateway',
    key: '[apim.throttling] service_url',
    value: 'https://fe-traffic-manager.wso2.svc:9443/services/',
    source: HELM_GW,
  },
  // Gateway and traffic manager -> every control plane's event hub.
  ...[1, 3].map((n): Row => ({
    case: `gateway, ${n} control planes`,
    topology: distributed(n, 2),
    role: 'gateway',
    key: '[apim.event_hub] event_listening_endpoints',
    value: Array.from({ length: n }, (_, i) => `tcp://${cp(i)}:5672`),
    source: DOCS_TM_SEPARATED,
  })),
  {
    case: 'traffic manager, 2 control planes',
    topology: distributed(2, 2),
    role: 'traffic-manager',
    key: '[apim.event_hub] event_listening_endpoints',
    value: [`tcp://${cp(0)}:5672`, `tcp://${cp(1)}:5672`],
    source: HELM_TM,
  },
  // Control plane: duplicates its events to the others, publishes to every event hub.
  {
    case: 'control plane 0 of 2',
    topology: distributed(2, 2),
    role: 'control-plane',
    instance: 'fe-control-plane-0',
    key: '[apim.event_hub] event_duplicate_url',
    value: [`tcp://${cp(1)}:5672`],
    source: HELM_CP,
  },
  {
    case: 'control plane 1 of 3',
    topology: distributed(3, 2),
    role: 'control-plane',
    instance: 'fe-control-plane-1',
    key: '[apim.event_hub] event_duplicate_url',
    value: [`tcp://${cp(0)}:5672`, `tcp://${cp(2)}:5672`],
    source: DOCS_TM_SEPARATED,
  },
  {
    case: 'a single control plane has nothing to duplicate to',
    topology: distributed(1, 2),
    role: 'control-plane',
    key: '[apim.event_hub] event_duplicate_url',
    value: undefined,
    source: HELM_CP,
  },
  {
    case: 'control plane, 2 control planes',
    topology: distributed(2, 2),
    role: 'control-plane',
    key: '[[apim.event_hub.publish.url_group]]#1 urls',
    value: [`tcp://${cp(1)}:9611`],
    source: HELM_CP,
  },
  {
    case: 'control plane, 2 control planes',
    topology: distributed(2, 2),
    role: 'control-plane',
    key: '[[apim.event_hub.publish.url_group]]#0 auth_urls',
    value: [`ssl://${cp(0)}:9711`],
    source: DOCS_TM_SEPARATED,
  },
  {
    case: 'control plane: deploys APIs through the gateway Service on 9443',
    topology: distributed(2, 2),
    role: 'control-plane',
    key: '[[apim.gateway.environment]]#0 service_url',
    value: 'https://fe-gateway.wso2.svc:9443/services/',
    source: HELM_CP,
  },
  {
    // Neither helm-apim's control plane nor the docs' control plane (traffic manager separated) sets them.
    case: 'control plane: no throttling keys',
    topology: distributed(2, 2),
    role: 'control-plane',
    key: '[apim.throttling] throttle_decision_endpoints',
    value: undefined,
    source: HELM_CP,
  },
  // Traffic manager: duplicates throttle events to the others.
  {
    case: 'traffic manager 0 of 2',
    topology: distributed(2, 2),
    role: 'traffic-manager',
    instance: 'fe-traffic-manager-0',
    key: '[apim.throttling] event_duplicate_url',
    value: [`tcp://${tm(1)}:5672`],
    source: HELM_TM,
  },
  {
    case: 'traffic manager 2 of 3',
    topology: distributed(2, 3),
    role: 'traffic-manager',
    instance: 'fe-traffic-manager-2',
    key: '[apim.throttling] event_duplicate_url',
    value: [`tcp://${tm(0)}:5672`, `tcp://${tm(1)}:5672`],
    source: DOCS_TM_SEPARATED,
  },
  {
    case: 'a single traffic manager has nothing to duplicate to',
    topology: distributed(2, 1),
    role: 'traffic-manager',
    key: '[apim.throttling] event_duplicate_url',
    value: undefined,
    source: HELM_TM,
  },
  // External nodes: every node of the role, with its port offset.
  {
    case: 'external gateway, 3 traffic-manager nodes',
    topology: EXTERNAL,
    role: 'gateway',
    key: '[apim.throttling] throttle_decision_endpoints',
    value: ['tcp://10.0.1.1:5672', 'tcp://10.0.1.2:5672', 'tcp://10.0.1.3:5672'],
    source: HELM_GW,
  },
  {
    case: 'external gateway, 2 control-plane nodes (one with offset 1)',
    topology: EXTERNAL,
    role: 'gateway',
    key: '[apim.event_hub] event_listening_endpoints',
    value: ['tcp://10.0.0.1:5672', 'tcp://10.0.0.2:5673'],
    source: DOCS_TM_SEPARATED,
  },
  {
    case: 'external control-plane node cp-a',
    topology: EXTERNAL,
    role: 'control-plane',
    instance: 'cp-a',
    key: '[apim.event_hub] event_duplicate_url',
    value: ['tcp://10.0.0.2:5673'],
    source: HELM_CP,
  },
  {
    case: 'external control-plane node cp-b',
    topology: EXTERNAL,
    role: 'control-plane',
    instance: 'cp-b',
    key: '[[apim.event_hub.publish.url_group]]#1 auth_urls',
    value: ['ssl://10.0.0.2:9712'],
    source: HELM_CP,
  },
  {
    case: 'external traffic-manager node tm-b',
    topology: EXTERNAL,
    role: 'traffic-manager',
    instance: 'tm-b',
    key: '[apim.throttling] event_duplicate_url',
    value: ['tcp://10.0.1.1:5672', 'tcp://10.0.1.3:5672'],
    source: HELM_TM,
  },
  // All-in-one: WebSocket and WebSub endpoints on the gateway host.
  {
    case: 'API-M 4.4 all-in-one',
    topology: allInOne('4.4.0', 'apim-active-active'),
    role: 'all-in-one',
    key: '[[apim.gateway.environment]]#0 ws_endpoint',
    value: 'ws://gw.am.wso2.com:9099',
    source: DOCS_ACTIVE_ACTIVE,
  },
  {
    case: 'API-M 4.4 all-in-one',
    topology: allInOne('4.4.0', 'apim-single'),
    role: 'all-in-one',
    key: '[[apim.gateway.environment]]#0 wss_endpoint',
    value: 'wss://gw.am.wso2.com:8099',
    source: DOCS_ACTIVE_ACTIVE,
  },
  {
    case: 'API-M 4.4 all-in-one',
    topology: allInOne('4.4.0', 'apim-single'),
    role: 'all-in-one',
    key: '[[apim.gateway.environment]]#0 websub_event_receiver_https_endpoint',
    value: 'https://gw.am.wso2.com:8021',
    source: HELM_AIO,
  },
  {
    case: 'API-M 3.2 all-in-one: no WebSub (it came with 4.0)',
    topology: allInOne('3.2.0', 'apim-single'),
    role: 'all-in-one',
    key: '[[apim.gateway.environment]]#0 websub_event_receiver_http_endpoint',
    value: undefined,
    source: HELM_AIO,
  },
  // Identity Server.
  {
    case: 'IS 7.1',
    topology: identityServer('7.1.0', { identity: { host: 'login.example.com' } }),
    role: 'worker',
    key: '[identity_mgt] user_self_registration.callback_url',
    value: 'https://login.example.com/.*',
    source: KUBERNETES_IS,
  },
  {
    case: 'IS 7.1 managed',
    topology: identityServer('7.1.0'),
    role: 'worker',
    key: '[clustering] domain',
    value: 'wso2.is.domain',
    source: KUBERNETES_IS,
  },
  {
    case: 'IS 7.1 managed',
    topology: identityServer('7.1.0'),
    role: 'manager',
    key: '[clustering] local_member_port',
    value: '4001',
    source: KUBERNETES_IS,
  },
  {
    case: 'IS 6.1 managed',
    topology: identityServer('6.1.0'),
    role: 'worker',
    key: '[clustering] domain',
    value: 'wso2.carbon.domain',
    source: KUBERNETES_IS_5,
  },
  {
    case: 'IS 6.1 managed: no local_member_port in its chart',
    topology: identityServer('6.1.0'),
    role: 'worker',
    key: '[clustering] local_member_port',
    value: undefined,
    source: KUBERNETES_IS_5,
  },
  {
    case: 'IS 7.1 behind a proxy on 443',
    topology: identityServer('7.1.0'),
    role: 'worker',
    key: '[server] base_path',
    value: 'https://is.wso2.com',
    source: DOCS_IS_CONSOLE,
  },
  ...(
    [
      ['[console] server_origin', 'https://console.example.com'],
      ['[cors] allowed_origins', ['https://console.example.com']],
      ['[console.idp_configs] signInRedirectURL', 'https://console.example.com/console'],
      ['[console.idp_configs] issuer', 'https://login.example.com/oauth2/token'],
    ] as const
  ).map(([key, value]): Row => ({
    case: 'IS 7.1, the Console on its own host',
    topology: identityServer('7.1.0', {
      identity: { host: 'login.example.com' },
      management: { host: 'console.example.com' },
    }),
    role: 'worker',
    key,
    value: Array.isArray(value) ? [...(value as readonly string[])] : (value as string),
    source: DOCS_IS_CONSOLE,
  })),
];

describe('owned keys, each from its WSO2 source', () => {
  test.each(ROWS)('$case: $role $key = $value ($source)', (row) => {
    const setting = owned(row.topology, row.role, row.key, row.instance);
    if (row.value === undefined) {
      expect(setting).toBeUndefined();
      return;
    }
    expect(setting?.value).toEqual(row.value);
    expect(setting!.source).toContain(row.source);
  });
});

describe('what each managed API-M role runs', () => {
  test.each([
    // helm-apim 4.4.x deployments set PROFILE_NAME; the wso2am image's entrypoint runs -Dprofile= (docker-apim v4.0.0.1 to v4.4.0.x).
    { version: '4.0.0', role: 'control-plane', image: 'wso2/wso2am:4.0.0', profile: 'control-plane' },
    { version: '4.4.0', role: 'control-plane', image: 'wso2/wso2am:4.4.0', profile: 'control-plane' },
    { version: '4.4.0', role: 'gateway', image: 'wso2/wso2am:4.4.0', profile: 'gateway-worker' },
    { version: '4.4.0', role: 'traffic-manager', image: 'wso2/wso2am:4.4.0', profile: 'traffic-manager' },
    // docker-apim v4.5.0.1: apim-acp, apim-universal-gw, apim-tm, each started by its own script.
    { version: '4.5.0', role: 'control-plane', image: 'wso2/wso2am-acp:4.5.0', profile: undefined },
    { version: '4.5.0', role: 'gateway', image: 'wso2/wso2am-universal-gw:4.5.0', profile: undefined },
    { version: '4.6.0', role: 'traffic-manager', image: 'wso2/wso2am-tm:4.6.0', profile: undefined },
  ] as const)('API-M $version $role: $image, profile $profile', ({ version, role, image, profile }) => {
    expect(roleRuntime('api-manager', version, 'apim-distributed', role)).toEqual({
      image,
      ...(profile ? { profile } : {}),
    });
    const component = distributed(2, 2, version).backends;
    expect(component.source === 'managed' && component.components.find((c) => c.role === role)).toMatchObject({
      image,
      ...(profile ? { profile } : {}),
    });
  });

  test('all-in-one API-M runs the wso2am image with no profile', () => {
    expect(roleRuntime('api-manager', '4.5.0', 'apim-single', 'all-in-one')).toEqual({ image: 'wso2/wso2am:4.5.0' });
  });
});

describe('one base ConfigMap for roles that run different images is refused, naming the field', () => {
  const spec = (version: string, managed: Record<string, unknown>) => ({
    product: 'api-manager',
    version,
    pattern: 'apim-distributed',
    backends: { managed: { configMapName: 'apim-base-config', ...managed } },
  });
  const problems = (s: Record<string, unknown>) => {
    const result = validateSpec(s);
    return result.ok ? [] : result.problems;
  };

  test('API-M 4.5: the three role images (wso2am-acp, wso2am-universal-gw, wso2am-tm) have three deployment.tomls', () => {
    expect(problems(spec('4.5.0', {}))).toEqual([
      {
        path: 'spec.backends.managed.configMapName',
        message: expect.stringMatching(
          /^one base ConfigMap is laid over every role, but they run different images \(control-plane wso2\/wso2am-acp:4\.5\.0, gateway wso2\/wso2am-universal-gw:4\.5\.0, traffic-manager wso2\/wso2am-tm:4\.5\.0\)/,
        ) as string,
      },
    ]);
  });

  test.each([
    { name: 'API-M 4.4: every role runs wso2am with its profile', version: '4.4.0', managed: {} },
    {
      name: 'API-M 4.5: one image of your own for every role',
      version: '4.5.0',
      managed: { image: 'registry.example.com/my-apim:4.5.0' },
    },
  ])('$name: accepted', ({ version, managed }) => {
    expect(problems(spec(version, managed))).toEqual([]);
  });
});

describe('images that cannot run a role are refused, naming the field', () => {
  const spec = (version: string, managed: Record<string, unknown>) => ({
    product: 'api-manager',
    version,
    pattern: 'apim-distributed',
    backends: { managed },
  });
  const problems = (s: Record<string, unknown>) => {
    const result = validateSpec(s);
    return result.ok ? [] : result.problems;
  };

  test('API-M 4.5: the all-in-one image for every role (spec.backends.managed.image)', () => {
    const found = problems(spec('4.5.0', { image: 'wso2/wso2am:4.5.0' }));
    expect(found.map((p) => p.path)).toEqual([
      'spec.backends.managed.image',
      'spec.backends.managed.image',
      'spec.backends.managed.image',
    ]);
    expect(found[1]!.message).toContain('runs the gateway from its own image wso2am-universal-gw');
  });

  test("API-M 4.5: another role's image for the gateway (components.gateway.image)", () => {
    const found = problems(
      spec('4.5.0', { components: { gateway: { image: 'registry.example.com/wso2/wso2am-tm:4.5.0' } } }),
    );
    expect(found).toEqual([
      {
        path: 'spec.backends.managed.components.gateway.image',
        message: expect.stringContaining('not wso2am-tm') as string,
      },
    ]);
  });

  test('API-M 4.4: a 4.5 role image, which 4.4 does not have', () => {
    const found = problems(spec('4.4.0', { components: { 'control-plane': { image: 'wso2/wso2am-acp:4.4.0' } } }));
    expect(found).toEqual([
      {
        path: 'spec.backends.managed.components.control-plane.image',
        message: expect.stringContaining('has no wso2am-acp image') as string,
      },
    ]);
  });

  test("the right images, and images of the user's own names, pass", () => {
    expect(
      problems(
        spec('4.5.0', {
          image: 'registry.example.com/acme/apim-custom:1',
          components: { gateway: { image: 'wso2/wso2am-universal-gw:4.5.0' } },
        }),
      ),
    ).toEqual([]);
    expect(problems(spec('4.4.0', { image: 'wso2/wso2am:4.4.0' }))).toEqual([]);
  });

  test('managed Enterprise Integrator 7: refused (docker-ei 7.x ships only Micro Integrator images)', () => {
    const found = problems({
      product: 'enterprise-integrator',
      version: '7.1.0',
      pattern: 'ei-cluster',
      backends: { managed: {} },
    });
    expect(found).toEqual([
      { path: 'spec.backends.managed', message: expect.stringContaining('wso2mi 1.1.0 and 1.2.0') as string },
    ]);
    // EI 7 nodes outside the cluster are still fronted.
    expect(
      problems({
        product: 'enterprise-integrator',
        version: '7.1.0',
        pattern: 'ei-cluster',
        backends: { external: { nodes: [{ name: 'ei-1', address: '10.0.0.1', roles: ['integrator'] }] } },
      }),
    ).toEqual([]);
  });
});
