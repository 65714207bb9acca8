// The `wso2-frontend operator` command as child processes against the real control plane, run
// as the replicas of its Deployment run it: with leader election exactly one replica
// reconciles, a killed leader's Lease is taken over once it has expired, and a leader stopped
// with SIGTERM hands over at once; the running command serves its probes and metrics; a field
// taken by another manager and a 409 from the API server do not stop it. Last, a resync of a
// settled frontend sends the API server no write, counted by the API server itself (on a
// private control plane, so no other test file's requests are counted).
import { createServer, type Server } from 'node:https';
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { createOperator } from '../../src/controller/setup.js';
import { FIELD_MANAGER } from '../../src/render/ownership.js';
import { LocalControlPlane } from '../../src/localcluster/control-plane.js';
import { createCertificate, generateRsaKeyPair } from '../../src/tls/x509.js';
import { createNamespace, eventually, kubeConfig, kubectl } from '../support/cluster.js';
import { OperatorProcess } from '../support/operator-process.js';
import { parseMetrics, sumOf, type Sample } from '../support/prometheus.js';
import {
  CRD_FILE,
  conditionOf,
  example,
  frontendOnce,
  installCrd,
  patchSpec,
  readFrontend,
} from '../support/resources.js';

const NAME = 'apim-active-active';
const LEASE = 'wso2-frontend-operator';
/** The command's leader election timing (the defaults of LeaderElector). */
const LEASE_DURATION_MS = 15_000;
const RETRY_PERIOD_MS = 2_000;

/** The example with one NGINX replica, to keep the fake node's work small. */
function frontendManifest(): string {
  const resource = example('apim-active-active.yaml');
  resource.spec.nginx = { ...resource.spec.nginx, replicas: 1 };
  return yaml.dump(resource);
}

const frontend = (namespace: string) => readFrontend(namespace, NAME);

const isReady = (f: Wso2Frontend) =>
  f.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' &&
  f.status.observedGeneration === f.metadata.generation;

async function lease(namespace: string): Promise<k8s.V1LeaseSpec> {
  return (
    (await kubeConfig().makeApiClient(k8s.CoordinationV1Api).readNamespacedLease({ name: LEASE, namespace })).spec ?? {}
  );
}

/** Events about the frontend that the operator recorded. */
async function operatorEvents(namespace: string): Promise<k8s.EventsV1Event[]> {
  const events = await kubeConfig().makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace });
  return events.items.filter(
    (e) => e.reportingController === 'wso2-frontend.dev/operator' && e.regarding?.name === NAME,
  );
}

const reconciles = (samples: Sample[]) => sumOf(samples, 'wso2_frontend_reconcile_total');

beforeAll(async () => {
  await installCrd();
});

describe('two replicas with leader election', () => {
  let namespace: string;
  const replicas: OperatorProcess[] = [];
  let leader: OperatorProcess;
  let standby: OperatorProcess;

  async function startReplica(): Promise<OperatorProcess> {
    const replica = await OperatorProcess.start([
      '--namespace',
      namespace,
      '--health-port',
      '0',
      '--leader-elect',
      '--lease-namespace',
      namespace,
    ]);
    replicas.push(replica);
    return replica;
  }

  beforeAll(async () => {
    namespace = await createNamespace('operator-replicas');
    await Promise.all([startReplica(), startReplica()]);
  });

  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()));
  });

  test('exactly one replica holds the Lease, the Lease names it, and the standby is ready', async () => {
    const holder = await eventually(
      'a holder of the Lease',
      async () => (await lease(namespace)).holderIdentity || undefined,
    );
    const holders = replicas.filter((r) => r.identity === holder);
    expect(holders).toHaveLength(1);
    leader = holders[0]!;
    standby = replicas.find((r) => r !== leader)!;
    await leader.waitForLog('became leader');
    expect(standby.logged('became leader')).toBe(false);
    expect((await standby.get('/readyz')).status).toBe(200);
  });

  test('a Wso2Frontend becomes Ready, reconciled by the leader alone', async () => {
    await kubectl(['apply', '-n', namespace, '-f', '-'], frontendManifest());
    await kubectl(['wait', '--for=condition=Ready', `wso2frontend/${NAME}`, '-n', namespace, '--timeout=90s']);
    expect(reconciles(await leader.metrics())).toBeGreaterThan(0);
    expect(reconciles(await standby.metrics())).toBe(0);
    // wso2_frontend_leader, which the alert Wso2FrontendNoLeader reads: 1 on the leader alone.
    expect(sumOf(await leader.metrics(), 'wso2_frontend_leader')).toBe(1);
    expect(sumOf(await standby.metrics(), 'wso2_frontend_leader')).toBe(0);
    const reporters = (await operatorEvents(namespace)).map((e) => e.reportingInstance);
    expect(reporters).not.toHaveLength(0);
    expect(new Set(reporters)).toEqual(new Set([leader.identity]));
    // One info line per reconcile that changed something, saying what and why.
    const line = await eventually('the reconcile that made it Ready to be logged', () =>
      leader.logLines().find((l) => l.message === 'reconciled' && l.ready === 'True'),
    );
    expect(line).toMatchObject({ level: 'info', frontend: `${namespace}/${NAME}`, reason: 'Ready' });
    // At the default level, the reconciles and applies that led there are not logged one by one.
    expect(leader.logLines().filter((l) => l.level === 'debug')).toEqual([]);
  });

  test('when the leader is killed, the standby takes the Lease once it has expired and reconciles the next change', async () => {
    // client-node hands MicroTime fields over as strings, whatever their type says.
    const lastRenewal = new Date((await lease(namespace)).renewTime!).getTime();
    const killedAt = Date.now();
    leader.kill('SIGKILL');
    await leader.exited;
    await eventually(
      'the standby to hold the Lease',
      async () => ((await lease(namespace)).holderIdentity === standby.identity ? true : undefined),
      30_000,
    );
    const takenAt = Date.now();
    // Never before the lease has expired; at the latest one retry after the standby saw the
    // last renewal, plus the retry that acquires it (and some slack for a busy machine).
    expect(takenAt - lastRenewal).toBeGreaterThanOrEqual(LEASE_DURATION_MS);
    expect(takenAt - killedAt).toBeLessThan(LEASE_DURATION_MS + 2 * RETRY_PERIOD_MS + 5_000);

    await patchSpec(namespace, NAME, { sites: { gateway: { host: 'api.example.com' } } });
    const changed = await frontendOnce(
      'Ready with the new host',
      namespace,
      NAME,
      (f) => isReady(f) && !!f.status?.urls?.includes('https://api.example.com/'),
    );
    const update = await eventually('an Event of the new configuration', async () =>
      (await operatorEvents(namespace)).find(
        (e) => e.reason === 'ConfigurationUpdated' && e.note?.includes(changed.status!.configHash!),
      ),
    );
    expect(update.reportingInstance).toBe(standby.identity);
    expect(reconciles(await standby.metrics())).toBeGreaterThan(0);
    expect(sumOf(await standby.metrics(), 'wso2_frontend_leader')).toBe(1);
  });

  test('a leader stopped with SIGTERM releases the Lease at once and exits 0', async () => {
    const leading = standby; // since the previous test
    const successor = await startReplica();
    const stoppedAt = Date.now();
    leading.kill('SIGTERM');
    expect(await leading.exited).toEqual({ code: 0, signal: null });
    expect(['', undefined, successor.identity]).toContain((await lease(namespace)).holderIdentity);
    await eventually(
      'the new replica to hold the Lease',
      async () => ((await lease(namespace)).holderIdentity === successor.identity ? true : undefined),
      30_000,
    );
    // A lease left to expire would take at least 13 s (15 s from its last renewal).
    expect(Date.now() - stoppedAt).toBeLessThan(8_000);
  });
});

/**
 * A validating admission webhook that answers the operator's next writes of ConfigMaps in one
 * namespace with 409 Conflict, as the API server answers a write that lost a race: the
 * operator writes with server-side apply and force, so the API server itself never does.
 */
class ConflictWebhook {
  /** Writes still to be refused. */
  private toRefuse = 0;
  refused = 0;
  private sawDryRun = false;

  private constructor(
    private readonly server: Server,
    private readonly configurationName: string,
  ) {}

  static async start(namespace: string): Promise<ConflictWebhook> {
    const now = Date.now();
    const validity = { notBefore: new Date(now - 60_000), notAfter: new Date(now + 3_600_000) };
    const caKeys = generateRsaKeyPair();
    const ca = createCertificate({
      subject: { commonName: 'conflict webhook CA' },
      keyPair: caKeys,
      isCA: true,
      ...validity,
    });
    const keys = generateRsaKeyPair();
    const certificate = createCertificate(
      {
        subject: { commonName: '127.0.0.1' },
        keyPair: keys,
        isCA: false,
        serverAuth: true,
        subjectAltNames: [{ ip: '127.0.0.1' }],
        ...validity,
      },
      { certificatePem: ca, keyPair: caKeys },
    );
    let webhook: ConflictWebhook | undefined;
    const server = createServer({ key: keys.privateKeyPem, cert: certificate }, (request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        const review = JSON.parse(body) as {
          request: { uid: string; dryRun?: boolean; options?: { fieldManager?: string } };
        };
        const answer = webhook!.review(review.request);
        response
          .writeHead(200, { 'Content-Type': 'application/json' })
          .end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: answer }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    webhook = new ConflictWebhook(server, `conflicts-${namespace}`);
    await kubeConfig()
      .makeApiClient(k8s.AdmissionregistrationV1Api)
      .createValidatingWebhookConfiguration({
        body: {
          metadata: { name: webhook.configurationName },
          webhooks: [
            {
              name: 'conflicts.wso2-frontend.dev',
              clientConfig: { url: `https://127.0.0.1:${port}/`, caBundle: Buffer.from(ca).toString('base64') },
              rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['configmaps'] }],
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
              // Ignore: a webhook that went away must not block anything; the test counts what it refused.
              failurePolicy: 'Ignore',
              sideEffects: 'None',
              admissionReviewVersions: ['v1'],
              timeoutSeconds: 5,
            },
          ],
        },
      });
    return webhook;
  }

  private review(request: { uid: string; dryRun?: boolean; options?: { fieldManager?: string } }) {
    if (request.dryRun) {
      this.sawDryRun = true;
      return { uid: request.uid, allowed: true };
    }
    if (request.options?.fieldManager !== FIELD_MANAGER || this.toRefuse === 0)
      return { uid: request.uid, allowed: true };
    this.toRefuse--;
    this.refused++;
    return {
      uid: request.uid,
      allowed: false,
      status: {
        code: 409,
        reason: 'Conflict',
        message: 'the object has been modified; please apply your changes to the latest version and try again',
      },
    };
  }

  /** Waits until the API server calls the webhook: a dry-run write reaches it and changes nothing. */
  async registered(namespace: string, configMap: string): Promise<void> {
    const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
    await eventually('the API server to call the webhook', async () => {
      await core.patchNamespacedConfigMap(
        {
          name: configMap,
          namespace,
          dryRun: 'All',
          body: { metadata: { annotations: { 'probe.wso2-frontend.dev/at': String(Date.now()) } } },
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      return this.sawDryRun ? true : undefined;
    });
  }

  refuseNext(count: number): void {
    this.toRefuse = count;
  }

  async close(): Promise<void> {
    await kubeConfig()
      .makeApiClient(k8s.AdmissionregistrationV1Api)
      .deleteValidatingWebhookConfiguration({ name: this.configurationName });
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('the running command', () => {
  let namespace: string;
  let operator: OperatorProcess;
  const configMap = `${NAME}-nginx`;
  const core = () => kubeConfig().makeApiClient(k8s.CoreV1Api);

  beforeAll(async () => {
    namespace = await createNamespace('operator-command');
    operator = await OperatorProcess.start(['--namespace', namespace, '--health-port', '0']);
    await kubectl(['apply', '-n', namespace, '-f', '-'], frontendManifest());
    await kubectl(['wait', '--for=condition=Ready', `wso2frontend/${NAME}`, '-n', namespace, '--timeout=90s']);
  });

  afterAll(async () => {
    await operator?.stop();
  });

  /** Another field manager takes nginx.conf with force, as `kubectl apply --server-side --force-conflicts` does. */
  async function takeNginxConf(): Promise<void> {
    const taken = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: configMap, namespace },
      data: { 'nginx.conf': 'events {}' },
    };
    const applied = JSON.parse(
      await kubectl(
        ['apply', '--server-side', '--force-conflicts', '--field-manager=intruder', '-o', 'json', '-f', '-'],
        yaml.dump(taken),
      ),
    ) as k8s.V1ConfigMap;
    expect(applied.data?.['nginx.conf']).toBe('events {}');
  }

  /** The ConfigMap once nginx.conf holds `text` again and the operator alone owns it. */
  function nginxConfTakenBack(text: string): Promise<k8s.V1ConfigMap> {
    return eventually('the operator to own nginx.conf again', async () => {
      const current = await core().readNamespacedConfigMap({ name: configMap, namespace });
      const owners = (current.metadata?.managedFields ?? [])
        .filter((m) => JSON.stringify(m.fieldsV1 ?? {}).includes('"f:nginx.conf"'))
        .map((m) => m.manager);
      return current.data?.['nginx.conf'] === text && owners.length === 1 && owners[0] === FIELD_MANAGER
        ? current
        : undefined;
    });
  }

  test('/healthz and /readyz answer 200', async () => {
    expect(await operator.get('/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect(await operator.get('/readyz')).toEqual({ status: 200, body: 'ok\n' });
  });

  test('/metrics counts reconciles by result, times each of them, and shows an empty queue once settled', async () => {
    const samples = await eventually('an empty work queue', async () => {
      const current = await operator.metrics();
      return current.some((s) => s.name === 'wso2_frontend_queue_depth' && s.value === 0) ? current : undefined;
    });
    expect(sumOf(samples, 'wso2_frontend_reconcile_total', { result: 'success' })).toBeGreaterThan(0);
    // Without leader election the one process reconciles: wso2_frontend_leader is 1.
    expect(sumOf(samples, 'wso2_frontend_leader')).toBe(1);
    for (const result of ['success', 'requeue', 'error']) {
      const count = sumOf(samples, 'wso2_frontend_reconcile_total', { result });
      expect({ result, timed: sumOf(samples, 'wso2_frontend_reconcile_duration_seconds_count', { result }) }).toEqual({
        result,
        timed: count,
      });
      expect({
        result,
        inLastBucket: sumOf(samples, 'wso2_frontend_reconcile_duration_seconds_bucket', { result, le: '+Inf' }),
      }).toEqual({ result, inLastBucket: count });
    }
  });

  test("/metrics shows the Ready frontend's conditions: Ready True is 1, Ready False and Unknown 0", async () => {
    const series = conditionSeries(await operator.metrics(), namespace, NAME);
    expect(series.get('Ready=True')).toBe(1);
    expect(series.get('Ready=False')).toBe(0);
    expect(series.get('Ready=Unknown')).toBe(0);
    expect(series.get('Stalled=True')).toBe(0);
  });

  test('/metrics shows when the served certificate expires: about 90 days ahead, as the status says', async () => {
    const notAfter = new Date((await frontend(namespace)).status!.certificateNotAfter!).getTime();
    const series = (await operator.metrics()).filter(
      (s) =>
        s.name === 'wso2_frontend_certificate_expiry_seconds' &&
        s.labels.namespace === namespace &&
        s.labels.name === NAME,
    );
    expect(series).not.toHaveLength(0);
    const earliest = Math.min(...series.map((s) => s.value));
    expect(Math.abs(earliest - (notAfter - Date.now()) / 1000)).toBeLessThan(60);
    expect(earliest).toBeGreaterThan(89 * 86_400);
    expect(earliest).toBeLessThanOrEqual(90 * 86_400);
  });

  test('a field another manager takes with force is taken back, and the operator keeps running', async () => {
    const original = (await core().readNamespacedConfigMap({ name: configMap, namespace })).data!['nginx.conf']!;
    await takeNginxConf();
    await nginxConfTakenBack(original);
    expect(operator.running).toBe(true);
    expect((await operator.get('/healthz')).status).toBe(200);
  });

  test('a write refused with 409 Conflict fails the reconcile, is reported on the status and as an Event, and is retried until it succeeds', async () => {
    const original = (await core().readNamespacedConfigMap({ name: configMap, namespace })).data!['nginx.conf']!;
    const before = await operator.metrics();
    const errorsBefore = sumOf(before, 'wso2_frontend_reconcile_total', { result: 'error' });
    const applyFailedBefore = sumOf(before, 'wso2_frontend_reconcile_errors_total', {
      namespace,
      name: NAME,
      reason: 'ApplyFailed',
    });
    const webhook = await ConflictWebhook.start(namespace);
    try {
      await webhook.registered(namespace, configMap);
      webhook.refuseNext(1_000_000);
      await takeNginxConf();
      // While the writes are refused, the status names the object and the API server's answer.
      const served = await eventually('ConfigurationServed=False with reason ApplyFailed', async () => {
        const f = JSON.parse(
          await kubectl(['get', 'wso2frontend', NAME, '-n', namespace, '-o', 'json']),
        ) as Wso2Frontend;
        const c = f.status?.conditions?.find((x) => x.type === 'ConfigurationServed');
        return c?.reason === 'ApplyFailed' ? c : undefined;
      });
      expect(served.status).toBe('False');
      expect(served.message).toContain(`ConfigMap ${configMap}: 409 `);
      expect(served.message).toContain('the object has been modified');
      webhook.refuseNext(0);
      await nginxConfTakenBack(original);
      expect(webhook.refused).toBeGreaterThanOrEqual(1);
    } finally {
      await webhook.close();
    }
    const samples = await operator.metrics();
    expect(sumOf(samples, 'wso2_frontend_reconcile_total', { result: 'error' })).toBe(errorsBefore + webhook.refused);
    expect(
      sumOf(samples, 'wso2_frontend_reconcile_errors_total', { namespace, name: NAME, reason: 'ApplyFailed' }),
    ).toBe(applyFailedBefore + webhook.refused);
    expect(sumOf(samples, 'wso2_frontend_queue_retries_total')).toBeGreaterThanOrEqual(webhook.refused);
    const failed = (await operatorEvents(namespace)).filter((e) => e.reason === 'ReconcileFailed');
    expect(failed).not.toHaveLength(0);
    expect(failed[0]!).toMatchObject({
      type: 'Warning',
      note: expect.stringContaining(`ConfigMap ${configMap}: 409 `),
    });
    await kubectl(['wait', '--for=condition=Ready', `wso2frontend/${NAME}`, '-n', namespace, '--timeout=60s']);
    expect(operator.running).toBe(true);
    expect((await operator.get('/healthz')).status).toBe(200);
  });
});

/** wso2_frontend_status_condition of one frontend, as "Type=Status" -> value. */
function conditionSeries(samples: Sample[], namespace: string, name: string): Map<string, number> {
  return new Map(
    samples
      .filter(
        (s) =>
          s.name === 'wso2_frontend_status_condition' && s.labels.namespace === namespace && s.labels.name === name,
      )
      .map((s) => [`${s.labels.type}=${s.labels.status}`, s.value]),
  );
}

describe('a frontend the operator rejects', () => {
  let namespace: string;
  let operator: OperatorProcess;
  const REJECTED = 'rejected';

  beforeAll(async () => {
    namespace = await createNamespace('operator-rejects');
    operator = await OperatorProcess.start(['--namespace', namespace, '--health-port', '0']);
  });

  afterAll(async () => {
    await operator?.stop();
  });

  const errorSeries = (samples: Sample[]) =>
    samples.filter(
      (s) =>
        s.name === 'wso2_frontend_reconcile_errors_total' &&
        s.labels.namespace === namespace &&
        s.labels.name === REJECTED,
    );

  test('every reconcile of an invalid frontend counts as a reconcile error with reason InvalidSpec, and deleting the frontend removes its series', async () => {
    const resource = example('apim-active-active.yaml');
    resource.metadata.name = REJECTED;
    // Valid for the schema and CEL; only the presets know api.am.wso2.com is the portal's host.
    resource.spec.sites = { ...resource.spec.sites, gateway: { host: 'api.am.wso2.com' } };
    await kubectl(['apply', '-n', namespace, '-f', '-'], yaml.dump(resource));
    await frontendOnce(
      'Accepted=False (InvalidSpec)',
      namespace,
      REJECTED,
      (f) => conditionOf(f, 'Accepted')?.reason === 'InvalidSpec',
    );

    // The only frontend this operator watches: every reconcile it counted failed, for that reason.
    const samples = await eventually('the reconciles and the reconcile errors to agree', async () => {
      const current = await operator.metrics();
      const errors = sumOf(current, 'wso2_frontend_reconcile_errors_total', { namespace, name: REJECTED });
      return errors >= 1 && errors === sumOf(current, 'wso2_frontend_reconcile_total') ? current : undefined;
    });
    expect(errorSeries(samples).map((s) => s.labels.reason)).toEqual(['InvalidSpec']);
    expect(errorSeries(samples)[0]!.value).toBe(reconciles(samples));
    // Its conditions, as the status says them: one series per status, 1 for the current one.
    const status = (await frontendOnce('its status', namespace, REJECTED, () => true)).status!;
    const conditions = conditionSeries(samples, namespace, REJECTED);
    expect(conditions.size).toBe(status.conditions!.length * 3);
    for (const c of status.conditions!)
      for (const s of ['True', 'False', 'Unknown'])
        expect(conditions.get(`${c.type}=${s}`)).toBe(s === c.status ? 1 : 0);
    expect(conditions.get('Ready=False')).toBe(1);
    expect(conditions.get('Stalled=True')).toBe(1);

    await kubectl(['delete', 'wso2frontend', REJECTED, '-n', namespace, '--wait=true']);
    await eventually('the series of the deleted frontend to go', async () => {
      const after = await operator.metrics();
      return errorSeries(after).length === 0 && conditionSeries(after, namespace, REJECTED).size === 0
        ? true
        : undefined;
    });
    expect(operator.running).toBe(true);
  });
});

describe('a resync of a settled frontend (private control plane)', () => {
  let plane: LocalControlPlane;
  let operator: ReturnType<typeof createOperator>;
  const onPlane = (args: string[], input?: string) => kubectl(['--kubeconfig', plane.kubeconfigPath, ...args], input);
  /** Write verbs as apiserver_request_total names them (APPLY is a server-side apply PATCH). */
  const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE', 'DELETECOLLECTION']);
  /** What the operator writes: what it owns (never their status, which controllers write) and Wso2Frontends (their status). */
  const OPERATOR_WRITES = new Set([
    'configmaps',
    'secrets',
    'services',
    'deployments',
    'statefulsets',
    'poddisruptionbudgets',
    'serviceaccounts',
    'roles',
    'rolebindings',
    'wso2frontends',
    'wso2frontends/status',
  ]);

  /** Write requests the API server has served so far, by "resource[/subresource] VERB". */
  async function writeRequests(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const s of parseMetrics(await onPlane(['get', '--raw', '/metrics']))) {
      if (s.name !== 'apiserver_request_total' || !WRITE_VERBS.has(s.labels.verb ?? '')) continue;
      const key = `${s.labels.resource}${s.labels.subresource ? `/${s.labels.subresource}` : ''} ${s.labels.verb}`;
      counts.set(key, (counts.get(key) ?? 0) + s.value);
    }
    return counts;
  }

  async function operatorReconciles(): Promise<number> {
    return reconciles(parseMetrics(await operator.metrics.registry.metrics()));
  }

  /** Resource versions of the frontend and of every object it leads to, but pods (kwok keeps those moving). */
  function resourceVersions(): Promise<string> {
    const kinds = 'wso2frontends,configmaps,secrets,services,deployments,replicasets,poddisruptionbudgets,statefulsets';
    return onPlane([
      'get',
      kinds,
      '-n',
      'default',
      '-o',
      'jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion}{"\\n"}{end}',
    ]);
  }

  beforeAll(async () => {
    plane = await LocalControlPlane.start();
    await onPlane(['apply', '--server-side', '--field-manager=wso2-frontend-tests', '-f', CRD_FILE]);
    await onPlane(['wait', '--for=condition=Established', 'crd/wso2frontends.wso2-frontend.dev', '--timeout=60s']);
    operator = createOperator({
      kubeConfig: plane.kubeConfig(),
      namespaces: ['default'],
      resyncPeriodMs: 1000,
      identity: 'resync-test',
    });
    await operator.controller.start();
    await onPlane(['apply', '-n', 'default', '-f', '-'], frontendManifest());
    await onPlane(['wait', '--for=condition=Ready', `wso2frontend/${NAME}`, '-n', 'default', '--timeout=90s']);
  }, 240_000);

  afterAll(async () => {
    await operator?.controller.stop();
    await plane?.stop();
  });

  test('the operator sends the API server no write request while it resyncs an unchanged frontend', async () => {
    // Settled: nothing changed across two resync periods.
    let previous: { versions: string; at: number } | undefined;
    await eventually('no object to change for two resync periods', async () => {
      const versions = await resourceVersions();
      if (previous?.versions === versions && Date.now() - previous.at >= 2_000) return true;
      if (previous?.versions !== versions) previous = { versions, at: Date.now() };
      return undefined;
    });

    const before = await writeRequests();
    const reconcilesBefore = await operatorReconciles();
    await eventually(
      'five resyncs',
      async () => ((await operatorReconciles()) >= reconcilesBefore + 5 ? true : undefined),
      30_000,
    );
    const after = await writeRequests();

    expect(operatorWrites(before, after)).toEqual({});
  });

  test('a restarted operator re-verifies the settled frontend without a single write request', async () => {
    await operator.controller.stop();
    const before = await writeRequests();
    operator = createOperator({
      kubeConfig: plane.kubeConfig(),
      namespaces: ['default'],
      resyncPeriodMs: 1000,
      identity: 'restart-test',
    });
    await operator.controller.start();
    // Done (a Ready frontend asks to be reconciled again before its certificate is due: requeue), not failed.
    await eventually('a reconcile of the frontend by the new process', async () => {
      const samples = parseMetrics(await operator.metrics.registry.metrics());
      const done = ['success', 'requeue'].map((result) => sumOf(samples, 'wso2_frontend_reconcile_total', { result }));
      return done[0]! + done[1]! >= 1 ? true : undefined;
    });
    // As the API server counts them, and as the operator counts what it sent (Events and Leases included).
    expect(operatorWrites(before, await writeRequests())).toEqual({});
    const sent = parseMetrics(await operator.metrics.registry.metrics()).filter(
      (s) => s.name === 'wso2_frontend_api_requests_total' && s.value > 0,
    );
    expect(sent.filter((s) => s.labels.method !== 'GET')).toEqual([]);
    expect(sent.find((s) => s.labels.method === 'GET' && s.labels.resource === 'wso2frontends')).toBeDefined();
  });

  function operatorWrites(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
    const byOperator: Record<string, number> = {};
    for (const [key, count] of after) {
      const written = count - (before.get(key) ?? 0);
      if (written > 0 && OPERATOR_WRITES.has(key.split(' ')[0]!)) byOperator[key] = written;
    }
    return byOperator;
  }
});
