// IS 7 with the Console on its own host, through real NGINX to a fake IS node: the server block of
// docs-is en/includes/deploy/configure-console-hostname.md (Step 1). The Console's paths reach the
// node with the Console host, every other path stays out, and the identity host the node names in
// a redirect or in an HTML page comes back as the Console host, so the browser stays on it.
import { send } from '../support/client.js';
import { example, is7ConsoleFrontend } from '../support/resources.js';
import { loopbackFrontendFor } from './loopback.js';

const IDENTITY = 'login.example.com';
const CONSOLE = 'console.example.com';

describe('IS 7 Console host', () => {
  const frontend = loopbackFrontendFor(is7ConsoleFrontend(), 77);
  const port = () => frontend().ports.https;
  const get = (host: string, path: string, headers?: Record<string, string>) =>
    send({ scheme: 'https', port: port(), host, path, ca: frontend().ca, ...(headers ? { headers } : {}) });
  const manager = () => frontend().nodes.find((n) => n.name === 'manager')!;
  const managerPort = () => frontend().topology.upstreams.find((u) => u.name === 'management-https')!.port;

  test.each([
    '/console',
    '/console/index.html',
    '/t/carbon.super/console/',
    '/t/carbon.super/o/org-1/console',
    '/oauth2/authorize?client_id=CONSOLE',
    '/oidc/logout',
    '/authenticationendpoint/login.do',
    '/accountrecoveryendpoint/recoverpassword.do',
    '/commonauth',
    '/api/server/v1/applications',
    '/t/carbon.super/api/users/v1/me',
    '/o/api/server/v1/organizations',
    '/scim2/Users',
    '/logincontext',
  ])('%s on the Console host is proxied to the manager node, with the Console host', async (path) => {
    const response = await get(CONSOLE, path);
    expect(response.status).toBe(200);
    expect(response.answer).toMatchObject({ node: 'manager', path });
    expect(response.answer!.headers).toMatchObject({
      host: `${CONSOLE}:${port()}`,
      'x-forwarded-host': CONSOLE,
      'x-forwarded-proto': 'https',
    });
  });

  test.each(['/', '/carbon/admin/login.jsp', '/myaccount', '/t/carbon.super/myaccount', '/samlsso', '/passivests'])(
    '%s on the Console host answers 404 and reaches no node',
    async (path) => {
      const before = frontend().nodes.map((n) => n.received);
      const response = await get(CONSOLE, path);
      expect(response.status).toBe(404);
      expect(frontend().nodes.map((n) => n.received)).toEqual(before);
    },
  );

  test('a redirect the node sends to the identity host comes back to the Console host', async () => {
    manager().redirectNext = {
      port: managerPort(),
      count: 1,
      location: `https://${IDENTITY}:${port()}/console/login?code=42`,
    };
    const response = await get(CONSOLE, '/oauth2/authorize?client_id=CONSOLE');
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe(`https://${CONSOLE}:${port()}/console/login?code=42`);
  });

  test("a redirect to the node's own URL still comes back to the Console host", async () => {
    const response = await get(CONSOLE, '/console/redirect-to-self');
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe(`https://${CONSOLE}:${port()}/authenticationendpoint/login.do?from=manager`);
  });

  test('an HTML page naming the identity host comes back naming the Console host, uncompressed', async () => {
    const page = (host: string) =>
      `<html><head><script>var serverOrigin = "https://${host}:${port()}";</script></head>` +
      `<body><a href="https://${host}:${port()}/console">Console</a> issuer https://${host}:${port()}/oauth2/token</body></html>`;
    manager().htmlPage = page(IDENTITY);
    try {
      // The browser accepts gzip; a compressed answer would pass sub_filter unchanged.
      const response = await get(CONSOLE, '/console/index.html', { 'accept-encoding': 'gzip' });
      expect(response.status).toBe(200);
      expect(response.headers['content-encoding']).toBeUndefined();
      expect(response.body).toBe(page(CONSOLE));
      expect(manager().lastRequest!.headers['accept-encoding']).toBeUndefined();
    } finally {
      manager().htmlPage = undefined;
    }
  });

  test('the identity host is not rewritten: it proxies every path as before', async () => {
    const response = await get(IDENTITY, '/myaccount');
    expect(response.status).toBe(200);
    expect(response.answer).toMatchObject({ path: '/myaccount' });
    expect(response.answer!.node).toMatch(/^worker-[12]$/);
  });
});

// A Console host that contains the identity host: ending with it (the default hosts of
// is-pattern-1), or starting with it.
describe.each([
  ['is.wso2.com', 'mgt.is.wso2.com', 78],
  ['login.example.com', 'login.example.com.internal', 80],
])('IS 7 Console host that contains the identity host (%s, %s)', (identity, consoleHost, block) => {
  const resource = structuredClone(example('is-pattern-1.yaml'));
  delete resource.spec.version;
  resource.spec.sites = { identity: { host: identity }, management: { host: consoleHost } };
  const frontend = loopbackFrontendFor(resource, block);

  test('the Console host keeps its own name in a page where the identity host becomes it', async () => {
    const port = frontend().ports.https;
    const manager = frontend().nodes.find((n) => n.name === 'manager')!;
    const links = (host: string) =>
      `<a href="https://${host}:${port}/oauth2/token">token</a> <a href="https://${consoleHost}:${port}/console">Console</a>`;
    manager.htmlPage = links(identity);
    try {
      const response = await send({ scheme: 'https', port, host: consoleHost, path: '/console', ca: frontend().ca });
      expect(response.status).toBe(200);
      expect(response.body).toBe(links(consoleHost));
    } finally {
      manager.htmlPage = undefined;
    }
  });
});
