// The operator on the local control plane (kwok runs the NGINX pods), run as its own process
// with the real command, so its memory is its own: time from apply to Ready one resource at a
// time; then batches applied at once, the time until all are Ready and the operator's RSS; then
// the API server's write requests during resyncs of resources that did not change.
import { setTimeout as sleep } from 'node:timers/promises';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import { API_GROUP, API_VERSION, PLURAL, type Wso2Frontend } from '../src/api/schema.js';
import { LocalControlPlane, packageRoot } from '../src/localcluster/control-plane.js';
import { installCrd } from '../src/cli/start.js';
import { RawApplyApi } from '../src/controller/runtime/apply.js';
import { buildTopology } from '../src/model/topology.js';
import { validateSpec } from '../src/model/validate.js';
import { agentAccess } from '../src/render/agent.js';
import { caSecretName, certificateSecret, certificateSecretName, desiredObjects } from '../src/render/objects.js';
import { productConfigMap, wso2Access, wso2Workloads } from '../src/render/workloads.js';
import { caSecretData, issueCa, issueServerCertificate, tlsSecretData } from '../src/tls/issuer.js';
import type { KeySpec } from '../src/tls/x509.js';
import { cpuSecondsOf, heapAfterGcMb, memoryOf } from './process-stats.js';
import type { OperatorFigures } from './results.js';
import { percentile } from './stats.js';

const SEQUENTIAL = Number(process.env.BENCH_OPERATOR_SEQUENTIAL ?? 20);
const BATCHES = (process.env.BENCH_OPERATOR_BATCHES ?? '100,1000').split(',').map(Number);
const RESYNC_SECONDS = 10;
/** The key algorithms the batches are run with, each in its own namespace (RSA-2048 is the default); BENCH_OPERATOR_KEYS=ECDSA-256 runs one. */
const KEYS: KeySpec[] = (process.env.BENCH_OPERATOR_KEYS ?? 'RSA-2048,ECDSA-256').split(',').map((key) => {
  const [algorithm, size] = key.split('-');
  return { algorithm, size: Number(size) } as KeySpec;
});
const APPLY_CONCURRENCY = 16;
const run = promisify(execFile);

/** The API server's requests so far (writes only, or all), by resource, from apiserver_request_total. */
async function requestsByResource(kubeconfig: string, writesOnly = true): Promise<Map<string, number>> {
  const { stdout } = await run('kubectl', ['--kubeconfig', kubeconfig, 'get', '--raw', '/metrics'], {
    maxBuffer: 256 * 2 ** 20,
  });
  const writes = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const verb = /verb="([A-Z]+)"/.exec(line)?.[1] ?? '';
    if (writesOnly && !['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE', 'DELETECOLLECTION'].includes(verb)) continue;
    const resource = /resource="([^"]*)"/.exec(line)?.[1] ?? '';
    const subresource = /subresource="([^"]*)"/.exec(line)?.[1];
    const key = `${subresource ? `${resource}/${subresource}` : resource}${writesOnly ? '' : ` ${verb}`}`;
    writes.set(key, (writes.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return writes;
}

/**
 * The V8 flags the operator runs with in a cluster: the image's entrypoint (Dockerfile) and
 * NODE_OPTIONS in deploy/base/operator.yaml (BENCH_OPERATOR_NODE_FLAGS to try others).
 */
export const OPERATOR_NODE_FLAGS = (
  process.env.BENCH_OPERATOR_NODE_FLAGS ?? '--max-semi-space-size=2 --max-old-space-size=128'
).split(' ');

function startOperatorProcess(kubeconfig: string): { child: ChildProcess; healthPort: Promise<number> } {
  const child = spawn(
    process.execPath,
    [
      ...OPERATOR_NODE_FLAGS,
      // Only so that SIGUSR2 can ask for a full GC before the heap is read (heapAfterGc).
      '--expose-gc',
      fileURLToPath(new URL('../src/cli/main.js', import.meta.url)),
      'operator',
      '--health-port',
      '0',
      '--resync-minutes',
      String(RESYNC_SECONDS / 60),
    ],
    { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  if (process.env.BENCH_OPERATOR_LOG) child.stderr.pipe(createWriteStream(process.env.BENCH_OPERATOR_LOG));
  let tail = '';
  let reportPort: (port: number) => void;
  const healthPort = new Promise<number>((resolve) => (reportPort = resolve));
  child.stderr.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-4000);
    const port = /"message":"operator started".*"healthPort":(\d+)/.exec(tail)?.[1];
    if (port) reportPort(Number(port));
  });
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM')
      process.stderr.write(`operator exited (${code ?? signal}); last output:\n${tail}\n`);
  });
  return { child, healthPort };
}

/** Heap and external memory of the operator from its own /metrics (prom-client's Node metrics), in MB. */
async function operatorHeap(port: number): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const value = (name: string) =>
    Number(new RegExp(`^wso2_frontend_${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;
  return `V8 heap used ${value('nodejs_heap_size_used_bytes').toFixed(0)} MB of ${value('nodejs_heap_size_total_bytes').toFixed(0)}, external ${value('nodejs_external_memory_bytes').toFixed(0)} MB`;
}

/** The V8 heap in use after a full GC, as printed. */
async function heapAfterGc(pid: number, port: number): Promise<string> {
  const mb = await heapAfterGcMb(pid, port);
  return mb === undefined ? 'not reported' : `${mb.toFixed(1)} MB`;
}

/** Write requests the operator itself counted (wso2_frontend_api_requests_total), by "resource VERB"; its Lease excluded. */
async function operatorWrites(port: number): Promise<[string, number][]> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return [...text.matchAll(/^wso2_frontend_api_requests_total\{method="([A-Z]+)",resource="([^"]*)"\} (\S+)$/gm)]
    .filter(([, method, resource]) => method !== 'GET' && resource !== 'leases')
    .map(([, method, resource, n]) => [`${resource} ${method}`, Number(n)] as [string, number])
    .filter(([, n]) => n > 0);
}

/** Reconciles the operator has completed (every result), from its /metrics. */
async function operatorReconciles(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return [...text.matchAll(/^wso2_frontend_reconcile_total\{[^}]*\} (\S+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

const writeCount = (before: Map<string, number>, after: Map<string, number>) =>
  [...after]
    .map(([resource, n]) => [resource, n - (before.get(resource) ?? 0)] as const)
    .filter(([resource, n]) => n > 0 && resource !== 'leases');

export async function benchOperator(): Promise<OperatorFigures> {
  const plane = await LocalControlPlane.start();
  let operator: ChildProcess | undefined;
  const figures: OperatorFigures = { batches: [] };
  try {
    const kubeConfig = plane.kubeConfig();
    const objects = RawApplyApi.fromKubeConfig(kubeConfig);
    const apply = (o: object) => objects.apply(o, 'bench');
    await installCrd(kubeConfig, 'bench');
    const custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
    const template = yaml.load(
      readFileSync(join(packageRoot(), 'examples', 'apim-active-active.yaml'), 'utf8'),
    ) as Wso2Frontend;
    // ClusterIP Services: a thousand LoadBalancer Services would need 3000 node ports (two
    // ports and a health-check port each), more than the 2768 of the default range.
    const frontend = (namespace: string, name: string, key?: KeySpec): Wso2Frontend => ({
      ...template,
      metadata: { name, namespace },
      spec: {
        ...template.spec,
        nginx: { replicas: 1, service: { type: 'ClusterIP' } },
        ...(key ? { tls: { privateKey: key } } : {}),
      },
    });
    const apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
    const events = kubeConfig.makeApiClient(k8s.EventsV1Api);

    // Baseline: the objects the operator would create (rendered offline, with certificates made
    // beforehand), applied straight with server-side apply at the same concurrency, until every
    // NGINX Deployment is available. Run before the operator starts, in namespaces deleted after.
    const now = new Date();
    const ca = issueCa('bench CA', { now });
    const leaf = issueServerCertificate(ca, ['api.am.wso2.com', 'gw.am.wso2.com'], { now });
    const baselineSeconds = new Map<number, number>();
    for (const size of BATCHES) {
      const namespace = `baseline-${size}`;
      await core.createNamespace({ body: { metadata: { name: namespace } } });
      const objectsOf = (name: string) => {
        const f = frontend(namespace, name);
        const valid = validateSpec(f.spec);
        if (!valid.ok) throw new Error(`the bench frontend is not valid: ${JSON.stringify(valid.problems)}`);
        const topology = buildTopology(valid.spec);
        const secrets = [
          certificateSecret(f, caSecretName(f), caSecretData(ca)),
          ...topology.certificates.map((c) =>
            certificateSecret(f, certificateSecretName(f, c.name), tlsSecretData(leaf, ca)),
          ),
        ];
        return [
          ...secrets,
          ...agentAccess(f, topology),
          ...desiredObjects(f, topology),
          productConfigMap(f, topology),
          ...wso2Access(f, topology),
          ...wso2Workloads(f, topology),
        ];
      };
      const started = Date.now();
      let next = 0;
      const applier = async () => {
        while (next < size) for (const o of objectsOf(`f-${next++}`)) await apply(o);
      };
      await Promise.all(Array.from({ length: APPLY_CONCURRENCY }, applier));
      for (;;) {
        const list = await apps.listNamespacedDeployment({ namespace });
        const available = list.items.filter(
          (d) => d.metadata!.name!.endsWith('-nginx') && (d.status?.availableReplicas ?? 0) >= (d.spec?.replicas ?? 1),
        ).length;
        if (available >= size) break;
        await sleep(500);
      }
      baselineSeconds.set(size, (Date.now() - started) / 1000);
      await core.deleteNamespace({ name: namespace });
      while ((await core.listNamespace()).items.some((n) => n.metadata?.name === namespace)) await sleep(1000);
    }
    const isReady = (f: Wso2Frontend) =>
      f.status?.conditions?.some(
        (c) => c.type === 'Ready' && c.status === 'True' && c.observedGeneration === f.metadata.generation,
      ) ?? false;
    const readyIn = async (namespace: string): Promise<Set<string>> => {
      const list = (await custom.listNamespacedCustomObject({
        group: API_GROUP,
        version: API_VERSION,
        namespace,
        plural: PLURAL,
      })) as { items: Wso2Frontend[] };
      return new Set(list.items.filter(isReady).map((f) => f.metadata.name));
    };

    const started = startOperatorProcess(plane.kubeconfigPath);
    operator = started.child;
    const pid = operator.pid!;
    const healthPort = await started.healthPort;
    const processes = { operator: pid, ...plane.pids() } as Record<string, number | undefined>;
    const cpu = () =>
      Object.fromEntries(
        Object.entries(processes)
          .filter(([, p]) => p)
          .map(([name, p]) => [name, cpuSecondsOf(p!)]),
      );

    const heapAtStart = await heapAfterGc(pid, healthPort);
    await core.createNamespace({ body: { metadata: { name: 'bench-sequential' } } });
    const latencies: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const started = Date.now();
      await apply(frontend('bench-sequential', `seq-${i}`));
      for (;;) {
        const f = (await custom.getNamespacedCustomObject({
          group: API_GROUP,
          version: API_VERSION,
          namespace: 'bench-sequential',
          plural: PLURAL,
          name: `seq-${i}`,
        })) as Wso2Frontend;
        if (isReady(f)) break;
        await sleep(20);
      }
      latencies.push(Date.now() - started);
    }
    latencies.sort((a, b) => a - b);
    console.log(
      `\nOperator (its own process) on the local control plane; apim-active-active with 1 NGINX replica and a ClusterIP Service, self-signed RSA-2048 certificates unless said:`,
    );
    console.log(
      `  apply -> Ready, ${SEQUENTIAL} resources one by one: p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms`,
    );
    console.log(`  V8 heap after a full GC with 0 resources: ${heapAtStart}`);
    let frontends = SEQUENTIAL;

    for (const size of BATCHES) {
      const cpuPerFrontend: string[] = [];
      for (const key of KEYS) {
        const namespace = `bench-${size}-${key.algorithm.toLowerCase()}`;
        await core.createNamespace({ body: { metadata: { name: namespace } } });
        const cpuBefore = cpu();
        const requestsBefore = await requestsByResource(plane.kubeconfigPath, false);
        const started = Date.now();
        let peakMb = 0;
        const sampler = setInterval(() => (peakMb = Math.max(peakMb, memoryOf(pid).rssMb)), 250);
        const names = Array.from({ length: size }, (_, i) => `f-${i}`);
        let next = 0;
        const applier = async () => {
          while (next < names.length) await apply(frontend(namespace, names[next++]!, key));
        };
        await Promise.all(Array.from({ length: APPLY_CONCURRENCY }, applier));
        const appliedSeconds = (Date.now() - started) / 1000;
        let ready = new Set<string>();
        while (ready.size < size && Date.now() - started < 900_000) {
          await sleep(500);
          ready = await readyIn(namespace);
        }
        const seconds = (Date.now() - started) / 1000;
        clearInterval(sampler);
        const cpuAfter = cpu();
        const requestsAfter = await requestsByResource(plane.kubeconfigPath, false);
        const perFrontend = [...requestsAfter]
          .map(([k, n]) => [k, (n - (requestsBefore.get(k) ?? 0)) / size] as const)
          .filter(([, n]) => n >= 0.5)
          .sort((a, b) => b[1] - a[1]);
        const used = Object.entries(cpuAfter)
          .map(([name, s]) => [name, s - (cpuBefore[name] ?? 0)] as const)
          .sort((a, b) => b[1] - a[1]);
        const operatorCpuMs = ((cpuAfter.operator! - cpuBefore.operator!) * 1000) / size;
        cpuPerFrontend.push(`${key.algorithm}-${key.size} ${operatorCpuMs.toFixed(1)} ms`);
        const recorded = (await events.listNamespacedEvent({ namespace })).items.filter(
          (e) => e.regarding?.kind === 'Wso2Frontend',
        );
        const reasons = new Map<string, number>();
        for (const e of recorded) reasons.set(e.reason ?? '', (reasons.get(e.reason ?? '') ?? 0) + 1);
        const baseline = baselineSeconds.get(size);
        figures.batches.push({
          frontends: size,
          keys: `${key.algorithm}-${key.size}`,
          seconds: Number(seconds.toFixed(1)),
          baselineSeconds: baseline === undefined ? null : Number(baseline.toFixed(1)),
        });
        console.log(
          `  ${size} resources, ${key.algorithm}-${key.size} keys, applied at once (${APPLY_CONCURRENCY} at a time, all applied after ${appliedSeconds.toFixed(1)} s): ${ready.size} Ready after ${seconds.toFixed(1)} s${baseline ? ` (baseline ${baseline.toFixed(1)} s, ratio ${(seconds / baseline).toFixed(2)})` : ''}; operator RSS peak ${peakMb.toFixed(0)} MB, ${memoryOf(pid).rssMb.toFixed(0)} MB now (${await operatorHeap(healthPort)})`,
        );
        console.log(
          `    operator CPU per frontend ${operatorCpuMs.toFixed(1)} ms; Events per frontend ${(recorded.length / size).toFixed(2)} (${[...reasons].map(([r, n]) => `${r} ${n}`).join(', ')})`,
        );
        console.log(
          `    API requests per resource, by everyone: ${perFrontend.map(([k, n]) => `${k} ${n.toFixed(1)}`).join(', ')}`,
        );
        console.log(
          `    CPU seconds meanwhile (2 cores: ${(2 * seconds).toFixed(0)} available): ${used.map(([name, s]) => `${name} ${s.toFixed(1)}`).join(', ')}`,
        );
      }
      console.log(`  operator CPU per frontend, first reconcile to Ready (${size}): ${cpuPerFrontend.join(', ')}`);
      frontends += size * KEYS.length;
      console.log(
        `  V8 heap after a full GC with ${frontends} resources (every batch so far): ${await heapAfterGc(pid, healthPort)}; RSS ${memoryOf(pid).rssMb.toFixed(0)} MB`,
      );
    }

    // Settled: count write requests over two resyncs of everything (the nodes' and leader leases excluded).
    await sleep(RESYNC_SECONDS * 1000);
    const total = SEQUENTIAL + BATCHES.reduce((a, b) => a + b, 0) * KEYS.length;
    const before = await requestsByResource(plane.kubeconfigPath);
    await sleep(2 * RESYNC_SECONDS * 1000 + 2000);
    const after = await requestsByResource(plane.kubeconfigPath);
    const delta = writeCount(before, after);
    const writes = delta.reduce((sum, [, n]) => sum + n, 0);
    console.log(
      `  two resyncs of ${total} unchanged resources (every ${RESYNC_SECONDS} s): ${writes} write requests to the API server${delta.length ? ` (${delta.map(([r, n]) => `${r}: ${n}`).join(', ')})` : ''}; operator RSS ${memoryOf(pid).rssMb.toFixed(0)} MB`,
    );

    // Restart over the settled resources: every one re-verified (a reconcile each), no write.
    const stopped = new Promise((resolve) => operator!.once('exit', resolve));
    operator.kill('SIGTERM');
    await stopped;
    const beforeRestart = await requestsByResource(plane.kubeconfigPath);
    const restartedAt = Date.now();
    const restarted = startOperatorProcess(plane.kubeconfigPath);
    operator = restarted.child;
    const restartPort = await restarted.healthPort;
    while ((await operatorReconciles(restartPort)) < total && Date.now() - restartedAt < 300_000) await sleep(200);
    const verifiedSeconds = (Date.now() - restartedAt) / 1000;
    const reconciled = await operatorReconciles(restartPort);
    const restartWrites = writeCount(beforeRestart, await requestsByResource(plane.kubeconfigPath));
    const sentByOperator = await operatorWrites(restartPort);
    console.log(
      `  restart over ${total} settled resources: ${reconciled} reconciles done after ${verifiedSeconds.toFixed(1)} s (process start included), ${restartWrites.reduce((sum, [, n]) => sum + n, 0)} write requests to the API server by anyone${restartWrites.length ? ` (${restartWrites.map(([r, n]) => `${r}: ${n}`).join(', ')})` : ''}, ${sentByOperator.reduce((sum, [, n]) => sum + n, 0)} sent by the operator (its own count, its Lease excluded)${sentByOperator.length ? ` (${sentByOperator.map(([r, n]) => `${r}: ${n}`).join(', ')})` : ''}`,
    );
  } finally {
    operator?.kill('SIGTERM');
    await plane.stop();
  }
  return figures;
}
