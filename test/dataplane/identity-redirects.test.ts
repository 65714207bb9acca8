// Seed 003: Identity Server endpoints answer with redirects that carry the node's own URL;
// NGINX rewrites them to the public host (proxy_redirect) on the endpoint locations.
import { send } from '../support/client.js';
import { LoopbackFrontend, onLoopback } from '../support/frontend.js';
import { example } from '../support/resources.js';

let frontend: LoopbackFrontend;

beforeAll(async () => {
  frontend = await LoopbackFrontend.start(onLoopback(example('is-pattern-1.yaml'), 43));
});
afterAll(async () => {
  await frontend?.stop();
});

test.each(['/commonauth', '/oauth2/authorize', '/oauth2/token', '/authenticationendpoint/', '/oauth2/userinfo'])(
  'a Location header pointing at a node URL from %s comes back rewritten to the public host',
  async (endpoint) => {
    const response = await send({
      scheme: 'https',
      port: frontend.ports.https,
      host: 'is.wso2.com',
      path: `${endpoint}/redirect-to-self`.replace('//', '/'),
      ca: frontend.ca,
    });
    expect(response.status).toBe(302);
    expect(response.headers.location).toMatch(
      new RegExp(
        `^https://is\\.wso2\\.com:${frontend.ports.https}/authenticationendpoint/login\\.do\\?from=worker-[12]$`,
      ),
    );
  },
);

test('over plain HTTP the same endpoints are proxied to :9763 and rewritten to the public HTTP URL', async () => {
  const response = await send({
    scheme: 'http',
    port: frontend.ports.http,
    host: 'is.wso2.com',
    path: '/commonauth/redirect-to-self',
  });
  expect(response.status).toBe(302);
  expect(response.headers.location).toMatch(
    new RegExp(`^http://is\\.wso2\\.com:${frontend.ports.http}/authenticationendpoint/login\\.do\\?from=worker-[12]$`),
  );
});

test('the management host reaches only the manager node', async () => {
  for (let i = 0; i < 5; i++) {
    const response = await send({
      scheme: 'https',
      port: frontend.ports.https,
      host: 'mgt.is.wso2.com',
      path: '/carbon/',
      ca: frontend.ca,
    });
    expect(response.answer).toMatchObject({ node: 'manager', port: 9443 });
  }
});
