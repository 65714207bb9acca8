// The upstream servers the agent shows before any traffic (upstreams.json) must be written exactly
// as NGINX writes $upstream_addr, or a configured server and the one NGINX reports are two series.
// Real NGINX is asked: one upstream per address, one request each (nothing listens; the attempt
// is what is logged).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { upstreamServer } from '../../src/api/upstream-servers.js';
import { freePort } from '../../src/localcluster/ports.js';
import { eventually } from '../support/cluster.js';
import { NginxProcess } from '../support/nginx.js';

const ADDRESSES = [
  '2001:DB8:0:0:1:0:0:1',
  '2001:db8::1',
  'fe80::1:2',
  '1::',
  '::2',
  '::10.0.0.1', // IPv4-compatible: NGINX writes the last 32 bits dotted, a URL does not
  '::102:304',
  '0:0:0:0:0:0:102:1',
  '::1:2',
  '::ffff:1.2.3.4',
  '10.0.0.1',
];

test('every address is written as NGINX writes it in $upstream_addr', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wso2-frontend-upstream-addr-'));
  mkdirSync(join(dir, 'logs'));
  const port = await freePort();
  const server = (a: string) => (a.includes(':') ? `[${a}]` : a);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((p) => `${p}_temp_path ${p}_temp;`).join(' ');
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1; pid nginx.pid; error_log stderr crit;
events {}
http { ${temp} access_log off; log_format attempts '$uri $upstream_addr';
${ADDRESSES.map((a, i) => `upstream u${i} { server ${server(a)}:9; }`).join('\n')}
server { listen 127.0.0.1:${port}; access_log logs/attempts.log attempts buffer=4k flush=100ms;
${ADDRESSES.map((_, i) => `location = /${i} { proxy_connect_timeout 200ms; proxy_pass http://u${i}; }`).join('\n')}
} }
`,
  );
  const nginx = await NginxProcess.start(dir, port);
  try {
    await eventually('NGINX answering', async () => {
      try {
        return (await fetch(`http://127.0.0.1:${port}/0`)).status >= 500 ? true : undefined;
      } catch {
        return undefined;
      }
    });
    for (let i = 1; i < ADDRESSES.length; i++) await fetch(`http://127.0.0.1:${port}/${i}`);
    const logged = await eventually('every attempt logged', () => {
      const lines = readFileSync(join(dir, 'logs', 'attempts.log'), 'utf8')
        .trim()
        .split('\n');
      const byUri = new Map(lines.map((l) => [l.slice(1, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]));
      return ADDRESSES.every((_, i) => byUri.has(String(i))) ? byUri : undefined;
    });
    expect(ADDRESSES.map((a, i) => [a, logged.get(String(i))])).toEqual(
      ADDRESSES.map((a) => [a, upstreamServer(a, 9)]),
    );
  } finally {
    await nginx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
