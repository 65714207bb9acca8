// `wso2-frontend agent`: runs in each NGINX pod, supervises the NGINX master and serves every
// new configuration of its frontend in place (see src/agent/agent.ts).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CONFIG_HASH_PATH, parseSecretMount } from '../api/agent.js';
import { join } from 'node:path';
import { STUB_STATUS_PATH, TRAFFIC_LOG_FILE } from '../api/traffic.js';
import { ReloadAgent, TEST_EXTRA_MAIN_CONF_ENV } from '../agent/agent.js';
import { AgentMetrics } from '../agent/metrics.js';
import { SiteProber } from '../agent/probe.js';
import { PodReporter, SiteProbeReporter } from '../agent/report.js';
import { TrafficLogTail } from '../agent/traffic-log.js';
import { startHealthServer } from '../controller/observability.js';
import { atLevel, type Logger } from '../controller/runtime/controller.js';
import { PooledKubeConfig } from '../controller/runtime/kubeconfig.js';
import { UsageError } from './usage-error.js';
import { LOG_LEVEL_USAGE, parseLogLevel } from './log-level.js';

export const usage = `wso2-frontend agent --config-map NAME [--secret DIR=SECRET[:KEY,KEY?,...]]... [--nginx PATH] [--state-dir DIR]
                    [--confirm-url URL] [--confirm-timeout-ms N] [--coalesce-ms N] [--health-port N] [--quit-timeout-seconds N]
                    [--frontend NAME] [--termination-message-path FILE] [--log-level LEVEL]

Runs NGINX and keeps it serving the frontend's configuration: watches the ConfigMap and each
Secret (written under DIR of the conf tree) through the API, checks each new configuration with
nginx -t, switches to it and reloads NGINX, confirms new workers answer with its hash at
--confirm-url, and reports on its own Pod (POD_NAME and POD_NAMESPACE from the environment) in
the condition wso2-frontend.dev/ConfigurationServed. Probes every public host of the served
configuration's probe plan (probes.json) through NGINX and reports it on the Pod (annotation
wso2-frontend.dev/site-probes, condition wso2-frontend.dev/SitesServing). Serves /healthz,
/readyz and /metrics, with NGINX's traffic metrics from the traffic log in the state directory
and from stub_status (next to --confirm-url); the upstream servers of the served configuration
(upstreams.json) have a state from the moment it is served.
  --nginx PATH               the NGINX binary (default: nginx on the PATH)
  --state-dir DIR            NGINX's prefix and the versioned configurations (default /tmp/nginx)
  --confirm-url URL          default http://127.0.0.1:8081${CONFIG_HASH_PATH}
  --confirm-timeout-ms N     how long new workers have to answer after a reload (default 10000)
  --coalesce-ms N            changes within this window are served together (default 100)
  --health-port N            the agent's own port; 0 picks a free one (default 8082)
  --quit-timeout-seconds N   on SIGTERM, how long NGINX may finish connections (default 75)
  --frontend NAME            the frontend label of the traffic metrics (default: the ConfigMap's name without -nginx)
  --termination-message-path FILE
                             where the agent says why it fails when its NGINX master dies, e.g. "NGINX master
                             (pid 7) exited: killed by SIGKILL"; the kubelet shows it in the Pod's lastState
                             (default /dev/termination-log, the container's terminationMessagePath)
  ${LOG_LEVEL_USAGE}`;

function integer(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${flag}: must be a whole number from ${min} to ${max}, not ${JSON.stringify(text)}`);
  return n;
}

/** The kubelet reads at most 4096 bytes of it; a failure to write it (no such mount outside a pod) is only logged. */
function writeTerminationMessage(file: string, message: string, log: Logger): void {
  try {
    writeFileSync(file, message);
  } catch (error) {
    log('error', 'could not write the termination message', { file, error: String(error) });
  }
}

export async function runAgent(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'config-map': { type: 'string' },
      secret: { type: 'string', multiple: true, default: [] },
      nginx: { type: 'string', default: 'nginx' },
      'state-dir': { type: 'string', default: '/tmp/nginx' },
      'confirm-url': { type: 'string', default: `http://127.0.0.1:8081${CONFIG_HASH_PATH}` },
      'confirm-timeout-ms': { type: 'string', default: '10000' },
      'coalesce-ms': { type: 'string', default: '100' },
      'health-port': { type: 'string', default: '8082' },
      'quit-timeout-seconds': { type: 'string', default: '75' },
      frontend: { type: 'string' },
      'termination-message-path': { type: 'string', default: '/dev/termination-log' },
      'log-level': { type: 'string', default: 'info' },
    },
    strict: true,
  });
  if (!values['config-map']) throw new UsageError('--config-map NAME is required');
  const secrets = values.secret.map((text) => {
    try {
      return parseSecretMount(text);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  });
  const podName = process.env.POD_NAME;
  const namespace = process.env.POD_NAMESPACE;
  if (!podName || !namespace)
    throw new UsageError('POD_NAME and POD_NAMESPACE must be set (from the downward API in the pod)');
  const confirmTimeoutMs = integer('confirm-timeout-ms', values['confirm-timeout-ms'], 100, 600_000);
  const coalesceMs = integer('coalesce-ms', values['coalesce-ms'], 0, 60_000);
  const healthPort = integer('health-port', values['health-port'], 0, 65535);
  const quitTimeoutMs = integer('quit-timeout-seconds', values['quit-timeout-seconds'], 1, 3600) * 1000;

  // Its requests are small (its Pod, one ConfigMap, a few Secrets): one unanswered for 30 s is on a dead path.
  const kubeConfig = new PooledKubeConfig(30_000);
  kubeConfig.loadFromDefault();
  const log = atLevel(parseLogLevel(values['log-level']));
  let agent: ReloadAgent | undefined;
  const metrics = new AgentMetrics(() => agent?.workerCount() ?? 0, {
    frontend: values.frontend ?? values['config-map'].replace(/-nginx$/, ''),
    stubStatusUrl: new URL(STUB_STATUS_PATH, values['confirm-url']).href,
  });
  const reporter = new PodReporter(kubeConfig, namespace, podName, log);
  const probeReporter = new SiteProbeReporter(kubeConfig, namespace, podName, log);
  const prober = new SiteProber(probeReporter, metrics, log);
  let requestStop!: (code: number) => void;
  const stopRequested = new Promise<number>((resolve) => (requestStop = resolve));
  const testHook = process.env[TEST_EXTRA_MAIN_CONF_ENV];
  const stateDir = values['state-dir'].replace(/\/+$/, '');
  const trafficLog = new TrafficLogTail({
    file: join(stateDir, TRAFFIC_LOG_FILE),
    onLine: (line) => metrics.traffic.line(line),
    reopenLogs: () => agent?.reopenLogs() ?? false,
    writers: () => agent?.nginxPids() ?? [],
    onError: (error) => log('error', 'reading the traffic log failed; trying again', { error: String(error) }),
  });
  agent = new ReloadAgent({
    kubeConfig,
    namespace,
    configMap: values['config-map'],
    secrets,
    nginxBinary: values.nginx,
    stateDir,
    confirmUrl: values['confirm-url'],
    confirmTimeoutMs,
    coalesceMs,
    reporter,
    prober,
    metrics,
    log,
    // The container fails, and the kubelet restarts it on the last good configuration; the
    // reason becomes the container's lastState.terminated.message, which the operator shows.
    onMasterExit: (_exit, reason) => {
      writeTerminationMessage(values['termination-message-path'], reason, log);
      requestStop(1);
    },
    ...(testHook ? { testExtraMainConfFile: testHook } : {}),
  });
  const health = await startHealthServer({
    port: healthPort,
    metrics,
    isLive: () => agent.masterRunning,
    isReady: () => agent.servedHash !== undefined,
  });
  process.on('SIGINT', () => requestStop(0));
  process.on('SIGTERM', () => requestStop(0));
  log('info', 'agent starting', { pod: `${namespace}/${podName}`, healthPort: health.port });
  trafficLog.start();
  await Promise.race([agent.start(), stopRequested]);
  const code = await stopRequested;
  log('info', code === 0 ? 'stopping: NGINX finishes its connections' : 'stopping: NGINX is gone', {});
  const exit = await agent.stop(quitTimeoutMs);
  trafficLog.stop();
  await reporter.settle();
  probeReporter.stop();
  await health.close();
  await kubeConfig.close();
  log('info', 'agent stopped', { nginxExit: exit });
  return code;
}
