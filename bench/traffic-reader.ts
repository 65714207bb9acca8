// The agent's traffic metrics alone, as a process of its own for the throughput benchmark: follows
// an NGINX's traffic log exactly as the agent does (same reader, same metrics, rotations signalled
// to the master named by its pid file), renders the metrics every 5 s as a scrape would, and on
// SIGTERM prints how many lines it counted.
import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { childPids } from '../src/agent/nginx.js';
import { TrafficLogTail } from '../src/agent/traffic-log.js';
import { TrafficMetrics } from '../src/agent/traffic.js';

const [file, pidFile] = process.argv.slice(2) as [string, string];
const master = () => Number(readFileSync(pidFile, 'utf8').trim());
const registry = new Registry();
const traffic = new TrafficMetrics(registry, 'bench');
let lines = 0;
const tail = new TrafficLogTail({
  file,
  onLine: (line) => {
    lines++;
    traffic.line(line);
  },
  reopenLogs: () => {
    process.kill(master(), 'SIGUSR1');
    return true;
  },
  writers: () => [master(), ...childPids(master())],
});
tail.start();
const scrapes = setInterval(() => void registry.metrics(), 5000);
process.on('SIGTERM', () => {
  clearInterval(scrapes);
  tail.stop();
  console.log(JSON.stringify({ lines }));
  process.exit(0);
});
