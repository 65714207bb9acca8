// What Argo CD and kstatus tools (Flux, kpt, cli-utils) read from statuses the real operator
// wrote in the real control plane: each status is captured from the API server at a known
// moment of a frontend's life, then judged by deploy/argocd/.../health.lua in gopher-lua (as
// Argo CD runs an argocd-cm health script) and by cli-utils' status.Compute.
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import { API_GROUP, API_VERSION, PLURAL, type Wso2Frontend } from '../../src/api/schema.js';
import { createOperator } from '../../src/controller/setup.js';
import { issueCa, issueServerCertificate, tlsSecretData } from '../../src/tls/issuer.js';
import { createNamespace, eventually, kubeConfig, kubectl } from '../support/cluster.js';
import { argoCdHealth, kstatus } from '../support/go-tools.js';
import { conditionOf, example, installCrd, patchSpec } from '../support/resources.js';

const HEALTH_LUA = 'deploy/argocd/resource_customizations/wso2-frontend.dev/Wso2Frontend/health.lua';

type LiveFrontend = Wso2Frontend & { metadata: { generation?: number; resourceVersion?: string } };

let namespace: string;
let quotaNamespace: string;
let operator: ReturnType<typeof createOperator> | undefined;

const custom = () => kubeConfig().makeApiClient(k8s.CustomObjectsApi);

async function read(name: string, ns = namespace): Promise<LiveFrontend> {
  return (await custom().getNamespacedCustomObject({
    group: API_GROUP,
    version: API_VERSION,
    namespace: ns,
    plural: PLURAL,
    name,
  })) as LiveFrontend;
}

/** The frontend once `ready` holds for it, as the API server returns it. */
function capture(what: string, name: string, ready: (f: LiveFrontend) => boolean, ns = namespace) {
  return eventually(what, async () => {
    const f = await read(name, ns);
    return ready(f) ? f : undefined;
  });
}

const observed = (f: LiveFrontend) => f.status?.observedGeneration === f.metadata.generation;

/** Both verdicts on one live object. */
function verdicts(f: LiveFrontend) {
  const [health] = argoCdHealth(HEALTH_LUA, [f]);
  const [computed] = kstatus([f]);
  return { argoCd: health, kstatus: computed };
}

async function startOperator(): Promise<void> {
  operator = createOperator({
    kubeConfig: kubeConfig(),
    namespaces: [namespace, quotaNamespace],
    identity: 'gitops-live-status',
  });
  await operator.controller.start();
}

async function stopOperator(): Promise<void> {
  await operator?.controller.stop();
  operator = undefined;
}

async function apply(resource: Wso2Frontend, ns = namespace): Promise<void> {
  await kubectl(['apply', '--server-side', '-n', ns, '-f', '-'], yaml.dump(resource));
}

function named(file: string, name: string): Wso2Frontend {
  const resource = example(file);
  resource.metadata.name = name;
  return resource;
}

beforeAll(async () => {
  await installCrd();
  namespace = await createNamespace('gitops-status');
  // No pod may start here: the NGINX Deployment of a frontend stays rolling out.
  quotaNamespace = await createNamespace('gitops-quota');
  await kubectl(['create', 'quota', 'no-pods', '--hard=pods=0', '-n', quotaNamespace]);
});

afterAll(async () => {
  await stopOperator();
});

describe('one frontend from creation to Ready and through a spec change', () => {
  const NAME = 'lifecycle';

  test('created before the operator saw it (no status): Argo CD Progressing; kstatus Current, its rule for a resource without status', async () => {
    await apply(named('apim-single.yaml', NAME));
    const f = await read(NAME);
    expect(f.status).toBeUndefined();
    expect(verdicts(f)).toEqual({
      argoCd: { status: 'Progressing', message: 'Waiting for the operator to report a status' },
      kstatus: { status: 'Current', message: 'Resource is current' },
    });
  });

  test('Ready for its generation: Argo CD Healthy, kstatus Current', async () => {
    await startOperator();
    const f = await capture('Ready', NAME, (f) => observed(f) && conditionOf(f, 'Ready')?.status === 'True');
    expect(verdicts(f)).toEqual({
      argoCd: { status: 'Healthy', message: conditionOf(f, 'Ready')!.message },
      kstatus: { status: 'Current', message: 'Resource is Ready' },
    });
  });

  test('right after a spec change, until the operator observes it: Argo CD Progressing, kstatus InProgress', async () => {
    await stopOperator();
    await patchSpec(namespace, NAME, { nginx: { replicas: 3 } });
    const f = await read(NAME);
    expect([f.metadata.generation, f.status?.observedGeneration, conditionOf(f, 'Ready')?.status]).toEqual([
      2,
      1,
      'True',
    ]);
    expect(verdicts(f)).toEqual({
      argoCd: { status: 'Progressing', message: 'Waiting for the operator to observe generation 2' },
      kstatus: { status: 'InProgress', message: 'Wso2Frontend generation is 2, but latest observed generation is 1' },
    });
  });

  test('Ready again once the change is observed and served: Argo CD Healthy, kstatus Current', async () => {
    await startOperator();
    const f = await capture(
      'Ready for generation 2',
      NAME,
      (f) => f.status?.observedGeneration === 2 && conditionOf(f, 'Ready')?.status === 'True',
    );
    expect(verdicts(f)).toMatchObject({ argoCd: { status: 'Healthy' }, kstatus: { status: 'Current' } });
  });
});

test('rolling out (its NGINX pods cannot start): Argo CD Progressing, kstatus InProgress, each with the reason', async () => {
  if (!operator) await startOperator();
  const name = 'rolling-out';
  await apply(named('apim-single.yaml', name), quotaNamespace);
  const message = '0 of 2 NGINX replica(s) run the current pod template';
  // Right after the apply the message says the Deployment controller has not seen it yet; wait for its verdict.
  const f = await capture(
    'Reconciling with RollingOut, seen by the Deployment controller',
    name,
    (f) =>
      observed(f) &&
      conditionOf(f, 'Reconciling')?.status === 'True' &&
      conditionOf(f, 'Ready')?.reason === 'RollingOut' &&
      conditionOf(f, 'Ready')?.message === message,
    quotaNamespace,
  );
  expect(verdicts(f)).toEqual({
    argoCd: { status: 'Progressing', message: `RollingOut: ${message}` },
    kstatus: { status: 'InProgress', message },
  });
});

test('a spec only the operator rejects (Stalled, InvalidSpec): Argo CD Degraded, kstatus Failed, with its message', async () => {
  if (!operator) await startOperator();
  const name = 'invalid';
  const resource = named('apim-active-active.yaml', name);
  // Valid for the schema and CEL; only the presets know api.am.wso2.com is the portal's host.
  resource.spec.sites = { gateway: { host: 'api.am.wso2.com' } };
  await apply(resource);
  const f = await capture('Stalled', name, (f) => observed(f) && conditionOf(f, 'Stalled')?.status === 'True');
  const stalled = conditionOf(f, 'Stalled')!;
  expect(stalled.reason).toBe('InvalidSpec');
  expect(verdicts(f)).toEqual({
    argoCd: { status: 'Degraded', message: `InvalidSpec: ${stalled.message}` },
    kstatus: { status: 'Failed', message: stalled.message },
  });
});

test('a certificate Secret that does not cover the hosts (Stalled, CertificateInvalid): Argo CD Degraded, kstatus Failed', async () => {
  if (!operator) await startOperator();
  const name = 'wrong-certificate';
  const ca = issueCa('user CA', { now: new Date() });
  const data = tlsSecretData(issueServerCertificate(ca, ['other.example.com'], { now: new Date() }), ca);
  await kubeConfig()
    .makeApiClient(k8s.CoreV1Api)
    .createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'wrong-tls' }, type: 'kubernetes.io/tls', stringData: data },
    });
  const resource = named('apim-single.yaml', name);
  resource.spec.tls = { mode: 'secret', secretName: 'wrong-tls' };
  await apply(resource);
  const f = await capture('Stalled', name, (f) => observed(f) && conditionOf(f, 'Stalled')?.status === 'True');
  const stalled = conditionOf(f, 'Stalled')!;
  expect(stalled.reason).toBe('CertificateInvalid');
  expect(verdicts(f)).toEqual({
    argoCd: { status: 'Degraded', message: `CertificateInvalid: ${stalled.message}` },
    kstatus: { status: 'Failed', message: stalled.message },
  });
});
