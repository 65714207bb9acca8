// The operator on the local control plane (kwok runs the NGINX pods): time from kubectl-style
// apply to Ready, one resource at a time; then a batch applied at once, the time until all are
// Ready, and the operator process's memory.
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import { readFileSync } from 'node:fs';
import { API_GROUP, API_VERSION, PLURAL, type Wso2Frontend } from '../src/api/schema.js';
import { createOperator } from '../src/cli/operator.js';
import { LocalControlPlane } from '../src/localcluster/control-plane.js';
import { renderCrd } from '../src/render/crd.js';
import { percentile } from './stats.js';

const SEQUENTIAL = Number(process.env.BENCH_OPERATOR_SEQUENTIAL ?? 20);
const BATCH = Number(process.env.BENCH_OPERATOR_BATCH ?? 100);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function benchOperator(): Promise<void> {
  const plane = await LocalControlPlane.start();
  try {
    const kubeConfig = plane.kubeConfig();
    const objects = k8s.KubernetesObjectApi.makeApiClient(kubeConfig);
    const apply = (o: k8s.KubernetesObject) => objects.patch(o, undefined, undefined, 'bench', true, k8s.PatchStrategy.ServerSideApply);
    await apply(renderCrd() as k8s.KubernetesObject);
    await sleep(2000);
    const custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    const template = yaml.load(readFileSync('examples/apim-active-active.yaml', 'utf8')) as Wso2Frontend;
    const frontend = (name: string): Wso2Frontend => ({ ...template, metadata: { name, namespace: 'default' }, spec: { ...template.spec, nginx: { replicas: 1 } } });
    const isReady = async (name: string) => {
      const f = (await custom.getNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace: 'default', plural: PLURAL, name })) as Wso2Frontend;
      return f.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    };
    const originalWrite = process.stderr.write.bind(process.stderr);
    process.stderr.write = (() => true) as typeof process.stderr.write; // the operator's JSON logs
    const { controller } = createOperator({ kubeConfig, resyncPeriodMs: 600_000 });
    await controller.start();

    const latencies: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const started = Date.now();
      await apply(frontend(`seq-${i}`) as unknown as k8s.KubernetesObject);
      while (!(await isReady(`seq-${i}`))) await sleep(25);
      latencies.push(Date.now() - started);
    }
    latencies.sort((a, b) => a - b);

    const rssBefore = process.memoryUsage().rss;
    const started = Date.now();
    for (let i = 0; i < BATCH; i++) await apply(frontend(`batch-${i}`) as unknown as k8s.KubernetesObject);
    const pending = new Set(Array.from({ length: BATCH }, (_, i) => `batch-${i}`));
    let peakRss = rssBefore;
    while (pending.size && Date.now() - started < 600_000) {
      for (const name of [...pending]) if (await isReady(name)) pending.delete(name);
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      await sleep(500);
    }
    const batchSeconds = (Date.now() - started) / 1000;
    await controller.stop();
    process.stderr.write = originalWrite;
    console.log(`\nOperator on the local control plane (apim-active-active, 1 NGINX replica each, self-signed certificates):`);
    console.log(`  apply -> Ready, ${SEQUENTIAL} resources one by one: p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms`);
    console.log(`  ${BATCH} resources applied at once: ${BATCH - pending.size} Ready after ${batchSeconds.toFixed(1)} s; operator process RSS peak ${(peakRss / 2 ** 20).toFixed(0)} MB (it shares the process with this benchmark)`);
  } finally {
    await plane.stop();
  }
}
