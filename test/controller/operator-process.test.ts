// The `wso2-frontend operator` command as child processes against the real control plane, run
// as the replicas of its Deployment run it: with leader election exactly one replica
// reconciles, a killed leader's Lease is taken over once it has expired, and a leader stopped
// with SIGTERM hands over at once.
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { createNamespace, eventually, kubeConfig, kubectl } from '../support/cluster.js';
import { OperatorProcess } from '../support/operator-process.js';
import { sumOf, type Sample } from '../support/prometheus.js';
import { example, installCrd } from '../support/resources.js';

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

async function frontend(namespace: string): Promise<Wso2Frontend> {
  return JSON.parse(await kubectl(['get', 'wso2frontend', NAME, '-n', namespace, '-o', 'json'])) as Wso2Frontend;
}

const isReady = (f: Wso2Frontend) => f.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' && f.status.observedGeneration === f.metadata.generation;

async function lease(namespace: string): Promise<k8s.V1LeaseSpec> {
  return (await kubeConfig().makeApiClient(k8s.CoordinationV1Api).readNamespacedLease({ name: LEASE, namespace })).spec ?? {};
}

/** Events about the frontend that the operator recorded. */
async function operatorEvents(namespace: string): Promise<k8s.EventsV1Event[]> {
  const events = await kubeConfig().makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace });
  return events.items.filter((e) => e.reportingController === 'wso2-frontend.dev/operator' && e.regarding?.name === NAME);
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
    const replica = await OperatorProcess.start(['--namespace', namespace, '--health-port', '0', '--leader-elect', '--lease-namespace', namespace]);
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
    const holder = await eventually('a holder of the Lease', async () => (await lease(namespace)).holderIdentity || undefined);
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
    const reporters = (await operatorEvents(namespace)).map((e) => e.reportingInstance);
    expect(reporters).not.toHaveLength(0);
    expect(new Set(reporters)).toEqual(new Set([leader.identity]));
  });

  test('when the leader is killed, the standby takes the Lease once it has expired and reconciles the next change', async () => {
    // client-node hands MicroTime fields over as strings, whatever their type says.
    const lastRenewal = new Date((await lease(namespace)).renewTime!).getTime();
    const killedAt = Date.now();
    leader.kill('SIGKILL');
    await leader.exited;
    await eventually('the standby to hold the Lease', async () => ((await lease(namespace)).holderIdentity === standby.identity ? true : undefined), 30_000);
    const takenAt = Date.now();
    // Never before the lease has expired; at the latest one retry after the standby saw the
    // last renewal, plus the retry that acquires it (and some slack for a busy machine).
    expect(takenAt - lastRenewal).toBeGreaterThanOrEqual(LEASE_DURATION_MS);
    expect(takenAt - killedAt).toBeLessThan(LEASE_DURATION_MS + 2 * RETRY_PERIOD_MS + 5_000);

    await kubectl(['patch', 'wso2frontend', NAME, '-n', namespace, '--type=merge', '-p', JSON.stringify({ spec: { sites: { gateway: { host: 'api.example.com' } } } })]);
    const changed = await eventually('Ready with the new host', async () => {
      const f = await frontend(namespace);
      return isReady(f) && f.status?.urls?.includes('https://api.example.com/') ? f : undefined;
    });
    const update = await eventually('an Event of the new configuration', async () =>
      (await operatorEvents(namespace)).find((e) => e.reason === 'ConfigurationUpdated' && e.note?.includes(changed.status!.configHash!)),
    );
    expect(update.reportingInstance).toBe(standby.identity);
    expect(reconciles(await standby.metrics())).toBeGreaterThan(0);
  });

  test('a leader stopped with SIGTERM releases the Lease at once and exits 0', async () => {
    const leading = standby; // since the previous test
    const successor = await startReplica();
    const stoppedAt = Date.now();
    leading.kill('SIGTERM');
    expect(await leading.exited).toEqual({ code: 0, signal: null });
    expect(['', undefined, successor.identity]).toContain((await lease(namespace)).holderIdentity);
    await eventually('the new replica to hold the Lease', async () => ((await lease(namespace)).holderIdentity === successor.identity ? true : undefined), 30_000);
    // A lease left to expire would take at least 13 s (15 s from its last renewal).
    expect(Date.now() - stoppedAt).toBeLessThan(8_000);
  });
});
