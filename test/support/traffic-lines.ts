// Traffic log lines as the rendered log_format makes NGINX write them (src/api/traffic.ts), for
// the pure tests of the reader and for its cost benchmark. The real-NGINX tests
// (test/agent/traffic-metrics.test.ts, test/dataplane/traffic-log.test.ts) prove NGINX writes the same.
import { TRAFFIC_LOG_FIELDS, TRAFFIC_LOG_SEPARATOR, type TrafficLogField } from '../../src/api/traffic.js';

const TYPICAL: Record<TrafficLogField, string> = {
  site: 'portal',
  role: 'publisher',
  msec: '1764240000.123',
  status: '200',
  request_time: '0.012',
  upstream_addr: '10.0.0.1:9443',
  upstream_response_time: '0.010',
  upstream_header_time: '0.009',
};

/** One line: a proxied 200 unless `fields` says otherwise ('-' for a value NGINX does not have). */
export function trafficLine(fields: Partial<Record<TrafficLogField, string>> = {}): string {
  const values = { ...TYPICAL, ...fields };
  return (Object.keys(TRAFFIC_LOG_FIELDS) as TrafficLogField[]).map((k) => values[k]).join(TRAFFIC_LOG_SEPARATOR);
}

/**
 * A day's mix, repeatable: mostly proxied 200s over a few sites, roles and two nodes, some 404s
 * NGINX answers itself, some retried on the next node, some 503s from a node.
 */
export function sampleTraffic(count: number): string[] {
  const sites = ['portal', 'gateway', 'websocket', 'identity'];
  const roles = ['publisher', 'gateway', 'websocket', 'is'];
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const k = i % 4;
    const node = `10.0.${k}.${1 + (i % 2)}:9443`;
    const msec = (1764240000 + i / 1000).toFixed(3);
    const time = ((i % 97) / 1000).toFixed(3);
    const common = { site: sites[k]!, role: roles[k]!, msec, request_time: time };
    if (i % 20 === 0)
      lines.push(
        trafficLine({
          ...common,
          role: '_',
          status: '404',
          upstream_addr: '-',
          upstream_response_time: '-',
          upstream_header_time: '-',
        }),
      );
    else if (i % 20 === 1)
      lines.push(
        trafficLine({
          ...common,
          upstream_addr: `10.0.${k}.1:9443, 10.0.${k}.2:9443`,
          upstream_response_time: `0.001, ${time}`,
          upstream_header_time: `-, ${time}`,
        }),
      );
    else if (i % 20 === 2) lines.push(trafficLine({ ...common, status: '503', upstream_addr: node }));
    else
      lines.push(
        trafficLine({ ...common, upstream_addr: node, upstream_response_time: time, upstream_header_time: time }),
      );
  }
  return lines;
}
