// Passive health checks and retries: when a node stops, NGINX sends every request to the one
// that is left, sticky sessions included.
import { cookieFrom, send } from '../support/client.js';
import { LoopbackFrontend, onLoopback } from '../support/frontend.js';
import { example } from '../support/resources.js';

let frontend: LoopbackFrontend;

beforeAll(async () => {
  frontend = await LoopbackFrontend.start(onLoopback(example('apim-active-active.yaml'), 42));
});
afterAll(async () => {
  await frontend?.stop();
});

test('with one node stopped, every request to both hosts still succeeds on the other node', async () => {
  const before = await send({ scheme: 'https', port: frontend.ports.https, host: 'api.am.wso2.com', ca: frontend.ca });
  const cookie = `WSO2FE_ROUTE=${cookieFrom(before, 'WSO2FE_ROUTE')}`;
  const stopped = before.answer!.node;
  const survivor = stopped === 'node-1' ? 'node-2' : 'node-1';
  await frontend.node(stopped).stop();

  for (let i = 0; i < 30; i++) {
    for (const host of ['api.am.wso2.com', 'gw.am.wso2.com']) {
      const response = await send({
        scheme: 'https',
        port: frontend.ports.https,
        host,
        ca: frontend.ca,
        ...(host.startsWith('api') ? { cookie } : {}),
      });
      expect(response.status).toBe(200);
      expect(response.answer!.node).toBe(survivor);
    }
  }
});
