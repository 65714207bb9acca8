// Plain HTTP per site: API-M gateways serve APIs on plain HTTP (8280) by design, so gateway hosts
// proxy it by default; portals redirect it to HTTPS; either is a per-site choice. HSTS is sent
// only by a host whose plain HTTP redirects (or is off), never by one that serves plain HTTP.
import type { Wso2Frontend } from '../../src/api/schema.js';
import { send } from '../support/client.js';
import { LoopbackFrontend, onLoopback } from '../support/frontend.js';
import { example } from '../support/resources.js';

describe('apim-active-active as the example has it', () => {
  let frontend: LoopbackFrontend;

  beforeAll(async () => {
    frontend = await LoopbackFrontend.start(onLoopback(example('apim-active-active.yaml'), 49));
  });
  afterAll(async () => {
    await frontend?.stop();
  });

  test("the gateway host serves APIs on plain HTTP from the nodes' 8280", async () => {
    const response = await send({ scheme: 'http', port: frontend.ports.http, host: 'gw.am.wso2.com', path: '/pets/1' });
    expect(response.status).toBe(200);
    expect(response.answer).toMatchObject({ scheme: 'http', port: 8280, path: '/pets/1' });
  });

  test('the gateway host, serving plain HTTP, sends no HSTS; the portal, redirecting it, does', async () => {
    const https = (host: string) => send({ scheme: 'https', port: frontend.ports.https, host, ca: frontend.ca });
    expect((await https('gw.am.wso2.com')).headers['strict-transport-security']).toBeUndefined();
    expect((await https('api.am.wso2.com')).headers['strict-transport-security']).toBe('max-age=31536000');
    const portal = await send({ scheme: 'http', port: frontend.ports.http, host: 'api.am.wso2.com', path: '/x' });
    expect(portal.status).toBe(301);
  });
});

test('Identity Server, which proxies plain HTTP to 9763, sends no HSTS', async () => {
  const frontend = await LoopbackFrontend.start(onLoopback(example('is-pattern-1.yaml'), 50));
  try {
    const identity = await send({ scheme: 'https', port: frontend.ports.https, host: 'is.wso2.com', ca: frontend.ca });
    expect(identity.status).toBe(200);
    expect(identity.headers['strict-transport-security']).toBeUndefined();
    const management = await send({
      scheme: 'https',
      port: frontend.ports.https,
      host: 'mgt.is.wso2.com',
      ca: frontend.ca,
    });
    expect(management.headers['strict-transport-security']).toBe('max-age=31536000');
  } finally {
    await frontend.stop();
  }
});

test('a gateway site told to redirect plain HTTP does so, and sends HSTS', async () => {
  const resource = onLoopback(example('apim-active-active.yaml'), 51);
  const redirecting: Wso2Frontend = {
    ...resource,
    spec: { ...resource.spec, sites: { ...resource.spec.sites, gateway: { http: 'redirect' } } },
  };
  const frontend = await LoopbackFrontend.start(redirecting);
  try {
    const plain = await send({ scheme: 'http', port: frontend.ports.http, host: 'gw.am.wso2.com', path: '/pets/1' });
    expect(plain.status).toBe(301);
    expect(plain.headers.location).toBe(`https://gw.am.wso2.com:${frontend.ports.https}/pets/1`);
    const secure = await send({ scheme: 'https', port: frontend.ports.https, host: 'gw.am.wso2.com', ca: frontend.ca });
    expect(secure.headers['strict-transport-security']).toBe('max-age=31536000');
  } finally {
    await frontend.stop();
  }
});
