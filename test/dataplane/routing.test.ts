// For each seed pattern, real traffic through the rendered configuration on a real NGINX:
// every public host reaches the right role and port (a pinned management host only its node),
// plain HTTP is redirected or proxied as the seed does, the node receives the forwarded
// headers, and a WebSocket upgrades and echoes.
import type { Wso2Frontend } from '../../src/api/schema.js';
import { send, webSocketEcho } from '../support/client.js';
import { externalExamples, loopbackFrontendFor } from './loopback.js';

describe.each(externalExamples(20))('%s', (_file, resource: Wso2Frontend, block: number) => {
  const frontend = loopbackFrontendFor(resource, block);

  test('each public host reaches its role and port, a pinned host only its node', async () => {
    for (const site of frontend().topology.sites) {
      const upstream = frontend().topology.upstreams.find((u) => u.name === site.https.locations[0]!.upstream)!;
      const expected = new Map(upstream.servers.map((s) => [s.node, s.port]));
      for (let i = 0; i < 12; i++) {
        const response = await send({
          scheme: 'https',
          port: frontend().ports.https,
          host: site.host,
          path: `/probe/${i}`,
          ca: frontend().ca,
        });
        expect(response.status).toBe(200);
        const answer = response.answer!;
        expect(answer.scheme).toBe('https');
        expect(answer.path).toBe(`/probe/${i}`);
        expect(expected.get(answer.node)).toBe(answer.port);
        if (upstream.pinnedNode) expect(answer.node).toBe(upstream.pinnedNode);
      }
    }
  });

  test("plain HTTP is redirected to the same URL on HTTPS, or proxied to the node's HTTP port where the seed does", async () => {
    for (const site of frontend().topology.sites) {
      const response = await send({
        scheme: 'http',
        port: frontend().ports.http,
        host: site.host,
        path: '/some/page?tab=2',
      });
      if (site.http.mode === 'redirect') {
        expect(response.status).toBe(301);
        expect(response.headers.location).toBe(`https://${site.host}:${frontend().ports.https}/some/page?tab=2`);
      } else if (site.http.mode === 'proxy') {
        const upstreamName = site.http.locations[0]!.upstream;
        const upstream = frontend().topology.upstreams.find((u) => u.name === upstreamName)!;
        expect(response.status).toBe(200);
        expect(response.answer!.scheme).toBe('http');
        expect(upstream.servers.map((s) => s.port)).toContain(response.answer!.port);
      }
    }
  });

  test('the node receives the forwarded headers with the public host, port and scheme', async () => {
    const site = frontend().topology.sites[0]!;
    const { answer } = await send({
      scheme: 'https',
      port: frontend().ports.https,
      host: site.host,
      ca: frontend().ca,
    });
    expect(answer!.headers).toMatchObject({
      host: `${site.host}:${frontend().ports.https}`,
      'x-forwarded-host': site.host,
      'x-forwarded-server': site.host,
      'x-forwarded-port': String(frontend().ports.https),
      'x-forwarded-proto': 'https',
      'x-forwarded-for': '127.0.0.1',
    });
  });

  test('a WebSocket connection upgrades and echoes through NGINX', async () => {
    const site = frontend().topology.sites[0]!;
    const echo = await webSocketEcho(
      { scheme: 'https', port: frontend().ports.https, host: site.host, path: '/ws', ca: frontend().ca },
      'hello',
    );
    expect(echo).toMatch(/^[a-z0-9-]+: hello$/);
  });
});
