// The agent's least privilege, on the real API server: its Role lets its ServiceAccount read
// exactly its frontend's ConfigMap and certificate Secrets and patch Pod status, nothing else
// (`kubectl auth can-i`, and real requests with the ServiceAccount's token), and the real agent
// process serves and reports with that token alone.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { agentRole, agentRoleBinding, agentServiceAccount } from '../../src/render/agent.js';
import { certificateSecretName, nginxName } from '../../src/render/objects.js';
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
import { createNamespace, eventually, kubeConfig, kubectl, kubectlOutcome } from '../support/cluster.js';
import { FakeWso2Node } from '../support/fake-wso2.js';
import { onLoopback, topologyOf } from '../support/frontend.js';
import { example } from '../support/resources.js';

const BLOCK = 65;
const POD = 'apim-single-nginx-0';

let namespace: string;
let dir: string;
let frontend: Wso2Frontend;
let serviceAccount: string;
let tokenKubeconfig: string;
const node = new FakeWso2Node('node-1', `127.0.${BLOCK}.1`, { https: [9443, 8243], http: [] });

beforeAll(async () => {
  namespace = await createNamespace('agent-rbac');
  dir = mkdtempSync(join(tmpdir(), 'wso2-frontend-agent-rbac-'));
  frontend = onLoopback(example('apim-single.yaml'), BLOCK);
  frontend.metadata.namespace = namespace;
  const topology = topologyOf(frontend);
  serviceAccount = nginxName(frontend);
  await kubectl(
    ['apply', '-f', '-'],
    [agentServiceAccount(frontend), agentRole(frontend, topology), agentRoleBinding(frontend)]
      .map((o) => yaml.dump(o))
      .join('---\n'),
  );
  // Neighbours the agent must not read.
  await kubectl(['create', 'configmap', 'other', '-n', namespace, '--from-literal=k=v']);
  await kubectl(['create', 'secret', 'generic', 'other', '-n', namespace, '--from-literal=k=v']);

  // A kubeconfig that authenticates with the ServiceAccount's token only.
  const token = (await kubectl(['create', 'token', serviceAccount, '-n', namespace])).trim();
  const cluster = kubeConfig().getCurrentCluster()!;
  tokenKubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    tokenKubeconfig,
    yaml.dump({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'local', cluster: { server: cluster.server, 'certificate-authority-data': cluster.caData } }],
      users: [{ name: 'agent', user: { token } }],
      contexts: [{ name: 'agent', context: { cluster: 'local', user: 'agent', namespace } }],
      'current-context': 'agent',
    }),
  );
});

afterAll(async () => {
  await node.stop();
  rmSync(dir, { recursive: true, force: true });
});

const canI = async (...args: string[]) =>
  (
    await kubectlOutcome([
      'auth',
      'can-i',
      ...args,
      '-n',
      namespace,
      `--as=system:serviceaccount:${namespace}:${serviceAccount}`,
    ])
  ).stdout.trim();

test('kubectl auth can-i: its ConfigMap and certificate Secrets, and Pod status; nothing else', async () => {
  const secret = certificateSecretName(frontend, topologyOf(frontend).certificates[0]!.name);
  for (const verb of ['get', 'list', 'watch']) {
    expect(await canI(verb, `configmaps/${nginxName(frontend)}`)).toBe('yes');
    expect(await canI(verb, `secrets/${secret}`)).toBe('yes');
    expect(await canI(verb, 'configmaps/other')).toBe('no');
    expect(await canI(verb, 'secrets/other')).toBe('no');
  }
  expect(await canI('list', 'configmaps')).toBe('no');
  expect(await canI('list', 'secrets')).toBe('no');
  expect(await canI('update', `configmaps/${nginxName(frontend)}`)).toBe('no');
  expect(await canI('patch', 'pods', '--subresource=status')).toBe('yes');
  expect(await canI('get', 'pods')).toBe('no');
  expect(await canI('patch', 'pods')).toBe('no');
});

test("the ServiceAccount's token is refused another ConfigMap or Secret", async () => {
  for (const kind of ['configmap', 'secret']) {
    const denied = await kubectlOutcome(['--kubeconfig', tokenKubeconfig, 'get', kind, 'other', '-n', namespace]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain(
      `${kind}s "other" is forbidden: User "system:serviceaccount:${namespace}:${serviceAccount}" cannot get resource "${kind}s"`,
    );
  }
  const all = await kubectlOutcome(['--kubeconfig', tokenKubeconfig, 'get', 'secrets', '-n', namespace]);
  expect(all.code).toBe(1);
  expect(all.stderr).toContain('cannot list resource "secrets"');
});

test('the agent serves and reports with nothing but that token', async () => {
  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  await createNginxPod(core, namespace, POD);
  await node.start();
  const ports = await loopbackPorts();
  const certs = issueCertificates(topologyOf(frontend));
  const objects = agentObjects(frontend, topologyOf(frontend), loopbackLayout(ports), certs);
  for (const secret of objects.secrets) await put(core, secret);
  await put(core, objects.configMap);
  const agent = await AgentProcess.start({
    namespace,
    pod: POD,
    frontend,
    secretFlags: objects.secretFlags,
    dir: join(dir, 'nginx'),
    ports,
    kubeconfig: tokenKubeconfig,
  });
  try {
    await eventually('the Pod to report the served hash', async () => {
      agent.assertRunning();
      return (await servedCondition(core, namespace, POD))?.hash === objects.hash ? true : undefined;
    });
    const response = await send({
      scheme: 'https',
      port: ports.https,
      host: 'api.am.wso2.com',
      ca: certs.ca.certificatePem,
    });
    expect(response.answer?.node).toBe('node-1');
    expect(agent.log()).not.toContain('forbidden');
  } finally {
    await agent.stop();
  }
});
