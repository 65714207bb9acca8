// A real Prometheus (scripts/go-tools.sh builds it) with the alert rules of
// deploy/prometheus/wso2-frontend.rules.yaml, scraping a real reload agent with Debian's real NGINX
// on loopback through a static scrape configuration: it reads the agent's metrics as the rules
// expect them, and Wso2FrontendReloadFailing fires once NGINX rejects a configuration, from the
// agent's real counter (which starts at 0, so the first failure is an increase).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { TEST_EXTRA_MAIN_CONF_ENV } from '../../src/agent/agent.js';
import { ALERT_RULES_FILE, alertGroups } from '../../src/controller/metrics-reference.js';
import { freePort } from '../../src/localcluster/ports.js';
import { ComponentProcess } from '../../src/localcluster/process.js';
import {
  AgentProcess,
  agentObjects,
  createRunningNginxPod,
  issueCertificates,
  loopbackLayout,
  loopbackPorts,
  publishAgentObjects,
  servedCondition,
  singleNodeFrontend,
  type Certificates,
  type LoopbackPorts,
} from '../support/agent.js';
import { send } from '../support/client.js';
import { createNamespace, eventually, kubeConfig } from '../support/cluster.js';
import { FakeWso2Node } from '../support/fake-wso2.js';
import { topologyOf } from '../support/frontend.js';
import { goTool } from '../support/go-tools.js';

const BLOCK = 74;
// Named as a Deployment names its pods: the dashboard picks a frontend's NGINX pods by name.
const POD = 'apim-single-nginx-5d8f7c9b4-x2k9q';
const FRONTEND = 'apim-single';
/** The host of the site portal (its label in the traffic metrics). */
const PORTAL = 'api.am.wso2.com';

let namespace: string;
let core: k8s.CoreV1Api;
let dir: string;
let ports: LoopbackPorts;
let agent: AgentProcess;
let certs: Certificates;
let prometheus: ComponentProcess;
let prometheusPort: number;
const hookFile = () => join(dir, 'extra-main.conf');
const nodes = ['node-1', 'node-2'].map(
  (name, i) => new FakeWso2Node(name, `127.0.${BLOCK}.${i + 1}`, { https: [9443, 8243], http: [] }),
);

function frontendOn(node: 'node-1' | 'node-2'): Wso2Frontend {
  return singleNodeFrontend(BLOCK, namespace, node);
}

const publish = (resource: Wso2Frontend) => publishAgentObjects(core, resource, loopbackLayout(ports), certs);

const podReports = (hash: string, reason: string) =>
  eventually(
    `the Pod to report ${hash} (${reason})`,
    async () => {
      agent.assertRunning();
      const served = await servedCondition(core, namespace, POD);
      return served?.hash === hash && served.condition.reason === reason ? served.condition : undefined;
    },
    30_000,
  );

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(expr: string): Promise<VectorSample[]> {
  const url = `http://127.0.0.1:${prometheusPort}/api/v1/query?query=${encodeURIComponent(expr)}`;
  const body = (await (await fetch(url)).json()) as { status: string; data: { result: VectorSample[] } };
  if (body.status !== 'success') throw new Error(`query ${expr}: ${JSON.stringify(body)}`);
  return body.data.result;
}

interface Alert {
  labels: Record<string, string>;
  state: string;
}

async function alerts(): Promise<Alert[]> {
  const body = (await (await fetch(`http://127.0.0.1:${prometheusPort}/api/v1/alerts`)).json()) as {
    data: { alerts: Alert[] };
  };
  return body.data.alerts;
}

beforeAll(async () => {
  namespace = await createNamespace('prometheus');
  core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  await createRunningNginxPod(core, namespace, POD);
  for (const node of nodes) await node.start();
  dir = mkdtempSync(join(tmpdir(), 'wso2-frontend-prometheus-'));
  ports = await loopbackPorts();
  const resource = frontendOn('node-1');
  certs = issueCertificates(topologyOf(resource));
  await publish(resource);
  agent = await AgentProcess.start({
    namespace,
    pod: POD,
    frontend: resource,
    secretFlags: agentObjects(resource, topologyOf(resource), loopbackLayout(ports), certs).secretFlags,
    dir: join(dir, 'nginx'),
    ports,
    env: { [TEST_EXTRA_MAIN_CONF_ENV]: hookFile() },
    args: ['--confirm-timeout-ms', '3000'],
  });
  // Scraped and evaluated every second; the target labels are those the chart's PodMonitor gives.
  prometheusPort = await freePort();
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    yaml.dump({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [resolve(ALERT_RULES_FILE)],
      scrape_configs: [
        {
          job_name: 'wso2-frontend-nginx',
          static_configs: [{ targets: [`127.0.0.1:${agent.healthPort}`], labels: { namespace, pod: POD } }],
        },
      ],
    }),
  );
  prometheus = new ComponentProcess(
    'prometheus',
    goTool('prometheus'),
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${prometheusPort}`,
      '--log.level=warn',
    ],
    join(dir, 'prometheus.log'),
  );
  prometheus.start();
});

afterAll(async () => {
  await prometheus?.stop();
  await agent?.stop();
  for (const node of nodes) await node.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("Prometheus scrapes the agent: its target is up and the reload counter's every result is there", async () => {
  await podReports(await publish(frontendOn('node-1')), 'Served');
  const results = await eventually(
    'Prometheus to have scraped the served reload',
    async () => {
      prometheus.assertRunning();
      const samples = await query(`wso2_frontend_agent_reloads_total{namespace="${namespace}", pod="${POD}"}`).catch(
        () => [],
      );
      return samples.some((s) => s.metric.result === 'success' && Number(s.value[1]) >= 1) ? samples : undefined;
    },
    60_000,
  );
  expect(results.map((s) => s.metric.result).sort()).toEqual(['failed', 'invalid', 'success']);
  expect((await query('up{job="wso2-frontend-nginx"}')).map((s) => s.value[1])).toEqual(['1']);
  // Every rule of the file is loaded and evaluates without error.
  const rules = await eventually('every rule to have been evaluated', async () => {
    const body = (await (await fetch(`http://127.0.0.1:${prometheusPort}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { name: string; health: string }[] }[] };
    };
    const all = body.data.groups.flatMap((g) => g.rules);
    return all.length && all.every((r) => r.health === 'ok') ? all : undefined;
  });
  expect(rules.map((r) => r.name).sort()).toEqual(
    alertGroups()
      .flatMap((g) => g.rules.map((r) => r.alert))
      .sort(),
  );
  // Healthy: the reload rule does not fire. No operator is scraped here, so the absent rule is
  // pending (it waits 10 minutes before it fires).
  const now = await alerts();
  expect(now.filter((a) => a.labels.alertname === 'Wso2FrontendReloadFailing')).toEqual([]);
  expect(now.filter((a) => a.labels.alertname === 'Wso2FrontendOperatorAbsent').map((a) => a.state)).toEqual([
    'pending',
  ]);
});

interface Panel {
  title: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}
const allPanels = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
const dashboardQueries = allPanels(
  (JSON.parse(readFileSync('deploy/grafana/wso2-frontend.json', 'utf8')) as { panels: Panel[] }).panels,
).flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })));
/** The panels on the NGINX pods' metrics (the agent's); the others read the operator's. */
const nginxQueries = dashboardQueries.filter((q) =>
  /\b(wso2_frontend_nginx_|wso2_frontend_agent_|nginx_)/.test(q.expr),
);

test("every dashboard panel on the NGINX pods' metrics returns data for the frontend once it served requests", async () => {
  expect(nginxQueries.length).toBeGreaterThanOrEqual(12);
  const portalRequests = async () => {
    for (let i = 0; i < 5; i++) {
      const response = await send({
        scheme: 'https',
        port: ports.https,
        host: PORTAL,
        path: '/publisher',
        ca: certs.ca.certificatePem,
      });
      expect(response.status).toBe(200);
    }
  };
  // A counter's series first appears with the requests already counted, which rate() cannot see:
  // a second round of requests gives it an increase.
  await portalRequests();
  await eventually(
    "Prometheus to have scraped the portal's first requests",
    async () => {
      prometheus.assertRunning();
      const selector = `{namespace="${namespace}", frontend="${FRONTEND}", site="portal", status_class="2xx"}`;
      return (await query(`wso2_frontend_nginx_requests_total${selector}`)).length ? true : undefined;
    },
    60_000,
  );
  await portalRequests();
  const filled = (expr: string) =>
    expr
      .replaceAll('$namespace', namespace)
      .replaceAll('$frontend', FRONTEND)
      .replaceAll('$__rate_interval', '5m')
      .replaceAll('$__range', '1h');
  // The requests, counted from NGINX's traffic log, reach Prometheus within a few seconds.
  const requests = await eventually(
    "Prometheus to have scraped the portal's requests",
    async () => {
      const samples = await query(filled(nginxQueries.find((q) => q.title.startsWith('Requests per second'))!.expr));
      return samples.some(
        (s) => s.metric.site === 'portal' && s.metric.status_class === '2xx' && Number(s.value[1]) > 0,
      )
        ? samples
        : undefined;
    },
    60_000,
  );
  expect(requests.length).toBeGreaterThan(0);
  const empty: string[] = [];
  for (const { title, expr } of nginxQueries)
    if ((await query(filled(expr))).length === 0) empty.push(`${title}: ${expr}`);
  expect(empty).toEqual([]);
  // No 5xx: the ratio is 0 for the portal (not "No data").
  const ratio = await query(filled(nginxQueries.find((q) => q.title.startsWith('5xx ratio'))!.expr));
  expect(ratio.map((s) => [s.metric.site, s.value[1]])).toEqual([['portal', '0']]);
});

test('a configuration NGINX rejects fires Wso2FrontendReloadFailing for that pod', async () => {
  const served = await publish(frontendOn('node-1'));
  writeFileSync(hookFile(), 'no_such_directive on;');
  try {
    await publish(frontendOn('node-2'));
    await podReports(served, 'ReloadFailed');
    const firing = await eventually(
      'Wso2FrontendReloadFailing to fire',
      async () => {
        prometheus.assertRunning();
        const found = (await alerts()).filter(
          (a) => a.labels.alertname === 'Wso2FrontendReloadFailing' && a.state === 'firing',
        );
        return found.length ? found : undefined;
      },
      60_000,
    );
    expect(firing.map((a) => a.labels)).toEqual([
      {
        alertname: 'Wso2FrontendReloadFailing',
        severity: 'warning',
        namespace,
        pod: POD,
        result: 'invalid',
        job: 'wso2-frontend-nginx',
        instance: `127.0.0.1:${agent.healthPort}`,
      },
    ]);
  } finally {
    rmSync(hookFile(), { force: true });
  }
});
