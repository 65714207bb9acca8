// NGINX's stub_status (on the loopback health listener) as the metrics nginx-prometheus-exporter
// exports, with the same names, so its dashboards and alerts work unchanged. Read on each scrape.
import { get } from 'node:http';
import { Counter, Gauge, type Registry } from 'prom-client';

export interface StubStatus {
  active: number;
  accepted: number;
  handled: number;
  requests: number;
  reading: number;
  writing: number;
  waiting: number;
}

/** Parses stub_status's text; undefined when it is not stub_status. */
export function parseStubStatus(text: string): StubStatus | undefined {
  const active = /Active connections:\s*(\d+)/.exec(text);
  const totals = /\n\s*(\d+)\s+(\d+)\s+(\d+)\s*\n/.exec(text);
  const states = /Reading:\s*(\d+)\s+Writing:\s*(\d+)\s+Waiting:\s*(\d+)/.exec(text);
  if (!active || !totals || !states) return undefined;
  return {
    active: Number(active[1]),
    accepted: Number(totals[1]),
    handled: Number(totals[2]),
    requests: Number(totals[3]),
    reading: Number(states[1]),
    writing: Number(states[2]),
    waiting: Number(states[3]),
  };
}

function fetchText(url: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const request = get(url, { agent: false, timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve(response.statusCode === 200 ? body : undefined));
      response.on('error', () => resolve(undefined));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(undefined));
  });
}

/** Registers the exporter's metrics; each scrape reads `url` once. */
export function registerStubStatusMetrics(registry: Registry, url: string, timeoutMs = 1000): void {
  let reading: { at: number; status: Promise<StubStatus | undefined> } | undefined;
  // The metrics of one scrape share one read.
  const read = (): Promise<StubStatus | undefined> => {
    if (!reading || Date.now() - reading.at > 500) {
      reading = { at: Date.now(), status: fetchText(url, timeoutMs).then((t) => (t ? parseStubStatus(t) : undefined)) };
    }
    return reading.status;
  };
  const registers = [registry];
  new Gauge({
    name: 'nginx_up',
    help: 'Whether NGINX answered its stub_status (1) or not (0).',
    registers,
    async collect() {
      this.set((await read()) ? 1 : 0);
    },
  });
  const gauges: [keyof StubStatus, string, string][] = [
    ['active', 'nginx_connections_active', 'Active client connections (stub_status).'],
    ['reading', 'nginx_connections_reading', 'Connections where NGINX is reading the request header.'],
    ['writing', 'nginx_connections_writing', 'Connections where NGINX is writing the response.'],
    ['waiting', 'nginx_connections_waiting', 'Idle client connections (keep-alive).'],
  ];
  for (const [field, name, help] of gauges)
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        const status = await read();
        if (status) this.set(status[field]);
        else this.reset();
      },
    });
  const counters: [keyof StubStatus, string, string][] = [
    ['accepted', 'nginx_connections_accepted', 'Accepted client connections.'],
    ['handled', 'nginx_connections_handled', 'Handled client connections.'],
    ['requests', 'nginx_http_requests_total', 'Client requests.'],
  ];
  for (const [field, name, help] of counters)
    new Counter({
      name,
      help,
      registers,
      async collect() {
        const status = await read();
        this.reset();
        if (status) this.inc(status[field]);
      },
    });
}
