// How the patched configuration reaches managed WSO2 pods: init containers, volumes and a
// checksum per role (only roles whose configuration changed roll), the WSO2 pods' ServiceAccount
// and Role (endpoints and pods of their namespace, nothing more), the <name>-product-config
// ConfigMap, and the init containers' steps run for real: the product-files script with the
// machine's keytool on real JKS and PKCS#12 truststores, then `patch-product-config`.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import { parse as parseToml } from 'smol-toml';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { RELEASE_IMAGES } from '../../src/model/images.js';
import { buildTopology } from '../../src/model/topology.js';
import { validateSpec } from '../../src/model/validate.js';
import { nginxDeployment } from '../../src/render/objects.js';
import { roleConfiguration } from '../../src/model/product-config.js';
import {
  CONFIG_VOLUME,
  PRODUCT_CONFIG_CHECKSUM,
  productConfigMap,
  productFilesScript,
  wso2Access,
  wso2Workloads,
} from '../../src/render/workloads.js';
import { issueCa } from '../../src/tls/issuer.js';
import { createNamespace, kubectl } from '../support/cluster.js';
import { topologyOf } from '../support/frontend.js';
import { example } from '../support/resources.js';

type Workload = k8s.V1Deployment | k8s.V1StatefulSet;
const workloads = (frontend: Wso2Frontend) =>
  wso2Workloads(frontend, topologyOf(frontend)).filter((o) => o.kind !== 'Service') as Workload[];
const checksums = (frontend: Wso2Frontend) =>
  Object.fromEntries(
    workloads(frontend).map((w) => [
      w.metadata!.name,
      w.spec!.template.metadata!.annotations![PRODUCT_CONFIG_CHECKSUM],
    ]),
  );
const copy = (frontend: Wso2Frontend): Wso2Frontend => JSON.parse(JSON.stringify(frontend)) as Wso2Frontend;

describe("images from the operator's configuration (issue 26: the init container's image could not be changed)", () => {
  const OPERATOR = 'registry.example.com:5000/team/wso2-frontend-operator:1.2.3@sha256:' + 'a'.repeat(64);
  const NGINX = 'registry.example.com:5000/team/wso2-frontend-nginx@sha256:' + 'b'.repeat(64);
  const configured = { operator: OPERATOR, nginx: NGINX, pullSecrets: ['operator-registry'] };
  const topologyWith = (frontend: Wso2Frontend) => {
    const result = validateSpec(frontend.spec);
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    return buildTopology(result.spec, {}, configured);
  };

  test('the WSO2 pods run the configured operator image (a digest too) in their patch-product-config init container', () => {
    const frontend = example('apim-distributed.yaml');
    const pods = (
      wso2Workloads(frontend, topologyWith(frontend)).filter((o) => o.kind !== 'Service') as Workload[]
    ).map((w) => w.spec!.template.spec!);
    expect(pods.length).toBeGreaterThan(1);
    for (const pod of pods)
      expect(pod.initContainers![1]).toMatchObject({ name: 'patch-product-config', image: OPERATOR });
  });

  test("an unset spec.nginx.image is the operator's NGINX image; a pinned one stays as written", () => {
    const frontend = example('apim-single.yaml');
    const image = (f: Wso2Frontend) => nginxDeployment(f, topologyWith(f)).spec!.template.spec!.containers[0]!.image;
    expect(frontend.spec.nginx?.image).toBeUndefined();
    expect(image(frontend)).toBe(NGINX);
    const pinned = copy(frontend);
    pinned.spec.nginx = { ...pinned.spec.nginx, image: 'mirror.example.com/nginx-agent:0.1.0' };
    expect(image(pinned)).toBe('mirror.example.com/nginx-agent:0.1.0');
  });

  test('a spec holding the image the 0.1.0 CRD wrote as its default moves to the operator NGINX image too', () => {
    // Resources created under the old CRD carry its default in their stored spec; no one chose it.
    const frontend = copy(example('apim-single.yaml'));
    frontend.spec.nginx = { ...frontend.spec.nginx, image: 'wso2-frontend-nginx:0.1.0' };
    expect(nginxDeployment(frontend, topologyWith(frontend)).spec!.template.spec!.containers[0]!.image).toBe(NGINX);
  });

  test("the NGINX and WSO2 pods list spec.imagePullSecrets, then the operator's", () => {
    const frontend = copy(example('apim-distributed.yaml'));
    frontend.spec.imagePullSecrets = ['team-registry', 'operator-registry'];
    const topology = topologyWith(frontend);
    const expected = [{ name: 'team-registry' }, { name: 'operator-registry' }];
    expect(nginxDeployment(frontend, topology).spec!.template.spec!.imagePullSecrets).toEqual(expected);
    for (const w of wso2Workloads(frontend, topology).filter((o) => o.kind !== 'Service') as Workload[])
      expect(w.spec!.template.spec!.imagePullSecrets).toEqual(expected);
  });

  test('a pull Secret name that is not a Secret name is refused, naming the field', () => {
    const frontend = copy(example('apim-single.yaml'));
    frontend.spec.imagePullSecrets = ['Team_Registry'];
    const result = validateSpec(frontend.spec);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(JSON.stringify(result.problems)).toContain('imagePullSecrets');
  });
});

test('every WSO2 pod template carries the two init containers, their volumes, the config volume mount and the checksum', () => {
  const frontend = example('apim-distributed.yaml');
  for (const workload of workloads(frontend)) {
    const template = workload.spec!.template;
    const role = workload.metadata!.labels!['app.kubernetes.io/component']!;
    expect(template.metadata!.annotations![PRODUCT_CONFIG_CHECKSUM]).toMatch(/^[0-9a-f]{16}$/);
    const pod = template.spec!;
    // API-M 4.5 runs each role from its own image (docker-apim v4.5.0.1 apim-acp, apim-universal-gw, apim-tm).
    const image = { 'control-plane': 'wso2am-acp', gateway: 'wso2am-universal-gw', 'traffic-manager': 'wso2am-tm' }[
      role as 'gateway'
    ];
    expect(pod.initContainers!.map((c) => [c.name, c.image])).toEqual([
      ['product-files', `wso2/${image}:4.5.0`],
      ['patch-product-config', RELEASE_IMAGES.operator],
    ]);
    // The control plane's and traffic manager's pods each read the settings named after the pod.
    const perPod = role !== 'gateway';
    expect(pod.initContainers![1]!.args).toEqual([
      'patch-product-config',
      '--config',
      perPod ? '/wso2-frontend/settings/$(POD_NAME).json' : '/wso2-frontend/settings/settings.json',
      '--home',
      '/wso2-frontend/base',
      '--out',
      '/wso2-frontend/config',
    ]);
    expect(pod.volumes).toEqual([
      { name: 'product-base', emptyDir: {} },
      { name: 'product-config', emptyDir: {} },
      {
        name: 'product-settings',
        configMap: {
          name: 'apim-distributed-product-config',
          items: perPod
            ? [0, 1].map((i) => ({
                key: `apim-distributed-${role}-${i}.json`,
                path: `apim-distributed-${role}-${i}.json`,
              }))
            : [{ key: `${role}.json`, path: 'settings.json' }],
        },
      },
      {
        name: 'lb-ca',
        secret: {
          secretName: 'apim-distributed-tls-frontend',
          items: [{ key: 'ca.crt', path: 'ca.crt' }],
          optional: true,
        },
      },
    ]);
    expect(pod.containers[0]!.volumeMounts).toEqual([
      { name: 'product-config', mountPath: CONFIG_VOLUME, readOnly: true },
    ]);
    if (workload.kind === 'Deployment')
      // tsc does not narrow the union on kind here, typescript-eslint does: the assertion stays.
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
      expect((workload as k8s.V1Deployment).spec!.strategy).toEqual({
        type: 'RollingUpdate',
        rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
      });
  }
});

test("the user's base ConfigMap is mounted into every role's pods (API-M 4.4: one image for every role)", () => {
  const frontend = copy(example('apim-distributed.yaml'));
  frontend.spec.version = '4.4.0';
  frontend.spec.backends.managed!.configMapName = 'apim-base-config';
  for (const workload of workloads(frontend)) {
    const pod = workload.spec!.template.spec!;
    expect(pod.volumes).toContainEqual({ name: 'product-user', configMap: { name: 'apim-base-config' } });
    expect(pod.initContainers![1]!.args).toEqual(expect.arrayContaining(['--user', '/wso2-frontend/user']));
  }
});

test('a host change moves the checksum of exactly the roles whose configuration names that host', () => {
  const before = example('apim-distributed.yaml');
  const after = copy(before);
  after.spec.sites = { websocket: { host: 'ws.example.com' } };
  const [a, b] = [checksums(before), checksums(after)];
  expect(Object.keys(a).filter((name) => a[name] !== b[name])).toEqual(['apim-distributed-control-plane']);

  const is = example('is-7-managed.yaml');
  const moved = copy(is);
  moved.spec.sites!.identity = { host: 'id.example.com' };
  const [c, d] = [checksums(is), checksums(moved)];
  expect(
    Object.keys(c)
      .filter((name) => c[name] !== d[name])
      .sort(),
  ).toEqual(['identity-7-manager', 'identity-7-worker']);
});

test('an NGINX-only change leaves every WSO2 workload exactly as it was', () => {
  const before = example('is-7-managed.yaml');
  const after = copy(before);
  after.spec.nginx = { replicas: 5, timeouts: { read: '10m' }, hsts: { enabled: false } };
  expect(wso2Workloads(after, topologyOf(after))).toEqual(wso2Workloads(before, topologyOf(before)));
});

test('a truststore password Secret in the spec reaches the first init container as an env reference, never as a value', () => {
  const frontend = copy(example('apim-distributed.yaml'));
  const defaults = workloads(frontend).map((w) => w.spec!.template.spec!.initContainers![0]!.env);
  expect(defaults.every((env) => env === undefined)).toBe(true);
  frontend.spec.backends.managed = { truststorePassword: { secretName: 'apim-truststore', key: 'password' } };
  for (const workload of workloads(frontend)) {
    const [files, patch] = workload.spec!.template.spec!.initContainers!;
    expect(files!.env).toEqual([
      { name: 'TRUSTSTORE_PASSWORD', valueFrom: { secretKeyRef: { name: 'apim-truststore', key: 'password' } } },
    ]);
    // The patch container's only env is the pod's own name (roles with peers), never the password.
    expect(JSON.stringify(patch!.env ?? [])).not.toContain('TRUSTSTORE_PASSWORD');
  }
});

test("a change of the user's base ConfigMap moves every role's checksum", () => {
  const frontend = example('apim-distributed.yaml');
  const topology = topologyOf(frontend);
  const annotations = (hash: string) =>
    wso2Workloads(frontend, topology, { baseConfigHash: hash })
      .filter((o) => o.kind !== 'Service')
      .map((w) => (w as Workload).spec!.template.metadata!.annotations![PRODUCT_CONFIG_CHECKSUM]);
  const [one, two] = [annotations('v1'), annotations('v2')];
  one.forEach((checksum, i) => expect(checksum).not.toBe(two[i]));
});

test('the WSO2 pods get a ServiceAccount whose Role reads endpoints and pods of its namespace, and nothing else', () => {
  const frontend = { ...example('is-7-managed.yaml'), metadata: { name: 'identity-7', namespace: 'iam' } };
  const [account, role, binding] = wso2Access(frontend, topologyOf(frontend)) as [
    k8s.V1ServiceAccount,
    k8s.V1Role,
    k8s.V1RoleBinding,
  ];
  expect(account).toMatchObject({ kind: 'ServiceAccount', metadata: { name: 'identity-7-wso2' } });
  expect(role.rules).toEqual([{ apiGroups: [''], resources: ['endpoints', 'pods'], verbs: ['get', 'list'] }]);
  expect(binding).toMatchObject({
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'identity-7-wso2' },
    subjects: [{ kind: 'ServiceAccount', name: 'identity-7-wso2', namespace: 'iam' }],
  });
  const external = example('is-pattern-1.yaml');
  expect(wso2Access(external, topologyOf(external))).toEqual([]);
});

test("the product-config ConfigMap: each role's settings for managed pods, what to set by hand for external nodes", () => {
  const managed = example('apim-distributed.yaml');
  const topology = topologyOf(managed);
  const data = productConfigMap(managed, topology).data!;
  // One for every gateway; one per pod of the control plane and traffic manager, which list their peers.
  expect(Object.keys(data)).toEqual([
    'apim-distributed-control-plane-0.json',
    'apim-distributed-control-plane-1.json',
    'gateway.json',
    'apim-distributed-traffic-manager-0.json',
    'apim-distributed-traffic-manager-1.json',
  ]);
  const placement = { name: 'apim-distributed', namespace: 'default' };
  expect(JSON.parse(data['gateway.json']!)).toEqual(roleConfiguration(topology, placement, 'gateway'));
  expect(JSON.parse(data['apim-distributed-traffic-manager-1.json']!)).toEqual(
    roleConfiguration(topology, placement, 'traffic-manager', 'apim-distributed-traffic-manager-1'),
  );

  const external = example('apim-2-active-active.yaml');
  const text = productConfigMap(external, topologyOf(external)).data!;
  expect(text['all-in-one.CHANGES.txt']).toContain('Server/HostName = "apim.example.com"');
  expect(Object.keys(text)).toContain(
    'all-in-one.repository__deployment__server__jaggeryapps__store__site__conf__site.json',
  );
  // Seed 004/000's truststore step: the frontend CA from the served certificate's Secret, under the init container's alias.
  expect(text['all-in-one.CHANGES.txt']).toContain(
    "kubectl get secret apim-2-tls-frontend -n default -o jsonpath='{.data.ca\\.crt}' | base64 -d > wso2-frontend-ca.crt\n" +
      '  keytool -importcert -noprompt -trustcacerts -alias wso2-frontend-lb-ca -file wso2-frontend-ca.crt -keystore repository/resources/security/client-truststore.jks -storepass wso2carbon\n',
  );
});

test('the API server accepts the ConfigMap, the access objects and the workloads of every managed example', async () => {
  const namespace = await createNamespace('wso2-product-config');
  for (const file of ['apim-distributed.yaml', 'is-7-managed.yaml']) {
    const frontend = { ...example(file), metadata: { ...example(file).metadata, namespace } };
    const topology = topologyOf(frontend);
    const objects = [
      productConfigMap(frontend, topology),
      ...wso2Access(frontend, topology),
      ...wso2Workloads(frontend, topology),
    ];
    const output = await kubectl(
      ['apply', '--dry-run=server', '-f', '-'],
      objects.map((o) => yaml.dump(o, { noRefs: true })).join('---\n'),
    );
    expect(output.trim().split('\n')).toHaveLength(objects.length);
  }
});

describe("the init containers' steps, run for real", () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'wso2-frontend-init-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const keytool = (...args: string[]) => {
    const result = spawnSync('keytool', args, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`keytool ${args.join(' ')}: ${result.stderr}${result.stdout}`);
    return result.stdout;
  };
  const aliases = (file: string, password = 'wso2carbon') =>
    keytool('-list', '-keystore', file, '-storepass', password)
      .split('\n')
      .filter((l) => l.includes('trustedCertEntry'))
      .map((l) => l.split(',')[0]!)
      .sort();

  /** A product home as the image ships it (deployment.toml, both truststores with one CA), and the init containers' mount root with the frontend CA. */
  function shippedProduct(name: string, password: string) {
    const home = join(scratch, name);
    const root = join(scratch, `${name}-mount`);
    mkdirSync(join(home, 'repository', 'conf'), { recursive: true });
    mkdirSync(join(home, 'repository', 'resources', 'security'), { recursive: true });
    cpSync('test/fixtures/product/apim-4/deployment.toml', join(home, 'repository/conf/deployment.toml'));
    // Truststores as the product ships them: a CA entry under its own alias, JKS and PKCS#12.
    const shipped = join(scratch, 'shipped-ca.pem');
    writeFileSync(shipped, issueCa('Shipped Root CA', { now: new Date() }).certificatePem);
    for (const [file, type] of [
      ['client-truststore.jks', 'JKS'],
      ['client-truststore.p12', 'PKCS12'],
    ] as const)
      keytool(
        '-importcert',
        '-noprompt',
        '-alias',
        'shipped-root',
        '-file',
        shipped,
        '-storetype',
        type,
        '-keystore',
        join(home, 'repository/resources/security', file),
        '-storepass',
        password,
      );
    mkdirSync(join(root, 'lb-ca'), { recursive: true });
    writeFileSync(join(root, 'lb-ca', 'ca.crt'), issueCa('wso2-frontend CA', { now: new Date() }).certificatePem);
    return { home, root };
  }

  test('the product files are copied out, the frontend CA joins both truststores next to their default entries, and the patch lands in the config volume', () => {
    const { home, root } = shippedProduct('wso2am-4.5.0', 'wso2carbon');
    const frontend = example('apim-single.yaml');
    const config = roleConfiguration(topologyOf(frontend), { name: 'apim-single', namespace: 'default' }, 'all-in-one');
    const script = spawnSync('sh', ['-c', productFilesScript(config, root)], {
      encoding: 'utf8',
      env: { ...process.env, WSO2_SERVER_HOME: home },
    });
    expect(script.stderr).not.toMatch(/error/i);
    expect(script.status).toBe(0);
    expect(readFileSync(join(root, 'base/repository/conf/deployment.toml'), 'utf8')).toBe(
      readFileSync(join(home, 'repository/conf/deployment.toml'), 'utf8'),
    );
    for (const file of ['client-truststore.jks', 'client-truststore.p12']) {
      expect(aliases(join(root, 'config/repository/resources/security', file))).toEqual([
        'shipped-root',
        'wso2-frontend-lb-ca',
      ]);
      // The product's own truststore is untouched: the copy in the config volume replaces it at start-up.
      expect(aliases(join(home, 'repository/resources/security', file))).toEqual(['shipped-root']);
    }

    writeFileSync(join(scratch, 'settings.json'), JSON.stringify(config));
    const patch = spawnSync(
      process.execPath,
      [
        join(process.cwd(), 'dist/cli/main.js'),
        'patch-product-config',
        '--config',
        join(scratch, 'settings.json'),
        '--home',
        join(root, 'base'),
        '--out',
        join(root, 'config'),
      ],
      { encoding: 'utf8' },
    );
    expect(patch.stderr).toBe('');
    expect(patch.status).toBe(0);
    const patched = parseToml(readFileSync(join(root, 'config/repository/conf/deployment.toml'), 'utf8')) as {
      server: { hostname: string };
    };
    expect(patched.server.hostname).toBe('api.am.wso2.com');
  });

  test('with a truststore password from the spec (TRUSTSTORE_PASSWORD from the Secret), the CA joins truststores that use it; the password is never printed', () => {
    const password = 'not-the-default-7f3a';
    const { home, root } = shippedProduct('wso2am-custom-password', password);
    const frontend = example('apim-single.yaml');
    const config = roleConfiguration(topologyOf(frontend), { name: 'apim-single', namespace: 'default' }, 'all-in-one');
    const script = spawnSync('sh', ['-c', productFilesScript(config, root)], {
      encoding: 'utf8',
      env: { ...process.env, WSO2_SERVER_HOME: home, TRUSTSTORE_PASSWORD: password },
    });
    expect(script.status).toBe(0);
    expect(`${script.stdout}${script.stderr}`).not.toContain(password);
    for (const file of ['client-truststore.jks', 'client-truststore.p12'])
      expect(aliases(join(root, 'config/repository/resources/security', file), password)).toEqual([
        'shipped-root',
        'wso2-frontend-lb-ca',
      ]);
  });
});
