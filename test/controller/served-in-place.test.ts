// End to end, with every part real: the operator process reconciles a frontend on the local
// control plane; kwok runs its NGINX pod and WSO2 pods; the reload agent runs as a real process
// with that NGINX pod's identity and serves it with Debian's NGINX, in a network namespace of its
// own where the WSO2 pods' addresses reach fake WSO2 nodes (test/support/served-frontend.ts).
// A spec change, a new and a removed WSO2 endpoint, and a rotated certificate are each served
// by the same NGINX master, the pod reports the new hash, and ConfigurationServed on the
// frontend reaches it. A configuration NGINX rejects (made invalid through the agent's test-only
// hook, not through the spec) is reported on the frontend while the old one serves, and a fix
// of the cause recovers without help. The TLS Secret NGINX reads, deleted by hand, is put back
// with the same certificate while NGINX serves on.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import { TEST_EXTRA_MAIN_CONF_ENV } from '../../src/agent/agent.js';
import { CONFIG_HASH_ANNOTATION } from '../../src/api/agent.js';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { issueCa, issueServerCertificate, tlsSecretData } from '../../src/tls/issuer.js';
import { servedCondition } from '../support/agent.js';
import { send } from '../support/client.js';
import { eventually, eventuallyEvents, kubeConfig, kubectl } from '../support/cluster.js';
import { FakeWso2Node } from '../support/fake-wso2.js';
import { OperatorProcess } from '../support/operator-process.js';
import { conditionOf, example, installCrd, patchSpec, readFrontend } from '../support/resources.js';
import { createRealAgentsNamespace, ServedFrontend } from '../support/served-frontend.js';

const NAME = 'in-place';
const PORTAL = 'api.am.wso2.com';
const GATEWAY = 'gw.am.wso2.com';
const USER_SECRET = 'in-place-tls';
const nodes = ['node-1', 'node-2', 'node-3'].map(
  (name, i) => new FakeWso2Node(name, `127.0.63.${i + 1}`, { https: [9443, 8243], http: [8280] }),
);

let namespace: string;
let core: k8s.CoreV1Api;
let dir: string;
let operator: OperatorProcess;
let frontend: ServedFrontend;
let ca = issueCa('in-place test CA', { now: new Date() });
const agent = () => frontend.agent;
/** While it exists, the agent appends this file to every new nginx.conf (its test-only hook). */
const hookFile = () => join(dir, 'extra-main.conf');

async function userSecret(): Promise<Record<string, string>> {
  ca = issueCa('in-place test CA', { now: new Date() });
  const data = tlsSecretData(issueServerCertificate(ca, [PORTAL, GATEWAY], { now: new Date() }), ca);
  const body: k8s.V1Secret = {
    metadata: { name: USER_SECRET, namespace },
    type: 'kubernetes.io/tls',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
  try {
    await core.replaceNamespacedSecret({ name: USER_SECRET, namespace, body });
  } catch (error) {
    if (!(error instanceof k8s.ApiException && error.code === 404)) throw error;
    await core.createNamespacedSecret({ namespace, body });
  }
  return data;
}

const configMapHash = async () =>
  (await core.readNamespacedConfigMap({ name: `${NAME}-nginx`, namespace })).metadata?.annotations?.[
    CONFIG_HASH_ANNOTATION
  ];

/** Waits until the operator renders a configuration other than `previous`; returns its hash. */
const rendered = (previous: string | undefined) =>
  eventually('a new configuration in the ConfigMap', async () => {
    const current = await configMapHash();
    return current && current !== previous ? current : undefined;
  });

/** The frontend says its one NGINX pod serves `hash`, and status.configHash names it. */
async function serves(hash: string): Promise<boolean> {
  agent().assertRunning();
  const f = await readFrontend(namespace, NAME);
  const condition = conditionOf(f, 'ConfigurationServed');
  return (
    condition?.status === 'True' &&
    condition.message === `1/1 NGINX pods serve configuration ${hash}` &&
    f.status?.configHash === hash
  );
}

/** Waits for `wanted` to hold for 60 s; on a timeout, says what the frontend and the agent show. */
async function waitServed(description: string, wanted: () => Promise<string | undefined>): Promise<string> {
  try {
    return await eventually(description, wanted, 60_000);
  } catch (error) {
    const f = await readFrontend(namespace, NAME).catch(() => undefined);
    throw new Error(
      `${(error as Error).message}\nConfigMap: ${await configMapHash().catch(() => undefined)}\nstatus: ${JSON.stringify(f?.status)}\nagent log:\n${agent().log()}\noperator:\n${operator.text().split('\n').slice(-30).join('\n')}`,
    );
  }
}

/** Waits until the frontend says its one NGINX pod serves `hash`. */
const servedOn = (hash: string) =>
  waitServed(`ConfigurationServed for ${hash}`, async () => ((await serves(hash)) ? hash : undefined));

/**
 * Waits until the configuration in the ConfigMap, other than `previous`, is served; returns its
 * hash. It follows the ConfigMap rather than the first new hash it sees: the operator may render
 * more than once for one change (at start, the WSO2 pod's EndpointSlice comes after the first
 * render), and only the last one is served for good.
 */
const served = (previous: string | undefined) =>
  waitServed(`ConfigurationServed for the ConfigMap's configuration (not ${previous})`, async () => {
    const current = await configMapHash();
    return current && current !== previous && (await serves(current)) ? current : undefined;
  });

const get = (host: string, path = '/') =>
  send({ scheme: 'https', port: frontend.https, host, path, ca: ca.certificatePem });

beforeAll(async () => {
  core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  namespace = await createRealAgentsNamespace(core, 'in-place');
  await installCrd();
  for (const node of nodes) await node.start();
  dir = mkdtempSync(join(tmpdir(), 'wso2-frontend-in-place-'));
  await userSecret();
  const resource: Wso2Frontend = example('apim-single.yaml');
  resource.metadata = { name: NAME, namespace };
  resource.spec.backends = { managed: {} };
  resource.spec.tls = { mode: 'secret', secretName: USER_SECRET };
  resource.spec.nginx = { replicas: 1, service: { type: 'ClusterIP' } };
  operator = await OperatorProcess.start(['--namespace', namespace, '--health-port', '0']);
  await kubectl(['apply', '--server-side', '-f', '-'], yaml.dump(resource));
  frontend = await ServedFrontend.start({
    kubeConfig: kubeConfig(),
    resource,
    nodes,
    dir,
    wso2Pods: 1,
    env: { [TEST_EXTRA_MAIN_CONF_ENV]: hookFile() },
  });
}, 180_000);

afterAll(async () => {
  await frontend?.stop();
  await operator?.stop();
  for (const node of nodes) await node.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
});

let hash: string | undefined;
let masterPid: number | undefined;

test('the operator applies the frontend, the agent serves it, and the frontend says so', async () => {
  hash = await served(undefined);
  masterPid = agent().masterPid();
  expect(masterPid).toBeGreaterThan(0);
  // Ready once the sites' first probes through this configuration are in (Serving).
  const f = await eventually('the frontend Ready', async () => {
    const f = await readFrontend(namespace, NAME);
    return conditionOf(f, 'Ready')?.status === 'True' ? f : undefined;
  });
  expect(f.status?.configHash).toBe(hash);
  const pod = (await core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/component=nginx` }))
    .items[0]!;
  const report = await servedCondition(core, namespace, pod.metadata!.name!);
  expect(report).toMatchObject({ hash, condition: { status: 'True', reason: 'Served' } });
  const response = await get(PORTAL);
  expect(response.answer).toMatchObject({ node: 'node-1', port: 9443 });
});

test('a spec change is served in place by the same NGINX master', async () => {
  const template = (
    await kubeConfig()
      .makeApiClient(k8s.AppsV1Api)
      .readNamespacedDeployment({ name: `${NAME}-nginx`, namespace })
  ).spec!.template;
  await patchSpec(namespace, NAME, { nginx: { hsts: { maxAgeSeconds: 600 } } });
  hash = await served(hash);
  expect((await get(PORTAL)).headers['strict-transport-security']).toBe('max-age=600');
  expect(agent().masterPid()).toBe(masterPid);
  const after = (
    await kubeConfig()
      .makeApiClient(k8s.AppsV1Api)
      .readNamespacedDeployment({ name: `${NAME}-nginx`, namespace })
  ).spec!.template;
  expect(after).toEqual(template);
});

test('a new WSO2 endpoint, then a removed one, are served in place', async () => {
  await patchSpec(namespace, NAME, { backends: { managed: { components: { 'all-in-one': { replicas: 2 } } } } });
  const addresses = await frontend.mapPods(2);
  // The EndpointSlice gains the second pod: a configuration that routes to both.
  hash = await eventually('a configuration that routes to both pods', async () => {
    const configMap = await core.readNamespacedConfigMap({ name: `${NAME}-nginx`, namespace });
    const text = Object.values(configMap.data ?? {}).join('\n');
    return addresses.every((a) => text.includes(`server ${a}:8243`))
      ? configMap.metadata!.annotations![CONFIG_HASH_ANNOTATION]
      : undefined;
  });
  await servedOn(hash);
  const answered = new Set<string>();
  for (let i = 0; i < 10 && answered.size < 2; i++) answered.add((await get(GATEWAY)).answer!.node);
  expect([...answered].sort()).toEqual(addresses.map((a) => frontend.podNodes.get(a)!.name).sort());
  expect(agent().masterPid()).toBe(masterPid);

  await patchSpec(namespace, NAME, { backends: { managed: { components: { 'all-in-one': { replicas: 1 } } } } });
  const [left] = await frontend.mapPods(1);
  hash = await served(hash);
  for (let i = 0; i < 4; i++) expect((await get(GATEWAY)).answer!.node).toBe(frontend.podNodes.get(left!)!.name);
  expect(agent().masterPid()).toBe(masterPid);
});

test('a rotated certificate is presented by the same NGINX master', async () => {
  const data = await userSecret();
  hash = await served(hash);
  expect(await frontend.presentedCertificate(PORTAL, ca.certificatePem)).toBe(
    new X509Certificate(data['tls.crt']!).fingerprint256,
  );
  expect(agent().masterPid()).toBe(masterPid);
});

test('a configuration NGINX rejects: ReloadFailed on the frontend and a Warning Event, the old one serving; fixed, it recovers', async () => {
  writeFileSync(hookFile(), 'no_such_directive on;');
  await patchSpec(namespace, NAME, { nginx: { hsts: { maxAgeSeconds: 900 } } });
  const bad = await rendered(hash);
  const f = await eventually('ReloadFailed on the frontend', async () => {
    const f = await readFrontend(namespace, NAME);
    return conditionOf(f, 'ConfigurationServed')?.reason === 'ReloadFailed' ? f : undefined;
  });
  const condition = conditionOf(f, 'ConfigurationServed')!;
  expect(condition.status).toBe('False');
  expect(condition.message).toContain(`0/1 NGINX pods serve configuration ${bad}; pod `);
  expect(condition.message).toContain(`configuration ${bad} rejected by nginx -t`);
  expect(condition.message).toContain('unknown directive "no_such_directive"');
  // Not something a retry of the operator fixes: Stalled (kstatus Failed, Argo CD Degraded).
  expect(conditionOf(f, 'Stalled')).toMatchObject({ status: 'True', reason: 'ReloadFailed' });
  expect(conditionOf(f, 'Ready')).toMatchObject({ status: 'False', reason: 'ReloadFailed' });
  // The status names what is served: the previous configuration, which NGINX still serves.
  expect(f.status?.configHash).toBe(hash);
  expect((await get(PORTAL)).headers['strict-transport-security']).toBe('max-age=600');
  const [event] = await eventuallyEvents(namespace, 'ReloadFailed', NAME);
  expect(event).toMatchObject({ type: 'Warning', note: condition.message });

  rmSync(hookFile());
  hash = await servedOn(bad);
  expect((await get(PORTAL)).headers['strict-transport-security']).toBe('max-age=900');
  expect(conditionOf(await readFrontend(namespace, NAME), 'Stalled')?.status).toBe('False');
  expect(agent().masterPid()).toBe(masterPid);
});

test('the TLS Secret NGINX reads, deleted by hand: NGINX keeps serving, the operator puts the same certificate back', async () => {
  const copy = `${NAME}-tls-secret-${USER_SECRET}`;
  const before = await core.readNamespacedSecret({ name: copy, namespace });
  const presented = await frontend.presentedCertificate(PORTAL, ca.certificatePem);
  await kubectl(['delete', 'secret', copy, '-n', namespace]);
  // Whether or not the operator has put it back yet, NGINX answers with what it served.
  for (let i = 0; i < 5; i++) expect((await get(PORTAL)).headers['strict-transport-security']).toBe('max-age=900');
  expect(await frontend.presentedCertificate(PORTAL, ca.certificatePem)).toBe(presented);

  const after = await eventually('the Secret put back', () =>
    core.readNamespacedSecret({ name: copy, namespace }).catch(() => undefined),
  );
  expect(after.metadata?.uid).not.toBe(before.metadata?.uid);
  expect(after.data).toEqual(before.data);
  const f = await eventually('the frontend Ready again', async () => {
    const f = await readFrontend(namespace, NAME);
    return conditionOf(f, 'Ready')?.status === 'True' ? f : undefined;
  });
  expect(f.status?.configHash).toBe(hash);
  expect(await frontend.presentedCertificate(PORTAL, ca.certificatePem)).toBe(presented);
  expect(agent().masterPid()).toBe(masterPid);
});
