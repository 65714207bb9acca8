// npm run soak: issue 17's fault 2 for a long time. The real operator process on a private local
// control plane with a batch of frontends, a writer changing one of them every second or so, and
// repeated faults with quiet gaps between: kube-apiserver stopped for 30 s (etcd restarted
// meanwhile), etcd restarted, kube-apiserver restarted at once, in turn. Printed per cycle and in
// total: the operator's API requests during each fault (its own wso2_frontend_api_requests_total),
// the seconds until every frontend converged after it, lost changes, CA and server certificate
// changes, Ready flips of frontends nobody changed, and the operator's RSS and heap after a full
// GC (a leak shows as growth across cycles). Exits 1 when an invariant breaks.
//
// SOAK_MINUTES (10), SOAK_FRONTENDS (20), SOAK_CHANGING (a quarter of them: the writer changes
// only these), SOAK_CHANGE_SECONDS (1), SOAK_OUTAGE_SECONDS (30), SOAK_GAP_SECONDS (20),
// SOAK_MAX_FAULT_RATE (requests/s during a fault above which it counts as a hot loop: 20).
import { X509Certificate } from 'node:crypto';
import { loadavg } from 'node:os';
import * as k8s from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, PLURAL, type Wso2Frontend } from '../src/api/schema.js';
import { LocalControlPlane } from '../src/localcluster/control-plane.js';
import { LABEL, NGINX_COMPONENT } from '../src/render/ownership.js';
import { createNamespace, kubeConfig, kubectl, sleep, watchEveryVersion } from '../test/support/cluster.js';
import { OperatorProcess } from '../test/support/operator-process.js';
import { sumOf } from '../test/support/prometheus.js';
import {
  apimFrontendManifest,
  conditionOf,
  installCrd,
  patchSpec,
  settledFrontend,
} from '../test/support/resources.js';
import { OPERATOR_NODE_FLAGS } from './operator.js';
import { heapAfterGcMb, memoryOf } from './process-stats.js';
import { percentile } from './stats.js';

const env = process.env;
const MINUTES = Number(env.SOAK_MINUTES ?? 10);
const FRONTENDS = Number(env.SOAK_FRONTENDS ?? 20);
const CHANGING = Math.min(FRONTENDS, Number(env.SOAK_CHANGING ?? Math.ceil(FRONTENDS / 4)));
const CHANGE_MS = Number(env.SOAK_CHANGE_SECONDS ?? 1) * 1000;
const OUTAGE_MS = Number(env.SOAK_OUTAGE_SECONDS ?? 30) * 1000;
const GAP_MS = Number(env.SOAK_GAP_SECONDS ?? 20) * 1000;
const MAX_FAULT_RATE = Number(env.SOAK_MAX_FAULT_RATE ?? 20);
/** After this long without converging, a change counts as lost. */
const CONVERGE_TIMEOUT_MS = 180_000;

const names = Array.from({ length: FRONTENDS }, (_, i) => `soak-${String(i).padStart(2, '0')}`);
const changing = names.slice(0, CHANGING);
const untouched = names.slice(CHANGING);

interface Fault {
  name: string;
  inject: (plane: LocalControlPlane) => Promise<void>;
}

const FAULTS: Fault[] = [
  {
    name: `kube-apiserver stopped ${OUTAGE_MS / 1000} s, etcd restarted meanwhile`,
    inject: async (plane) => {
      const start = Date.now();
      await plane.stopApiServer();
      await plane.restartEtcd();
      await sleep(Math.max(0, OUTAGE_MS - (Date.now() - start)));
      await plane.startApiServer();
    },
  },
  { name: 'etcd restarted', inject: (plane) => plane.restartEtcd() },
  {
    name: 'kube-apiserver restarted',
    inject: async (plane) => {
      await plane.stopApiServer();
      await plane.startApiServer();
    },
  },
];

/** Changes one of `changing` at a time, round robin, every CHANGE_MS, while it runs; remembers what the API server acknowledged. */
class Writer {
  private running = false;
  private loop: Promise<void> | undefined;
  private seq = 0;
  /** Per frontend: the host of the last acknowledged change, and those tried after it (a failed request may have been applied). */
  readonly hosts = new Map<string, { acknowledged: string; unsure: string[] }>();
  acknowledged = 0;
  failed = 0;

  constructor(private readonly namespace: string) {
    for (const name of changing) this.hosts.set(name, { acknowledged: `gw-${name}.example.com`, unsure: [] });
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const started = Date.now();
      const name = changing[this.seq % changing.length]!;
      const host = `gw-${name}-${++this.seq}.example.com`;
      const known = this.hosts.get(name)!;
      try {
        await patchSpec(this.namespace, name, { sites: { gateway: { host } } });
        this.hosts.set(name, { acknowledged: host, unsure: [] });
        this.acknowledged++;
      } catch {
        known.unsure.push(host);
        this.failed++;
      }
      await sleep(Math.max(0, CHANGE_MS - (Date.now() - started)));
    }
  }
}

const certificateOf = (secret: k8s.V1Secret) => new X509Certificate(Buffer.from(secret.data!['tls.crt']!, 'base64'));

interface CycleFigures {
  fault: string;
  requests: number;
  faultSeconds: number;
  convergeSeconds: number | undefined;
  lost: string[];
  caChanges: number;
  untouchedLeafChanges: number;
  readyFlips: string[];
  rssMb: number;
  heapMb: number | undefined;
}

async function main(): Promise<number> {
  const load = loadavg();
  console.log(
    `soak: ${MINUTES} min, ${FRONTENDS} frontends (${CHANGING} changed by a writer every ${CHANGE_MS / 1000} s), faults ${FAULTS.map((f) => f.name).join('; ')}, ${GAP_MS / 1000} s quiet between; load average ${load.map((l) => l.toFixed(2)).join(' ')}`,
  );
  const plane = await LocalControlPlane.start();
  process.env.KUBECONFIG = plane.kubeconfigPath;
  let operator: OperatorProcess | undefined;
  let stopWatch: (() => void) | undefined;
  try {
    await installCrd();
    const namespace = await createNamespace('soak');
    const custom = kubeConfig().makeApiClient(k8s.CustomObjectsApi);
    const core = kubeConfig().makeApiClient(k8s.CoreV1Api);

    /** Every certificate each TLS Secret has held, from a watch that sees every version. */
    const versions = new Map<string, Set<string>>();
    stopWatch = await watchEveryVersion(
      `/api/v1/namespaces/${namespace}/secrets`,
      `${LABEL.component}=tls`,
      (secret: k8s.V1Secret) => {
        if (!secret.data?.['tls.crt']) return;
        const seen = versions.get(secret.metadata!.name!) ?? new Set<string>();
        seen.add(certificateOf(secret).fingerprint256);
        versions.set(secret.metadata!.name!, seen);
      },
    );
    const changesOf = (secretNames: string[]) =>
      secretNames.reduce((sum, name) => sum + Math.max(0, (versions.get(name)?.size ?? 0) - 1), 0);
    const caChanges = () => changesOf(names.map((n) => `${n}-tls-ca`));
    const untouchedLeafChanges = () => changesOf(untouched.map((n) => `${n}-tls-frontend`));

    operator = await OperatorProcess.start(['--namespace', namespace, '--health-port', '0'], {
      nodeArgs: [...OPERATOR_NODE_FLAGS, '--expose-gc'],
    });
    const running = operator;
    const apiRequests = async () => sumOf(await running.metrics(), 'wso2_frontend_api_requests_total');

    const frontends = async () =>
      (
        (await custom.listNamespacedCustomObject({
          group: API_GROUP,
          version: API_VERSION,
          namespace,
          plural: PLURAL,
        })) as { items: Wso2Frontend[] }
      ).items;
    /** Per frontend, the NGINX configuration it serves (every file of its ConfigMap). */
    const servedConfig = async () => {
      const list = await core.listNamespacedConfigMap({
        namespace,
        labelSelector: `${LABEL.component}=${NGINX_COMPONENT}`,
      });
      return new Map(
        list.items.map((c) => [c.metadata!.labels?.[LABEL.instance] ?? '', Object.values(c.data ?? {}).join('\n')]),
      );
    };
    /** Frontends not yet Ready for their latest generation, or whose ConfigMap does not serve their latest host. */
    const unconverged = async (): Promise<string[]> => {
      const [all, served] = await Promise.all([frontends(), servedConfig()]);
      return all
        .filter((f) => {
          const host = f.spec.sites?.gateway?.host ?? '';
          return !settledFrontend(f) || !served.get(f.metadata.name)?.includes(`server_name ${host};`);
        })
        .map((f) => f.metadata.name);
    };
    /** Seconds from `start` until every frontend converged; undefined after CONVERGE_TIMEOUT_MS. */
    const converge = async (start: number): Promise<number | undefined> => {
      while (Date.now() - start < CONVERGE_TIMEOUT_MS) {
        const behind = await unconverged().catch(() => ['(the API server did not answer)']);
        if (!behind.length) return (Date.now() - start) / 1000;
        await sleep(500);
      }
      return undefined;
    };
    /** Changed frontends whose latest change is not served: the spec lost it, or NGINX config or certificate lacks it. */
    const lostChanges = async (writer: Writer): Promise<string[]> => {
      const [all, served] = await Promise.all([frontends(), servedConfig()]);
      const lost: string[] = [];
      for (const name of changing) {
        const frontend = all.find((f) => f.metadata.name === name);
        const host = frontend?.spec.sites?.gateway?.host ?? '';
        const known = writer.hosts.get(name)!;
        const leaf = await core.readNamespacedSecret({ name: `${name}-tls-frontend`, namespace });
        if (![known.acknowledged, ...known.unsure].includes(host)) lost.push(`${name}: spec holds ${host}`);
        else if (!frontend || !settledFrontend(frontend)) lost.push(`${name}: not Ready for ${host}`);
        else if (!served.get(name)?.includes(`server_name ${host};`))
          lost.push(`${name}: ${host} not in its ConfigMap`);
        else if (!certificateOf(leaf).subjectAltName?.includes(`DNS:${host}`))
          lost.push(`${name}: ${host} not in its server certificate`);
      }
      return lost;
    };
    const readySince = async () =>
      new Map(
        (await frontends())
          .filter((f) => untouched.includes(f.metadata.name))
          .map((f) => {
            const ready = conditionOf(f, 'Ready');
            return [f.metadata.name, `${ready?.status} ${ready?.lastTransitionTime}`];
          }),
      );

    const setupStart = Date.now();
    await kubectl(['apply', '-n', namespace, '-f', '-'], names.map(apimFrontendManifest).join('---\n'));
    const setupSeconds = await converge(setupStart);
    if (setupSeconds === undefined)
      throw new Error(`the ${FRONTENDS} frontends did not converge after they were applied`);
    const heapAtStart = await heapAfterGcMb(running.pid, running.healthPort);
    console.log(
      `${FRONTENDS} frontends Ready ${((Date.now() - setupStart) / 1000).toFixed(1)} s after they were applied; operator RSS ${memoryOf(running.pid).rssMb.toFixed(0)} MB, heap after GC ${heapAtStart?.toFixed(1)} MB`,
    );

    const writer = new Writer(namespace);
    let ready = await readySince();
    const cycles: CycleFigures[] = [];
    const soakEnd = Date.now() + MINUTES * 60_000;
    writer.start();
    for (let cycle = 0; Date.now() < soakEnd || cycle === 0; cycle++) {
      const fault = FAULTS[cycle % FAULTS.length]!;
      await sleep(GAP_MS);
      const before = await apiRequests();
      const faultStart = Date.now();
      await fault.inject(plane);
      const faultSeconds = (Date.now() - faultStart) / 1000;
      const requests = (await apiRequests()) - before;
      // Converged (counted from the fault's end) for the changes made until now; the writer resumes once they are checked.
      await writer.stop();
      const convergeSeconds = await converge(faultStart + faultSeconds * 1000);
      const lost = await lostChanges(writer);
      const readyNow = await readySince();
      const readyFlips = untouched.filter((n) => readyNow.get(n) !== ready.get(n));
      ready = readyNow;
      const figures: CycleFigures = {
        fault: fault.name,
        requests,
        faultSeconds,
        convergeSeconds,
        lost,
        caChanges: caChanges(),
        untouchedLeafChanges: untouchedLeafChanges(),
        readyFlips,
        rssMb: memoryOf(running.pid).rssMb,
        heapMb: await heapAfterGcMb(running.pid, running.healthPort),
      };
      cycles.push(figures);
      console.log(
        `cycle ${cycle + 1} (${fault.name}): ${requests} operator API requests in the ${faultSeconds.toFixed(1)} s fault (${(requests / faultSeconds).toFixed(1)}/s); ` +
          `converged ${convergeSeconds === undefined ? `NOT within ${CONVERGE_TIMEOUT_MS / 1000}` : convergeSeconds.toFixed(1)} s after; ` +
          `lost changes ${lost.length}${lost.length ? ` (${lost.join('; ')})` : ''}; CA changes ${figures.caChanges}; ` +
          `server certificate changes of untouched frontends ${figures.untouchedLeafChanges}; Ready flips of untouched ${readyFlips.length}${readyFlips.length ? ` (${readyFlips.join(', ')})` : ''}; ` +
          `writer ${writer.acknowledged} changes acknowledged, ${writer.failed} failed so far; operator RSS ${figures.rssMb.toFixed(0)} MB, heap after GC ${figures.heapMb?.toFixed(1) ?? '?'} MB`,
      );
      if (!running.running) break;
      writer.start();
    }
    await writer.stop();

    console.log(
      `\nsoak totals, ${cycles.length} faults in ${MINUTES} min (load average now ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}):`,
    );
    for (const fault of FAULTS) {
      const of = cycles.filter((c) => c.fault === fault.name);
      if (!of.length) continue;
      const rates = of.map((c) => c.requests / c.faultSeconds);
      const converged = of
        .flatMap((c) => (c.convergeSeconds === undefined ? [] : [c.convergeSeconds]))
        .sort((a, b) => a - b);
      console.log(
        `  ${fault.name}: ${of.length} times; operator API requests per fault ${of.map((c) => c.requests).join(', ')} (at most ${Math.max(...rates).toFixed(1)}/s); ` +
          `converged after ${converged.length ? `p50 ${percentile(converged, 50).toFixed(1)} s, max ${Math.max(...converged).toFixed(1)} s` : '-'}${converged.length < of.length ? `, ${of.length - converged.length} never` : ''}`,
      );
    }
    const last = cycles.at(-1);
    const lostTotal = cycles.reduce((sum, c) => sum + c.lost.length, 0);
    const flipsTotal = cycles.reduce((sum, c) => sum + c.readyFlips.length, 0);
    const heaps = cycles.map((c) => c.heapMb?.toFixed(1) ?? '?');
    console.log(
      `  writer: ${writer.acknowledged} changes acknowledged, ${writer.failed} refused or unanswered; lost changes ${lostTotal}; ` +
        `CA changes ${last?.caChanges ?? 0}; server certificate changes of untouched frontends ${last?.untouchedLeafChanges ?? 0}; ` +
        `server certificates issued for the changed ones ${changesOf(changing.map((n) => `${n}-tls-frontend`))}; Ready flips of untouched frontends ${flipsTotal}`,
    );
    console.log(
      `  operator RSS per cycle (MB) ${cycles.map((c) => c.rssMb.toFixed(0)).join(', ')}; peak ${memoryOf(running.pid).peakMb.toFixed(0)} MB; ` +
        `heap after GC (MB) at start ${heapAtStart?.toFixed(1) ?? '?'}, per cycle ${heaps.join(', ')}`,
    );

    const broken = [
      ...(running.running ? [] : [`the operator exited:\n${running.text().slice(-4000)}`]),
      ...(lostTotal ? [`${lostTotal} changes lost`] : []),
      ...cycles.flatMap((c, i) => (c.convergeSeconds === undefined ? [`cycle ${i + 1} did not converge`] : [])),
      ...(last?.caChanges ? [`${last.caChanges} CA changes`] : []),
      ...(last?.untouchedLeafChanges
        ? [`${last.untouchedLeafChanges} server certificates of untouched frontends changed`]
        : []),
      ...(flipsTotal ? [`${flipsTotal} Ready flips of untouched frontends`] : []),
      ...cycles.flatMap((c, i) =>
        c.requests / c.faultSeconds > MAX_FAULT_RATE
          ? [`cycle ${i + 1}: ${(c.requests / c.faultSeconds).toFixed(1)} requests/s during the fault (hot loop?)`]
          : [],
      ),
    ];
    for (const invariant of broken) console.log(`INVARIANT BROKEN: ${invariant}`);
    if (!broken.length) console.log('  every invariant held');
    return broken.length ? 1 : 0;
  } finally {
    stopWatch?.();
    await operator?.stop();
    await plane.stop();
  }
}

process.exitCode = await main();
