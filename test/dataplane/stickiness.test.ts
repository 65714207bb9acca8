// Stickiness as browsers and failures exercise it: a session that failed over stays on the node
// that served it last once the first node is back; the HTTP and HTTPS listeners of one role send
// the same route to the same node without two cookies of one name; and Identity Server's route
// cookie comes back on the cross-site form POSTs of SAML and OIDC form_post logins.
import { BrowserCookies, send, type FrontendResponse } from '../support/client.js';
import { LoopbackFrontend, onLoopback } from '../support/frontend.js';
import { example } from '../support/resources.js';

const ROUTE = 'WSO2FE_ROUTE';

/** The Set-Cookie lines of a response, one per cookie. */
const setCookies = (response: FrontendResponse): string[] => {
  const header = response.headers['set-cookie'] ?? [];
  return Array.isArray(header) ? header : [header];
};

describe('failover, then recovery (apim-active-active portal)', () => {
  let frontend: LoopbackFrontend;
  const host = 'api.am.wso2.com';

  beforeAll(async () => {
    frontend = await LoopbackFrontend.start(onLoopback(example('apim-active-active.yaml'), 47));
  });
  afterAll(async () => {
    await frontend?.stop();
  });

  const portal = (cookies: BrowserCookies) =>
    send({
      scheme: 'https',
      port: frontend.ports.https,
      host,
      ca: frontend.ca,
      ...(cookies.header('https', 'same-site') ? { cookie: cookies.header('https', 'same-site') } : {}),
    }).then((response) => {
      cookies.store(response, 'https');
      return response;
    });

  test('a session that failed over stays on the node that served it last when the first node comes back', async () => {
    const browser = new BrowserCookies();
    const first = (await portal(browser)).answer!.node;
    const other = first === 'node-1' ? 'node-2' : 'node-1';

    await frontend.node(first).stop();
    const failedOver = await portal(browser);
    expect(failedOver.status).toBe(200);
    expect(failedOver.answer!.node).toBe(other);

    await frontend.node(first).start();
    // Wait until NGINX sends new clients to the recovered node again (its failure has expired).
    const deadline = Date.now() + 30_000;
    while ((await portal(new BrowserCookies())).answer!.node !== first) {
      if (Date.now() > deadline) throw new Error(`${first} never served again after it came back`);
      await new Promise((r) => setTimeout(r, 200));
    }
    for (let i = 0; i < 10; i++) expect((await portal(browser)).answer!.node).toBe(other);
  });
});

describe('Identity Server (is-pattern-1): one role on HTTPS 9443 and HTTP 9763', () => {
  let frontend: LoopbackFrontend;
  const host = 'is.wso2.com';

  beforeAll(async () => {
    frontend = await LoopbackFrontend.start(onLoopback(example('is-pattern-1.yaml'), 46));
  });
  afterAll(async () => {
    await frontend?.stop();
  });

  const https = (path: string, cookie?: string) =>
    send({ scheme: 'https', port: frontend.ports.https, host, path, ca: frontend.ca, ...(cookie ? { cookie } : {}) });
  const http = (path: string, cookie?: string) =>
    send({ scheme: 'http', port: frontend.ports.http, host, path, ...(cookie ? { cookie } : {}) });

  test('the HTTPS route cookie is Secure, the HTTP one is not, and they do not share a name', async () => {
    const secure = setCookies(await https('/'));
    const plain = setCookies(await http('/'));
    const routeOf = (lines: string[]) => lines.find((l) => !l.startsWith('JSESSIONID='))!;
    const [secureName, plainName] = [routeOf(secure), routeOf(plain)].map((l) => l.slice(0, l.indexOf('=')));
    expect(secureName).toBe(ROUTE);
    expect(plainName).not.toBe(secureName);
    expect(routeOf(secure)).toMatch(/; secure(;|$)/i);
    expect(routeOf(plain)).not.toMatch(/; secure(;|$)/i);
  });

  test('a route from the HTTPS listener reaches the same node on the HTTP listener', async () => {
    const plainName = setCookies(await http('/'))
      .find((l) => !l.startsWith('JSESSIONID='))!
      .split('=')[0]!;
    for (let probe = 0; probe < 10; probe++) {
      const first = await https(`/probe/${probe}`);
      const route = setCookies(first)
        .find((l) => l.startsWith(`${ROUTE}=`))!
        .split(/[=;]/)[1]!;
      const overHttp = await http(`/probe/${probe}`, `${plainName}=${route}`);
      expect(overHttp.answer!.node).toBe(first.answer!.node);
      expect(overHttp.answer!.port).toBe(9763);
    }
  });

  test('a cross-site form POST to /commonauth carries the route cookie to the node that served the login page', async () => {
    for (let flow = 0; flow < 20; flow++) {
      const browser = new BrowserCookies();
      const login = await https('/oauth2/authorize?response_mode=form_post');
      browser.store(login, 'https');
      expect(setCookies(login).find((l) => l.startsWith(`${ROUTE}=`))).toMatch(
        /^WSO2FE_ROUTE=[^;]+; .*Secure.*; SameSite=None|^WSO2FE_ROUTE=[^;]+; .*SameSite=None.*; Secure/i,
      );
      const cookie = browser.header('https', 'cross-site', 'POST');
      expect(cookie).toContain(`${ROUTE}=`);
      const post = await send({
        scheme: 'https',
        port: frontend.ports.https,
        host,
        path: '/commonauth',
        ca: frontend.ca,
        method: 'POST',
        body: 'SAMLResponse=PHNhbWxwOlJlc3BvbnNlLz4%3D&RelayState=flow',
        headers: { origin: 'https://idp.example.org', 'sec-fetch-site': 'cross-site' },
        ...(cookie ? { cookie } : {}),
      });
      expect(post.answer).toMatchObject({ method: 'POST', path: '/commonauth', node: login.answer!.node });
    }
  });
});
