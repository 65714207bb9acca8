// Leader election on a real Lease: of two candidates exactly one leads, a leader that shuts
// down hands over at once, a lease nobody renews is taken over only after the lease duration
// on the candidate's own clock, and a leader cut off from the API server steps down before the
// other candidate takes over.
import { createServer, connect, type Server, type Socket } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { LeaderElector, type LeaderElectionOptions } from '../../src/controller/runtime/leader.js';
import { createNamespace, eventually, kubeConfig } from '../support/cluster.js';
import { FakeClock } from './fake-clock.js';

const leaseDurationMs = 2000;

let namespace: string;
let leases: k8s.CoordinationV1Api;
const electors: LeaderElector[] = [];

beforeAll(async () => {
  namespace = await createNamespace('leader');
  leases = kubeConfig().makeApiClient(k8s.CoordinationV1Api);
});

afterEach(async () => {
  await Promise.all(electors.splice(0).map((elector) => elector.stop()));
});

/** A candidate that records when it started and stopped leading. */
function candidate(
  identity: string,
  leaseName: string,
  config: k8s.KubeConfig = kubeConfig(),
  overrides: Partial<LeaderElectionOptions> = {},
) {
  const events: Array<{ event: 'started' | 'stopped'; at: number }> = [];
  const options: LeaderElectionOptions = {
    kubeConfig: config,
    namespace,
    leaseName,
    identity,
    leaseDurationMs,
    retryPeriodMs: 200,
    onStartedLeading: () => events.push({ event: 'started', at: Date.now() }),
    onStoppedLeading: () => events.push({ event: 'stopped', at: Date.now() }),
    logger: () => undefined,
    ...overrides,
  };
  const elector = new LeaderElector(options);
  electors.push(elector);
  return { identity, elector, events };
}

/** A TCP relay to the API server that a test can cut, to partition one candidate from it. */
async function partitionableRelay(): Promise<{ config: k8s.KubeConfig; cut: () => void }> {
  const target = new URL(kubeConfig().getCurrentCluster()!.server);
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('the relay has no address');

  const base = kubeConfig();
  const config = new k8s.KubeConfig();
  config.loadFromOptions({
    clusters: base.getClusters().map((cluster) => ({ ...cluster, server: `https://127.0.0.1:${address.port}` })),
    users: base.getUsers(),
    contexts: base.getContexts(),
    currentContext: base.getCurrentContext(),
  });
  const cut = () => {
    server.close();
    for (const socket of sockets) socket.destroy();
  };
  return { config, cut };
}

async function holder(leaseName: string): Promise<k8s.V1LeaseSpec> {
  return (await leases.readNamespacedLease({ name: leaseName, namespace })).spec ?? {};
}

test('of two candidates on one lease exactly one leads, and the lease names it', async () => {
  // A lease long enough that a renewal slowed by a loaded machine never makes the leader step
  // down (it would after two thirds of the lease): this test is about one leader, not timing.
  const long = { leaseDurationMs: 30_000 };
  const a = candidate('replica-a', 'one-leader', kubeConfig(), long);
  const b = candidate('replica-b', 'one-leader', kubeConfig(), long);
  a.elector.start();
  b.elector.start();

  const leader = await eventually('a leader', () => [a, b].find((c) => c.elector.isLeader));
  // Several retry periods later, still exactly one.
  // client-node types renewTime as a Date but hands over the wire's string.
  const renewedAt = async () => Date.parse(String((await holder('one-leader')).renewTime));
  await eventually(
    'a few renewals',
    async () => ((await renewedAt()) > leader.events[0]!.at + 600 ? true : undefined),
    10_000,
  );

  expect([a, b].filter((c) => c.elector.isLeader).map((c) => c.identity)).toEqual([leader.identity]);
  expect([...a.events, ...b.events].map((e) => e.event)).toEqual(['started']);
  const spec = await holder('one-leader');
  expect(spec.holderIdentity).toBe(leader.identity);
  expect(spec.leaseDurationSeconds).toBe(30);
});

test('a leader that stops releases the lease and the other candidate takes over at once', async () => {
  // A lease far longer than the wait below: the other candidate can only lead because it was released.
  const long = { leaseDurationMs: 600_000 };
  const a = candidate('replica-a', 'handover', kubeConfig(), long);
  a.elector.start();
  await eventually('replica-a to lead', () => (a.elector.isLeader ? true : undefined));
  const b = candidate('replica-b', 'handover', kubeConfig(), long);
  b.elector.start();

  await a.elector.stop();

  expect(a.events.map((e) => e.event)).toEqual(['started', 'stopped']);
  await eventually('replica-b to lead', () => (b.elector.isLeader ? true : undefined), 10_000);
  const spec = await holder('handover');
  expect(spec.holderIdentity).toBe('replica-b');
  expect(spec.leaseTransitions).toBe(1);
});

test("a lease nobody renews is taken over once it went unchanged for the lease duration on the candidate's clock", async () => {
  const now = new k8s.V1MicroTime();
  await leases.createNamespacedLease({
    namespace,
    body: {
      metadata: { name: 'expiry', namespace },
      spec: { holderIdentity: 'gone', leaseDurationSeconds: 2, acquireTime: now, renewTime: now },
    },
  });
  const clock = new FakeClock();
  const retryPeriodMs = 500;
  const b = candidate('replica-b', 'expiry', kubeConfig(), { clock, retryPeriodMs });
  // An attempt is over when the only timer left is the wait for the next one.
  const attemptDone = () =>
    eventually('an attempt to finish', () => (clock.pendingDelays().join() === `${retryPeriodMs}` ? true : undefined));
  b.elector.start();

  // Seen first at 0: still held at 2000 (not more than the 2 s lease), taken at 2500.
  for (let elapsed = 0; elapsed <= 2000; elapsed += retryPeriodMs) {
    await attemptDone();
    expect(b.elector.isLeader).toBe(false);
    await clock.advance(retryPeriodMs);
  }
  await eventually('replica-b to lead', () => (b.elector.isLeader ? true : undefined));
  expect(clock.now()).toBe(2500);
  const spec = await holder('expiry');
  expect(spec.holderIdentity).toBe('replica-b');
  expect(spec.leaseTransitions).toBe(1);
});

test('a leader cut off from the API server steps down before the other candidate takes over', async () => {
  const relay = await partitionableRelay();
  const a = candidate('replica-a', 'partition', relay.config);
  a.elector.start();
  await eventually('replica-a to lead', () => (a.elector.isLeader ? true : undefined));
  const b = candidate('replica-b', 'partition');
  b.elector.start();

  relay.cut();

  await eventually('replica-b to lead', () => (b.elector.isLeader ? true : undefined), 10_000);
  const steppedDown = a.events.find((e) => e.event === 'stopped');
  expect(steppedDown).toBeDefined();
  expect(b.events[0]!.at).toBeGreaterThanOrEqual(steppedDown!.at);
  expect(a.elector.isLeader).toBe(false);
  expect((await holder('partition')).holderIdentity).toBe('replica-b');
});
