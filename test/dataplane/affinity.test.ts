// Session affinity on community NGINX. Cookie mode: NGINX's sticky cookie, issued on the first
// response, names the node (by a route derived from its name), so new clients spread over the
// nodes, each client stays on its node, and every replica with the same configuration picks the
// same node. Client-IP mode (ip_hash) pins by the client's address.
import { cookieFrom, send } from '../support/client.js';
import { LoopbackFrontend, onLoopback } from '../support/frontend.js';
import { example } from '../support/resources.js';

const COOKIE = 'WSO2FE_ROUTE';

describe('cookie affinity (apim-active-active portal)', () => {
  let frontend: LoopbackFrontend;
  const host = 'api.am.wso2.com';

  beforeAll(async () => {
    frontend = await LoopbackFrontend.start(onLoopback(example('apim-active-active.yaml'), 40), 2);
  });
  afterAll(async () => {
    await frontend?.stop();
  });

  const portal = (instance: number, cookie?: string) => {
    const { ports, ca } = frontend.instances[instance]!;
    return send({ scheme: 'https', port: ports.https, host, ca, ...(cookie ? { cookie } : {}) });
  };

  test('the first response sets the affinity cookie, and a client that has it keeps the same route', async () => {
    const first = await portal(0);
    const route = cookieFrom(first, COOKIE);
    expect(route).toMatch(/^[0-9a-f]{16}$/);
    expect(String(first.headers['set-cookie'])).toContain(
      `${COOKIE}=${route}; httponly; secure; samesite=none; path=/`,
    );
    const second = await portal(0, `${COOKIE}=${route}`);
    expect(cookieFrom(second, COOKIE)).toBe(route);
    expect(second.answer!.node).toBe(first.answer!.node);
  });

  test('200 new clients from one address spread over both nodes, neither getting more than 65%', async () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const node = (await portal(0)).answer!.node;
      counts.set(node, (counts.get(node) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(['node-1', 'node-2']);
    for (const n of counts.values()) expect(n).toBeLessThanOrEqual(130);
  });

  test('each client stays on the node of its first response for 50 requests', async () => {
    for (let client = 0; client < 20; client++) {
      const first = await portal(0);
      const cookie = `${COOKIE}=${cookieFrom(first, COOKIE)}`;
      const nodes = new Set([first.answer!.node]);
      for (let i = 0; i < 50; i++) nodes.add((await portal(0, cookie)).answer!.node);
      expect([...nodes]).toEqual([first.answer!.node]);
    }
  });

  test('a second NGINX with the same configuration sends the same cookie to the same node', async () => {
    for (let client = 0; client < 40; client++) {
      const first = await portal(0);
      const cookie = `${COOKIE}=${cookieFrom(first, COOKIE)}`;
      expect((await portal(1, cookie)).answer!.node).toBe(first.answer!.node);
    }
  });

  test('the gateway host of the same pattern is not sticky: requests alternate between the nodes', async () => {
    const nodes: string[] = [];
    for (let i = 0; i < 6; i++) {
      const response = await send({
        scheme: 'https',
        port: frontend.ports.https,
        host: 'gw.am.wso2.com',
        ca: frontend.ca,
      });
      expect(cookieFrom(response, COOKIE)).toBeUndefined();
      nodes.push(response.answer!.node);
    }
    expect(new Set(nodes).size).toBe(2);
  });
});

describe('client-IP affinity (apim-ha-publisher example, ip_hash)', () => {
  let frontend: LoopbackFrontend;

  beforeAll(async () => {
    frontend = await LoopbackFrontend.start(onLoopback(example('apim-ha-publisher.yaml'), 41));
  });
  afterAll(async () => {
    await frontend?.stop();
  });

  // ip_hash keys on the first three octets of an IPv4 address, so clients differ in the third.
  const fromClient = (n: number) =>
    send({
      scheme: 'https',
      port: frontend.ports.https,
      host: 'publisher.am.wso2.com',
      ca: frontend.ca,
      localAddress: `127.0.${100 + n}.1`,
    });

  test('each client address always reaches the same node, and different addresses use both nodes', async () => {
    const nodeOf = new Map<number, string>();
    for (let client = 0; client < 24; client++) {
      const nodes = new Set<string>();
      for (let i = 0; i < 5; i++) nodes.add((await fromClient(client)).answer!.node);
      expect(nodes.size).toBe(1);
      nodeOf.set(client, [...nodes][0]!);
    }
    expect(new Set(nodeOf.values()).size).toBe(2);
  });
});
