// What counts as a failed node, and what is tried again on another node, per kind of traffic.
// Gateway traffic: the node's answer, a 5xx included, is the API's answer (a WSO2 gateway
// answers 503 when an API's own backend is down); only a connection error or a timeout fails
// the node and is retried. UI and management traffic: a 502/504 from a node that renders its own
// pages means it cannot serve, so the request goes to the next node; its 503 is passed through.
// A non-idempotent request (POST, PATCH) a node received is never sent to another node.
import { send, type FrontendResponse } from '../support/client.js';
import { LoopbackFrontend, onLoopback } from '../support/frontend.js';
import { example } from '../support/resources.js';

let frontend: LoopbackFrontend;

beforeAll(async () => {
  frontend = await LoopbackFrontend.start(onLoopback(example('apim-active-active.yaml'), 44));
});
afterAll(async () => {
  await frontend?.stop();
});

const received = () => frontend.nodes.reduce((sum, node) => sum + node.received, 0);

/** Sends one request and returns the response with how many requests the nodes received for it. */
async function sendCounted(
  host: string,
  path: string,
  method = 'GET',
): Promise<{ response: FrontendResponse; attempts: number }> {
  const before = received();
  const response = await send({
    scheme: 'https',
    port: frontend.ports.https,
    host,
    path,
    ca: frontend.ca,
    method,
    ...(method === 'GET' ? {} : { body: 'grant_type=password' }),
  });
  return { response, attempts: received() - before };
}

test("a gateway's 503 for an API whose backend is down reaches the client once and takes no gateway out", async () => {
  for (let i = 0; i < 8; i++) {
    const { response, attempts } = await sendCounted('gw.am.wso2.com', `/orders/v1/status/503?n=${i}`);
    expect(response.status).toBe(503);
    expect(response.answer?.path).toBe(`/orders/v1/status/503?n=${i}`);
    expect(attempts).toBe(1);
  }
  const nodes = new Set<string>();
  for (let i = 0; i < 10; i++) {
    const { response } = await sendCounted('gw.am.wso2.com', `/pets/v1/${i}`);
    expect(response.status).toBe(200);
    nodes.add(response.answer!.node);
  }
  expect([...nodes].sort()).toEqual(['node-1', 'node-2']);
});

test.each([502, 504])('a gateway answering %i is not tried again on another gateway', async (status) => {
  const { response, attempts } = await sendCounted('gw.am.wso2.com', `/orders/v1/status/${status}`);
  expect(response.status).toBe(status);
  expect(response.answer).toBeDefined();
  expect(attempts).toBe(1);
});

test("a portal node's own 503 is passed through, not retried", async () => {
  const { response, attempts } = await sendCounted('api.am.wso2.com', '/publisher/status/503');
  expect(response.status).toBe(503);
  expect(response.answer).toBeDefined();
  expect(attempts).toBe(1);
});

test.each([502, 504])('a portal node answering %i cannot serve: the request goes to the other node', async (status) => {
  const { response, attempts } = await sendCounted('api.am.wso2.com', `/publisher/status/${status}`);
  expect(attempts).toBe(2);
  expect(response.status).toBe(status);
});

test.each(['POST', 'PATCH'])(
  'a %s a portal node received and answered 502 is not sent to the other node: it may have acted on it',
  async (method) => {
    const { response, attempts } = await sendCounted('api.am.wso2.com', '/publisher/status/502', method);
    expect(attempts).toBe(1);
    expect(response.status).toBe(502);
    expect(response.answer).toMatchObject({ method, path: '/publisher/status/502' });
  },
);
