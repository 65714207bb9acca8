// The real node (src/localcluster/real-cluster.ts: containerd, the kubelet and kube-proxy on this
// machine, the project's NGINX image and the WSO2 stand-ins): node start to Ready; apply -> Ready
// of IS 7's managed example on real pods; HSTS max-age changes -> the new header served through
// the NGINX Service and by every NGINX pod, with constant load through the Service counting failed
// requests; the node components' CPU and RSS, idle and during the run. Needs root and one real
// node at a time; it stops the cluster and fails if the node left anything on the machine.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Wso2Frontend } from '../src/api/schema.js';
import { createOperator } from '../src/controller/setup.js';
import { onRealNode, startRealCluster, type RealCluster } from '../src/localcluster/real-cluster.js';
import { NGINX_CONTAINER_PORTS, nginxName } from '../src/render/objects.js';
import { createNamespace, kubectl } from '../test/support/cluster.js';
import { constantLoad, core, request, type Target } from '../test/support/real-pods.js';
import {
  conditionOf,
  example,
  installCrd,
  patchSpec,
  provideTlsSecrets,
  readFrontend,
  sitesOf,
} from '../test/support/resources.js';
import { cpuSecondsOf, memoryOf } from './process-stats.js';
import { percentile } from './stats.js';

const NAME = 'identity-7';
const APPLY_RUNS = Number(process.env.BENCH_REALNODE_APPLY_RUNS ?? 5);
const CHANGES = Number(process.env.BENCH_REALNODE_CHANGES ?? 20);
const COMPONENTS = ['containerd', 'kubelet', 'kube-proxy'] as const;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const millis = (ms: number) => `${Math.round(ms)} ms`;

/** p50 and p99 of the samples; with fewer than 100 the p99 is the maximum, and says so. */
function spread(samples: number[], unit: (ms: number) => string): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const p99 = sorted.length < 100 ? `p99 (= max, n=${sorted.length}) ` : 'p99 ';
  return `p50 ${unit(percentile(sorted, 50))}, ${p99}${unit(percentile(sorted, 99))}`;
}

/** CPU seconds and RSS of the node's components, read from /proc. */
function componentUsage(
  cluster: RealCluster,
): Map<string, { pid: number; cpu: number; rssMb: number; peakMb: number }> {
  const pids = cluster.plane.pids();
  return new Map(
    COMPONENTS.map((name) => {
      const pid = pids[name];
      if (!pid) throw new Error(`the real node has no ${name} process`);
      return [name, { pid, cpu: cpuSecondsOf(pid), ...memoryOf(pid) }];
    }),
  );
}

function printUsage(
  what: string,
  before: ReturnType<typeof componentUsage>,
  after: ReturnType<typeof componentUsage>,
  wallMs: number,
): void {
  console.log(`  node components, ${what} (${seconds(wallMs)}; CPU in % of one core, RSS now / peak):`);
  for (const name of COMPONENTS) {
    const a = before.get(name)!;
    const b = after.get(name)!;
    const percent = ((b.cpu - a.cpu) / (wallMs / 1000)) * 100;
    console.log(
      `    ${name.padEnd(11)} CPU ${percent.toFixed(1).padStart(5)} %   RSS ${b.rssMb.toFixed(0)} MB / ${b.peakMb.toFixed(0)} MB`,
    );
  }
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, everyMs = 50) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

async function isReady(namespace: string): Promise<true | undefined> {
  return conditionOf(await readFrontend(namespace, NAME), 'Ready')?.status === 'True' ? true : undefined;
}

async function nginxPods(namespace: string): Promise<{ uid: string; ip: string; restarts: number }[]> {
  const pods = await core().listNamespacedPod({
    namespace,
    labelSelector: `app.kubernetes.io/instance=${NAME},app.kubernetes.io/component=nginx`,
  });
  return pods.items
    .filter((p) => !p.metadata?.deletionTimestamp)
    .map((p) => ({
      uid: p.metadata!.uid!,
      ip: p.status?.podIP ?? '',
      restarts: (p.status?.containerStatuses ?? []).reduce((sum, c) => sum + c.restartCount, 0),
    }))
    .sort((a, b) => a.uid.localeCompare(b.uid));
}

/** Whether one new HTTPS connection to `target` is answered with HSTS max-age `maxAge`. */
async function serves(target: Target, maxAge: number): Promise<boolean> {
  try {
    const { headers } = await request(target, false);
    return headers['strict-transport-security'] === `max-age=${maxAge}`;
  } catch {
    return false;
  }
}

export async function benchRealNode(): Promise<void> {
  console.log('\nReal node (containerd, kubelet, kube-proxy on this machine; IS 7 managed example on real pods):');
  const startedAt = performance.now();
  const cluster = await startRealCluster();
  let failure: Error | undefined;
  let stopOperator: (() => Promise<void>) | undefined;
  try {
    console.log(
      `  node start (containerd started) to node Ready: ${seconds(cluster.plane.realNode!.startToReadyMs!)} (polled every 200 ms)`,
    );
    console.log(
      `  startRealCluster in all (control plane, node, images built or found in the cache, pushed to the local registry): ${seconds(performance.now() - startedAt)}`,
    );
    // The test helpers (kubectl, the API clients) read the cluster from KUBECONFIG.
    process.env.KUBECONFIG = cluster.plane.kubeconfigPath;
    await installCrd();
    const { controller } = createOperator({
      kubeConfig: cluster.plane.kubeConfig(),
      resyncPeriodMs: 600_000,
      logger: () => {},
    });
    await controller.start();
    stopOperator = () => controller.stop();

    const idleBefore = componentUsage(cluster);
    const idleFrom = performance.now();
    await sleep(15_000);
    printUsage('idle, no pods', idleBefore, componentUsage(cluster), performance.now() - idleFrom);

    const runBefore = componentUsage(cluster);
    const runFrom = performance.now();
    const base = example('is-7-managed.yaml');
    const applyMs: number[] = [];
    const deleted: { namespace: string; at: number }[] = [];
    let namespace = '';
    let resource: Wso2Frontend | undefined;
    for (let run = 0; run < APPLY_RUNS; run++) {
      namespace = await createNamespace('bench-realnode');
      resource = onRealNode({ ...base, metadata: { ...base.metadata, namespace } }, cluster.images);
      resource.spec.backends.managed!.components!.worker!.replicas = 2;
      resource.spec.nginx = { ...resource.spec.nginx, service: { type: 'ClusterIP' } };
      await provideTlsSecrets(resource, namespace);
      const applied = performance.now();
      await kubectl(['apply', '--server-side', '-n', namespace, '-f', '-'], JSON.stringify(resource));
      await until('Ready', () => isReady(namespace), 300_000, 100);
      applyMs.push(performance.now() - applied);
      console.log(`    apply -> Ready, run ${run + 1}: ${seconds(applyMs.at(-1)!)}`);
      if (run < APPLY_RUNS - 1) {
        // Not waited for: a namespace with this frontend took over 300 s to go (NGINX's grace
        // period is the read timeout + 30 s); what is left of them is printed at the end.
        await kubectl(['delete', 'namespace', namespace, '--wait=false']);
        deleted.push({ namespace, at: performance.now() });
      }
    }
    console.log(
      `  apply -> Ready (IS 7 is-pattern-1: 2 WSO2 stand-in workers, 2 NGINX pods, polled every 100 ms): ${spread(applyMs, seconds)}`,
    );

    const service = await core().readNamespacedService({ name: nginxName(resource!), namespace });
    const siteHost = (name: string) => sitesOf(resource!).find((s) => s.name === name)!.host;
    // The load on the identity site (it answers 200); the change seen on the management site,
    // which sends HSTS (the identity site also serves plain HTTP, so it does not).
    const host = siteHost('management');
    const viaService: Target = { address: service.spec!.clusterIP!, port: 443, host };
    const podsBefore = await nginxPods(namespace);
    const https = NGINX_CONTAINER_PORTS.find((p) => p.name === 'https')!.containerPort;
    const toPods: Target[] = podsBefore.map((p) => ({ address: p.ip, port: https, host }));
    const firstMs: number[] = [];
    const everyPodMs: number[] = [];
    const load = constantLoad({ ...viaService, host: siteHost('identity') });
    try {
      for (let change = 1; change <= CHANGES; change++) {
        const maxAge = 1000 + change;
        // The clock starts once the API server has the change (kubectl patch returned).
        await patchSpec(namespace, NAME, { nginx: { hsts: { maxAgeSeconds: maxAge } } });
        const changed = performance.now();
        let first: number | undefined;
        let lastPod: number | undefined;
        const pending = new Set(toPods);
        const servedAt = async (target: Target) =>
          (await serves(target, maxAge)) ? performance.now() - changed : undefined;
        const all = await until(
          `max-age=${maxAge} served`,
          async () => {
            const [service, ...pods] = await Promise.all([
              first === undefined ? servedAt(viaService) : Promise.resolve(undefined),
              ...[...pending].map(async (pod) => ({ pod, at: await servedAt(pod) })),
            ]);
            first ??= service;
            for (const { pod, at } of pods) {
              if (at === undefined) continue;
              pending.delete(pod);
              lastPod = Math.max(lastPod ?? 0, at);
            }
            return first !== undefined && pending.size === 0 ? lastPod : undefined;
          },
          60_000,
          20,
        );
        everyPodMs.push(all);
        firstMs.push(first!);
      }
    } finally {
      const counts = await load.stop();
      const errors = [...counts.errors].map(([message, n]) => `${n} x ${message}`).join(', ');
      console.log(
        `  failed requests across the ${firstMs.length} reloads, constant load through the Service (4 keep-alive clients, 2 opening a connection per request): ${counts.failed} of ${counts.ok + counts.failed} (target 0)${errors ? `: ${errors}` : ''}`,
      );
    }
    console.log(
      `  HSTS max-age change -> first response with it through the Service (new connections every 20 ms): ${spread(firstMs, millis)} (target p50 <= 500 ms, p99 <= 1.5 s)`,
    );
    console.log(
      `  the same change -> served by every NGINX pod (${toPods.length}, each asked directly): ${spread(everyPodMs, millis)} (target p50 <= 500 ms, p99 <= 1.5 s)`,
    );
    for (const gone of deleted) {
      const pods = await core().listNamespacedPod({ namespace: gone.namespace });
      const left = pods.items.map((p) => `${p.metadata!.name} (${p.status?.phase})`);
      console.log(
        `    namespace deleted ${seconds(performance.now() - gone.at)} ago: ${left.length ? `${left.length} pods left: ${left.join(', ')}` : 'no pods left'}`,
      );
    }
    const podsAfter = await nginxPods(namespace);
    const inPlace =
      JSON.stringify(podsAfter.map((p) => p.uid)) === JSON.stringify(podsBefore.map((p) => p.uid)) &&
      podsAfter.every((p) => p.restarts === 0);
    console.log(
      `  served in place: ${inPlace ? 'yes' : 'NO'} (NGINX pods ${podsBefore.length} before, ${podsAfter.length} after, same UIDs, restartCount ${podsAfter.map((p) => p.restarts).join(', ')})`,
    );
    printUsage('during the applies and reloads', runBefore, componentUsage(cluster), performance.now() - runFrom);
    if (!inPlace) throw new Error('the NGINX pods were replaced or restarted by the changes');
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
  } finally {
    await stopOperator?.();
    await cluster.stop();
  }
  const leftovers = cluster.plane.realNode!.leftovers();
  console.log(`  left on the machine after stop: ${leftovers.length ? leftovers.join('; ') : 'nothing'}`);
  if (failure) throw failure;
  if (leftovers.length) throw new Error(`the real node left this behind:\n  ${leftovers.join('\n  ')}`);
}
