// Requests per second and p99 latency through the generated configuration, against a
// hand-written seed configuration (seed 001, single node) on the same NGINX and the same
// backend (an NGINX answering HTTPS on the node's port), measured with wrk over loopback; and
// the cost of the traffic metrics: the generated configuration with its traffic log and the
// agent's reader of it running, against the same configuration without the traffic log.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as yaml from 'js-yaml';
import type { Wso2Frontend } from '../src/api/schema.js';
import { freePort } from '../src/localcluster/ports.js';
import { ComponentProcess } from '../src/localcluster/process.js';
import { childPids } from '../src/agent/nginx.js';
import { TRAFFIC_LOG_FILE } from '../src/api/traffic.js';
import { buildTopology, type Topology } from '../src/model/topology.js';
import { validateSpec } from '../src/model/validate.js';
import { issueCa, issueServerCertificate } from '../src/tls/issuer.js';
import { NGINX, nginxVersion, writeNginxTree } from '../test/support/nginx.js';
import type { ThroughputFigures } from './results.js';

const NODE_ADDRESS = '127.0.50.1';
const ROUNDS = 5;
const SECONDS = 6;

const tempPaths = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
  .map((p) => `${p}_temp_path ${p}_temp;`)
  .join(' ');

function writeTls(dir: string): void {
  const now = new Date();
  const ca = issueCa('bench CA', { now });
  const leaf = issueServerCertificate(ca, ['localhost', NODE_ADDRESS], { now });
  mkdirSync(join(dir, 'tls'), { recursive: true });
  writeFileSync(join(dir, 'tls', 'server.crt'), leaf.certificatePem);
  writeFileSync(join(dir, 'tls', 'server.key'), leaf.privateKeyPem);
}

/** The WSO2 node stand-in: HTTPS on 9443 answering a small JSON body, as fast as NGINX can. */
function backendConf(): string {
  return `worker_processes 1; pid nginx.pid; error_log stderr;
events { worker_connections 4096; }
http { ${tempPaths} access_log off;
  server { listen ${NODE_ADDRESS}:9443 ssl; ssl_certificate tls/server.crt; ssl_certificate_key tls/server.key;
    location / { default_type application/json; return 200 '{"node":"node-1"}'; } } }
`;
}

/** Seed 001 "NGINX for a Single Node deployment", as written there, on this machine's ports and paths. */
function seedConf(port: number): string {
  return `worker_processes auto; pid nginx.pid; error_log stderr;
events { worker_connections 4096; }
http { ${tempPaths}
    upstream sslapi.am.wso2.com {
        server ${NODE_ADDRESS}:9443;
    }
    server {
        listen 127.0.0.1:${port} ssl;
        server_name localhost;
        proxy_set_header X-Forwarded-Port 443;
        ssl_certificate tls/server.crt;
        ssl_certificate_key tls/server.key;
        location / {
                proxy_set_header X-Forwarded-Host $host;
                proxy_set_header X-Forwarded-Server $host;
                proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                proxy_set_header Host $http_host;
                proxy_read_timeout 5m;
                proxy_send_timeout 5m;
                proxy_pass https://sslapi.am.wso2.com;
            }
            access_log logs/access.log;
            error_log logs/error.log;
    }
}
`;
}

async function startNginx(dir: string): Promise<ComponentProcess> {
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const nginx = new ComponentProcess(
    'nginx',
    NGINX,
    ['-p', `${dir}/`, '-c', 'nginx.conf', '-g', 'daemon off;'],
    join(dir, 'nginx.out'),
  );
  nginx.start();
  await new Promise((r) => setTimeout(r, 500));
  nginx.assertRunning();
  return nginx;
}

interface Run {
  rps: number;
  p99: number;
  requests: number;
  /** CPU (user + system) per request of the processes measured (NGINX's master and workers; the reader too for metrics on). */
  cpuMicros: number;
}

async function writeGenerated(dir: string, topology: Topology, port: number, trafficLog: boolean): Promise<void> {
  writeNginxTree(dir, topology, {
    listen: { address: '127.0.0.1', http: await freePort(), https: port },
    publicPorts: { http: 80, https: 443 },
    trafficLog,
  });
}

function wrk(port: number, cpu: () => number = () => 0): Run {
  const cpuBefore = cpu();
  const result = spawnSync('wrk', ['-t1', '-c16', `-d${SECONDS}s`, '--latency', `https://localhost:${port}/`], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`wrk failed: ${result.stderr}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(result.stdout)?.[1]);
  const p99Match = /99%\s+([\d.]+)(us|ms|s)/.exec(result.stdout);
  const p99 = p99Match ? Number(p99Match[1]) * { us: 0.001, ms: 1, s: 1000 }[p99Match[2] as 'us' | 'ms' | 's'] : NaN;
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(result.stdout);
  if (errors) throw new Error(`wrk saw errors: ${errors[0]}`);
  const requests = Number(/(\d+) requests in/.exec(result.stdout)?.[1]);
  return { rps, p99, requests, cpuMicros: ((cpu() - cpuBefore) * 1e6) / requests };
}

/** User + system CPU seconds of an NGINX (master and workers) so far, by its prefix directory. */
function nginxCpuSeconds(dir: string): number {
  const master = Number(readFileSync(join(dir, 'nginx.pid'), 'utf8').trim());
  return [master, ...childPids(master)].reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

/** User + system CPU seconds of a process so far (/proc/PID/stat, clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function benchThroughput(): Promise<ThroughputFigures> {
  const scratch = mkdtempSync(join(tmpdir(), 'wso2-frontend-bench-'));
  // NGINX's workers (nobody, when the benchmark runs as root) reopen the rotated traffic log themselves.
  chmodSync(scratch, 0o755);
  const processes: ComponentProcess[] = [];
  try {
    const backendDir = join(scratch, 'backend');
    writeTls(backendDir);
    writeFileSync(join(backendDir, 'nginx.conf'), backendConf());
    processes.push(await startNginx(backendDir));

    const seedPort = await freePort();
    const seedDir = join(scratch, 'seed');
    writeTls(seedDir);
    writeFileSync(join(seedDir, 'nginx.conf'), seedConf(seedPort));
    processes.push(await startNginx(seedDir));

    const resource = yaml.load(readFileSync('examples/apim-single.yaml', 'utf8')) as Wso2Frontend;
    resource.spec.sites = { portal: { host: 'localhost' } };
    resource.spec.backends.external!.nodes[0]!.address = NODE_ADDRESS;
    const result = validateSpec(resource.spec);
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    const topology = buildTopology(result.spec);
    const generated = async (name: string, trafficLog: boolean, beforeStart?: (dir: string) => void) => {
      const port = await freePort();
      const dir = join(scratch, name);
      await writeGenerated(dir, topology, port, trafficLog);
      beforeStart?.(dir);
      processes.push(await startNginx(dir));
      return { port, dir };
    };
    const off = await generated('metrics-off', false);
    const on = await generated('metrics-on', true);
    // NGINX's share alone: the traffic log formatted and written, to /dev/null (unread, a file would
    // only grow; the agent keeps its file small, so its pages are dropped before they reach a disk).
    const logOnly = await generated('log-only', true, (dir) => symlinkSync('/dev/null', join(dir, TRAFFIC_LOG_FILE)));
    // The agent's reader of the traffic log, in a process of its own as in the pod.
    const reader = new ComponentProcess(
      'traffic-reader',
      process.execPath,
      [
        fileURLToPath(new URL('traffic-reader.js', import.meta.url)),
        join(on.dir, TRAFFIC_LOG_FILE),
        join(on.dir, 'nginx.pid'),
      ],
      join(scratch, 'traffic-reader.out'),
    );
    reader.start();
    processes.push(reader);

    const runs = { seed: [] as Run[], off: [] as Run[], on: [] as Run[], logOnly: [] as Run[] };
    const measure: (() => void)[] = [
      () => runs.off.push(wrk(off.port, () => nginxCpuSeconds(off.dir))),
      () => runs.on.push(wrk(on.port, () => nginxCpuSeconds(on.dir) + cpuSeconds(reader.pid!))),
      () => runs.logOnly.push(wrk(logOnly.port, () => nginxCpuSeconds(logOnly.dir))),
      () => runs.seed.push(wrk(seedPort)),
    ];
    // Each round starts with the next configuration, so that none always runs first (or after the same one).
    for (let round = 0; round < ROUNDS; round++)
      for (let i = 0; i < measure.length; i++) measure[(round + i) % measure.length]!();
    const mid = (rs: Run[]): Run => ({
      rps: median(rs.map((r) => r.rps)),
      p99: median(rs.map((r) => r.p99)),
      requests: rs.reduce((n, r) => n + r.requests, 0),
      cpuMicros: median(rs.map((r) => r.cpuMicros)),
    });
    const [s, g, m, l] = [mid(runs.seed), mid(runs.off), mid(runs.on), mid(runs.logOnly)];
    const readerCpu = cpuSeconds(reader.pid!);
    await reader.stop(5000);
    const counted = (
      JSON.parse(readFileSync(join(scratch, 'traffic-reader.out'), 'utf8').trim().split('\n').pop() ?? '{}') as {
        lines?: number;
      }
    ).lines;
    console.log(
      `\nThroughput through NGINX ${nginxVersion()} (wrk -t1 -c16, ${SECONDS} s x ${ROUNDS} rounds, medians; HTTPS in, HTTPS to the node):`,
    );
    console.log(`  hand-written config (WSO2 API-M doc): ${s.rps.toFixed(0)} req/s, p99 ${s.p99.toFixed(2)} ms`);
    console.log(`  generated config, traffic metrics off: ${g.rps.toFixed(0)} req/s, p99 ${g.p99.toFixed(2)} ms`);
    console.log(`  generated config, traffic metrics on:  ${m.rps.toFixed(0)} req/s, p99 ${m.p99.toFixed(2)} ms`);
    console.log(`  generated config, traffic log to /dev/null: ${l.rps.toFixed(0)} req/s, p99 ${l.p99.toFixed(2)} ms`);
    console.log(`  ratio generated (metrics off)/hand-written: ${(g.rps / s.rps).toFixed(2)} (target >= 0.95)`);
    console.log(`  ratio metrics on/off: ${(m.rps / g.rps).toFixed(2)} (target >= 0.95)`);
    console.log(`  ratio traffic log to /dev/null/off: ${(l.rps / g.rps).toFixed(2)} (NGINX's share of the cost)`);
    console.log(
      `  CPU per request (medians; clock ticks of 10 ms over ${SECONDS} s): NGINX without the traffic log ${g.cpuMicros.toFixed(1)} us, with it to /dev/null ${l.cpuMicros.toFixed(1)} us, with it and the reader ${m.cpuMicros.toFixed(1)} us (ratio ${(g.cpuMicros / m.cpuMicros).toFixed(2)})`,
    );
    console.log(
      `  the reader's CPU: ${readerCpu.toFixed(2)} s for ${counted} lines (${((readerCpu * 1e6) / (counted ?? 1)).toFixed(2)} us a line, start-up included)`,
    );
    console.log(
      `  traffic log lines the reader counted: ${counted}, requests wrk completed: ${m.requests} (NGINX also logs those in flight when wrk stops)`,
    );
    const figures = (name: string, mid: Run, rounds: Run[]) => ({
      name,
      rps: Math.round(mid.rps),
      p99Ms: mid.p99,
      rounds: rounds.map((r) => Math.round(r.rps)),
    });
    return {
      configurations: [
        figures('hand-written (API-M guide)', s, runs.seed),
        figures('generated', g, runs.off),
        figures('generated, traffic metrics on', m, runs.on),
        figures('generated, traffic log to /dev/null', l, runs.logOnly),
      ],
    };
  } finally {
    for (const p of processes.reverse()) await p.stop(5000);
    rmSync(scratch, { recursive: true, force: true });
  }
}
