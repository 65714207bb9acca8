// The operator against the real control plane (kube-controller-manager, scheduler and kwok run
// the NGINX pods): a resource applied with kubectl becomes Ready, owns its objects, keeps its
// certificates across restarts, reports a bad spec without touching what works, follows spec
// changes, puts back edits of what it owns, makes no writes on a resync of unchanged
// resources, and everything it owned goes when the resource goes.
import { X509Certificate } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { createOperator } from '../../src/controller/setup.js';
import type { OperatorMetrics } from '../../src/controller/observability.js';
import type { Controller } from '../../src/controller/runtime/controller.js';
import { reconciles } from '../support/prometheus.js';
import {
  createNamespace,
  eventually,
  eventuallyEvents,
  type RecordedEvent,
  eventsWith,
  isNotFound,
  kubeConfig,
  kubectl,
} from '../support/cluster.js';
import {
  conditionOf,
  example,
  frontendOnce,
  installCrd,
  patchSpec,
  provideBaseConfig,
  readFrontend,
} from '../support/resources.js';

let namespace: string;
let controller: Controller<Wso2Frontend>;
let metrics: OperatorMetrics;
const core = () => kubeConfig().makeApiClient(k8s.CoreV1Api);
const NAME = 'apim-active-active';

function startOperator(): Promise<void> {
  ({ controller, metrics } = createOperator({
    kubeConfig: kubeConfig(),
    namespaces: [namespace],
    resyncPeriodMs: 1500,
    identity: 'test',
  }));
  return controller.start();
}

const frontend = () => readFrontend(namespace, NAME);

beforeAll(async () => {
  await installCrd();
  namespace = await createNamespace('operator');
  await startOperator();
  await kubectl(['apply', '-n', namespace, '-f', '-'], yaml.dump(example('apim-active-active.yaml')));
  await kubectl(['wait', '--for=condition=Ready', `wso2frontend/${NAME}`, '-n', namespace, '--timeout=90s']);
});

afterAll(async () => {
  await controller?.stop();
});

test('kubectl wait --for=condition=Ready succeeds and the status tells the URLs, configuration hash and certificate expiry', async () => {
  const f = await frontend();
  expect(f.status?.observedGeneration).toBe(f.metadata.generation);
  expect(f.status?.urls).toBe('https://api.am.wso2.com/,https://gw.am.wso2.com/');
  expect(f.status?.configHash).toMatch(/^[0-9a-f]{16}$/);
  expect(new Date(f.status!.certificateNotAfter!).getTime()).toBeGreaterThan(Date.now() + 80 * 86_400_000);
  for (const type of ['Accepted', 'CertificatesReady', 'ConfigurationServed', 'BackendsAvailable'])
    expect(conditionOf(f, type)?.status).toBe('True');
  expect(conditionOf(f, 'Reconciling')?.status).toBe('False');
  expect(conditionOf(f, 'Stalled')?.status).toBe('False');
});

test('one CertificateIssued Event tells the CA and the certificate issued for the new resource', async () => {
  const notes = (await eventsWith(namespace, 'CertificateIssued', NAME)).map((e) => e.note);
  expect(notes).toEqual([
    'issued the frontend CA (no CA certificate is stored yet); the certificate for api.am.wso2.com, gw.am.wso2.com (no server certificate is stored yet)',
  ]);
});

test('on its way to Ready the new resource got two Events: CertificateIssued, then Ready naming the configuration', async () => {
  const f = await frontend();
  // The status says Ready first; the Event is recorded right after it.
  const [ready] = await eventuallyEvents(namespace, 'Ready', NAME);
  const all = JSON.parse(
    await kubectl([
      'get',
      'events.events.k8s.io',
      '-n',
      namespace,
      '--field-selector',
      `regarding.name=${NAME}`,
      '-o',
      'json',
    ]),
  ) as { items: RecordedEvent[] };
  expect(all.items.map((e) => e.reason).sort()).toEqual(['CertificateIssued', 'Ready']);
  expect(ready?.note).toBe(
    `serving https://api.am.wso2.com/, https://gw.am.wso2.com/ with NGINX configuration ${f.status!.configHash}`,
  );
});

test('the owned objects carry a controller owner reference to the resource', async () => {
  const f = await frontend();
  const owned = JSON.parse(
    await kubectl([
      'get',
      'configmap,secret,service,deployment,poddisruptionbudget',
      '-n',
      namespace,
      '-l',
      `app.kubernetes.io/instance=${NAME}`,
      '-o',
      'json',
    ]),
  ) as {
    items: { kind: string; metadata: { name: string; ownerReferences?: { uid: string; controller?: boolean }[] } }[];
  };
  expect(owned.items.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
    `ConfigMap/${NAME}-nginx`,
    `ConfigMap/${NAME}-product-config`,
    `Deployment/${NAME}-nginx`,
    `PodDisruptionBudget/${NAME}-nginx`,
    `Secret/${NAME}-tls-ca`,
    `Secret/${NAME}-tls-frontend`,
    `Service/${NAME}-nginx`,
  ]);
  for (const o of owned.items)
    expect(o.metadata.ownerReferences).toEqual([expect.objectContaining({ uid: f.metadata.uid, controller: true })]);
});

test('the certificate Secret is kubernetes.io/tls, signed by the CA Secret, with every host as SAN', async () => {
  const leaf = await core().readNamespacedSecret({ name: `${NAME}-tls-frontend`, namespace });
  const ca = await core().readNamespacedSecret({ name: `${NAME}-tls-ca`, namespace });
  expect(leaf.type).toBe('kubernetes.io/tls');
  const certificate = new X509Certificate(Buffer.from(leaf.data!['tls.crt']!, 'base64'));
  const caCertificate = new X509Certificate(Buffer.from(ca.data!['tls.crt']!, 'base64'));
  expect(certificate.verify(caCertificate.publicKey)).toBe(true);
  expect(certificate.subjectAltName).toBe('DNS:api.am.wso2.com, DNS:gw.am.wso2.com');
});

test('a resync of unchanged resources writes nothing: the resource and its Secrets keep their resourceVersion', async () => {
  const before = await frontend();
  const secret = await core().readNamespacedSecret({ name: `${NAME}-tls-frontend`, namespace });
  const start = await reconciles(metrics);
  await eventually('two resyncs to reconcile it', async () =>
    (await reconciles(metrics)) >= start + 2 ? true : undefined,
  );
  const resourceVersion = (f: Wso2Frontend) => (f.metadata as { resourceVersion?: string }).resourceVersion;
  expect(resourceVersion(await frontend())).toBe(resourceVersion(before));
  expect(
    (await core().readNamespacedSecret({ name: `${NAME}-tls-frontend`, namespace })).metadata?.resourceVersion,
  ).toBe(secret.metadata?.resourceVersion);
});

test('a restarted operator keeps the certificates byte for byte', async () => {
  const secret = await core().readNamespacedSecret({ name: `${NAME}-tls-frontend`, namespace });
  await controller.stop();
  await startOperator();
  await kubectl(['wait', '--for=condition=Ready', `wso2frontend/${NAME}`, '-n', namespace, '--timeout=60s']);
  const after = await core().readNamespacedSecret({ name: `${NAME}-tls-frontend`, namespace });
  expect(after.data).toEqual(secret.data);
  expect(after.metadata?.resourceVersion).toBe(secret.metadata?.resourceVersion);
});

test('an edit of an owned field is put back', async () => {
  const original = (await core().readNamespacedConfigMap({ name: `${NAME}-nginx`, namespace })).data!['nginx.conf'];
  await kubectl([
    'patch',
    'configmap',
    `${NAME}-nginx`,
    '-n',
    namespace,
    '--type=merge',
    '-p',
    JSON.stringify({ data: { 'nginx.conf': 'events {}' } }),
  ]);
  const restored = await eventually('the ConfigMap to be restored', async () => {
    const text = (await core().readNamespacedConfigMap({ name: `${NAME}-nginx`, namespace })).data!['nginx.conf'];
    return text === original ? text : undefined;
  });
  expect(restored).toBe(original);
});

test('an invalid spec is reported on the status and as an Event, and nothing owned changes', async () => {
  const configMap = await core().readNamespacedConfigMap({ name: `${NAME}-nginx`, namespace });
  // Valid for the schema and CEL; only the presets know api.am.wso2.com is the portal's host.
  await patchSpec(namespace, NAME, { sites: { gateway: { host: 'api.am.wso2.com' } } });
  const f = await frontendOnce(
    'Accepted=False',
    namespace,
    NAME,
    (f) => conditionOf(f, 'Accepted')?.status === 'False',
  );
  expect(conditionOf(f, 'Accepted')).toMatchObject({
    reason: 'InvalidSpec',
    message:
      'spec.sites.gateway.host: host api.am.wso2.com is the default host of site portal; give site portal its own host (spec.sites.portal.host) or choose another host here',
  });
  expect(conditionOf(f, 'Ready')?.status).toBe('False');
  expect(conditionOf(f, 'Stalled')?.status).toBe('True');
  expect(f.status?.observedGeneration).toBe(f.metadata.generation);
  const events = await eventuallyEvents(namespace, 'InvalidSpec', NAME);
  expect(events[0]).toMatchObject({ type: 'Warning', note: expect.stringContaining('spec.sites.gateway.host') });
  expect((await core().readNamespacedConfigMap({ name: `${NAME}-nginx`, namespace })).metadata?.resourceVersion).toBe(
    configMap.metadata?.resourceVersion,
  );
});

test('a spec change is followed: new host, new configuration, new certificate, Ready again', async () => {
  const before = await frontend();
  await patchSpec(namespace, NAME, { sites: { gateway: { host: 'api.example.com' } } });
  await frontendOnce(
    'Ready with the new host',
    namespace,
    NAME,
    (f) => conditionOf(f, 'Ready')?.status === 'True' && !!f.status?.urls?.includes('api.example.com'),
  );
  const after = await frontend();
  expect(after.status?.configHash).not.toBe(before.status?.configHash);
  const vhost = (await core().readNamespacedConfigMap({ name: `${NAME}-nginx`, namespace })).data![
    'vhost-gateway.conf'
  ];
  expect(vhost).toContain('server_name api.example.com;');
  const leaf = await core().readNamespacedSecret({ name: `${NAME}-tls-frontend`, namespace });
  expect(new X509Certificate(Buffer.from(leaf.data!['tls.crt']!, 'base64')).subjectAltName).toBe(
    'DNS:api.am.wso2.com, DNS:api.example.com',
  );
});

test('a host that needs its own certificate gets one, and the shared certificate is pruned', async () => {
  await patchSpec(namespace, NAME, { tls: { certificatePerHost: true } });
  const secrets = await eventually('per-host certificate Secrets only', async () => {
    const names = (
      await core().listNamespacedSecret({ namespace, labelSelector: `app.kubernetes.io/instance=${NAME}` })
    ).items
      .map((s) => s.metadata!.name!)
      .sort();
    return names.includes(`${NAME}-tls-frontend`) ? undefined : names;
  });
  expect(secrets).toEqual([`${NAME}-tls-ca`, `${NAME}-tls-site-gateway`, `${NAME}-tls-site-portal`]);
});

test('deleting the resource garbage-collects everything it owned', async () => {
  await kubectl(['delete', 'wso2frontend', NAME, '-n', namespace]);
  // The garbage collector picks up a newly installed CRD at its periodic (30 s) resync.
  const gone = await eventually(
    'the owned ConfigMap to be collected',
    async () => {
      try {
        await core().readNamespacedConfigMap({ name: `${NAME}-nginx`, namespace });
        return undefined;
      } catch (error) {
        return isNotFound(error) ? true : undefined;
      }
    },
    110_000,
  );
  expect(gone).toBe(true);
});

test('managed backends: the operator runs the WSO2 pods and routes to their endpoints once they are ready', async () => {
  const managed = example('apim-distributed.yaml');
  await provideBaseConfig(managed, namespace);
  await kubectl(['apply', '-n', namespace, '-f', '-'], yaml.dump(managed));
  await kubectl(['wait', '--for=condition=Ready', 'wso2frontend/apim-distributed', '-n', namespace, '--timeout=90s']);
  // Ready needs one ready pod per role; the others join the configuration as they become ready.
  const pods = await eventually('three running gateway pods with addresses', async () => {
    const items = (
      await core().listNamespacedPod({
        namespace,
        labelSelector: 'app.kubernetes.io/instance=apim-distributed,app.kubernetes.io/component=gateway',
      })
    ).items;
    return items.length === 3 && items.every((p) => p.status?.podIP) ? items : undefined;
  });
  const servers = pods.map((pod) => `server ${pod.status!.podIP}:8243 max_fails=3 fail_timeout=10s;`);
  const vhost = await eventually('every gateway pod in the NGINX configuration', async () => {
    const text = (await core().readNamespacedConfigMap({ name: 'apim-distributed-nginx', namespace })).data![
      'vhost-gateway.conf'
    ]!;
    return servers.every((line) => text.includes(line)) ? text : undefined;
  });
  expect(siteUpstreamServers(vhost)).toHaveLength(3);
});

/** The gateway pods' server lines of the site's own upstreams (not the site probes' one-node upstreams). */
function siteUpstreamServers(vhost: string): string[] {
  const upstreams = [...vhost.matchAll(/upstream (\S+) \{([^}]*)\}/g)].filter(([, name]) => !/-node-\d+$/.test(name!));
  return upstreams.flatMap(([, , body]) => body!.match(/server 10\.244\.\d+\.\d+:8243 /g) ?? []);
}

test('managed backends: scaling a role down shrinks its EndpointSlices and the rendered upstream follows', async () => {
  const scaled = example('apim-distributed.yaml');
  (scaled.spec.backends.managed!.components as Record<string, { replicas: number }>).gateway = { replicas: 1 };
  await kubectl(['apply', '-n', namespace, '-f', '-'], yaml.dump(scaled));
  const discovery = kubeConfig().makeApiClient(k8s.DiscoveryV1Api);
  const address = await eventually('one ready gateway endpoint left in the EndpointSlices', async () => {
    const slices = (
      await discovery.listNamespacedEndpointSlice({
        namespace,
        labelSelector: 'app.kubernetes.io/instance=apim-distributed,app.kubernetes.io/component=gateway',
      })
    ).items;
    const ready = slices.flatMap((s) =>
      (s.endpoints ?? []).filter((e) => e.conditions?.ready && !e.conditions.terminating).flatMap((e) => e.addresses),
    );
    return ready.length === 1 ? ready[0] : undefined;
  });
  const vhost = await eventually('only that endpoint in the gateway upstream', async () => {
    const text = (await core().readNamespacedConfigMap({ name: 'apim-distributed-nginx', namespace })).data![
      'vhost-gateway.conf'
    ]!;
    return siteUpstreamServers(text).length === 1 ? text : undefined;
  });
  expect(vhost).toContain(`server ${address}:8243 max_fails=3 fail_timeout=10s;`);
  await kubectl(['wait', '--for=condition=Ready', 'wso2frontend/apim-distributed', '-n', namespace, '--timeout=60s']);
});

describe('certificates from a Secret the user manages (cert-manager style)', () => {
  const BYO = 'byo-cert';
  const hosts = ['portal.example.com', 'api.example.com'];
  const secretFor = async (data: Record<string, string>) => {
    const body = { metadata: { name: 'example-tls', namespace }, type: 'kubernetes.io/tls', stringData: data };
    try {
      await core().replaceNamespacedSecret({ name: 'example-tls', namespace, body });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await core().createNamespacedSecret({ namespace, body });
    }
  };
  const issue = async () => {
    const { issueCa, issueServerCertificate, tlsSecretData } = await import('../../src/tls/issuer.js');
    const ca = issueCa('user CA', { now: new Date() });
    return tlsSecretData(issueServerCertificate(ca, hosts, { now: new Date() }), ca);
  };
  const status = () => readFrontend(namespace, BYO);
  /** The operator's copy of example-tls, which NGINX mounts. */
  const COPY = `${BYO}-tls-secret-example-tls`;
  const served = async () => {
    const data = (await core().readNamespacedSecret({ name: COPY, namespace })).data ?? {};
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  };

  beforeAll(async () => {
    await secretFor(await issue());
    const resource = example('apim-active-active.yaml');
    resource.metadata.name = BYO;
    resource.spec.sites = { portal: { host: hosts[0]! }, gateway: { host: hosts[1]! } };
    resource.spec.tls = { mode: 'secret', secretName: 'example-tls' };
    await kubectl(['apply', '-n', namespace, '-f', '-'], yaml.dump(resource));
    await kubectl(['wait', '--for=condition=Ready', `wso2frontend/${BYO}`, '-n', namespace, '--timeout=90s']);
  });

  test('a renewed certificate in the Secret is served in place: a new configuration hash, the NGINX pods not rolled', async () => {
    const before = (await status()).status!.configHash!;
    const apps = kubeConfig().makeApiClient(k8s.AppsV1Api);
    const template = (await apps.readNamespacedDeployment({ name: `${BYO}-nginx`, namespace })).spec!.template;
    const renewed = await issue();
    await secretFor(renewed);
    const after = await eventually('a new configuration hash', async () => {
      const f = await status();
      return f.status?.configHash && f.status.configHash !== before ? f.status.configHash : undefined;
    });
    const configMap = await core().readNamespacedConfigMap({ name: `${BYO}-nginx`, namespace });
    expect(configMap.metadata!.annotations!['wso2-frontend.dev/config-hash']).toBe(after);
    const deployment = await apps.readNamespacedDeployment({ name: `${BYO}-nginx`, namespace });
    expect(deployment.spec!.template).toEqual(template);
    // NGINX's agents read the operator's copy, never the user's Secret itself.
    const args = deployment.spec!.template.spec!.containers[0]!.args!;
    expect(args).toContain(`tls/secret-example-tls=${COPY}:tls.crt,tls.key,ca.crt?`);
    expect(args.join(' ')).not.toContain('=example-tls');
    expect(await served()).toEqual(renewed);
  });

  test('a Secret whose key does not match its certificate is reported, and NGINX keeps the last good copy', async () => {
    const configMap = await core().readNamespacedConfigMap({ name: `${BYO}-nginx`, namespace });
    const lastGood = await served();
    const good = await issue();
    const other = await issue();
    await secretFor({ ...good, 'tls.key': other['tls.key'] });
    const f = await frontendOnce(
      'CertificatesReady=False',
      namespace,
      BYO,
      (f) => conditionOf(f, 'CertificatesReady')?.status === 'False',
    );
    expect(conditionOf(f, 'CertificatesReady')?.reason).toBe('CertificateInvalid');
    expect(conditionOf(f, 'CertificatesReady')?.message).toContain('Secret example-tls');
    expect(conditionOf(f, 'CertificatesReady')?.message).not.toContain('PRIVATE KEY');
    expect(conditionOf(f, 'CertificatesReady')?.message).toContain(
      `NGINX keeps serving the last good copy (Secret ${COPY}`,
    );
    expect(conditionOf(f, 'Stalled')?.status).toBe('True');
    expect((await core().readNamespacedConfigMap({ name: `${BYO}-nginx`, namespace })).metadata?.resourceVersion).toBe(
      configMap.metadata?.resourceVersion,
    );
    expect(await served()).toEqual(lastGood);
    const events = await eventuallyEvents(namespace, 'CertificateInvalid', BYO);
    expect(events[0]).toMatchObject({ type: 'Warning', note: expect.stringContaining('last good copy') });
  });
});
