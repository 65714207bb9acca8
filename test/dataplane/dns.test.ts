// External nodes named by DNS (seed 004's example): NGINX resolves them at run time through its
// resolver, so a name that does not resolve neither stops NGINX from starting nor from reloading,
// and a changed answer is followed without a reload. A DNS server on loopback plays the cluster's.
import { send } from '../support/client.js';
import { TestDns } from '../support/dns.js';
import { FakeWso2Node } from '../support/fake-wso2.js';
import { LoopbackFrontend } from '../support/frontend.js';
import { nginxTest } from '../support/nginx.js';
import { example } from '../support/resources.js';

const NODE_1 = 'apim-1.internal.example.com';
const NODE_2 = 'apim-2.internal.example.com';
const GATEWAY = 'api.example.com';

let dns: TestDns;
let frontend: LoopbackFrontend;
let moved: FakeWso2Node;

beforeAll(async () => {
  dns = await TestDns.start();
  dns.set(NODE_1, '127.0.48.1');
  frontend = await LoopbackFrontend.start(example('apim-2-active-active.yaml'), 1, {
    resolver: `127.0.0.1:${dns.port}`,
    listenOn: { 'node-1': '127.0.48.1', 'node-2': '127.0.48.2' },
  });
  const node1 = frontend.node('node-1');
  moved = new FakeWso2Node('node-1-moved', '127.0.48.3', node1.ports);
  await moved.start();
});
afterAll(async () => {
  await frontend?.stop();
  await moved?.stop();
  await dns?.stop();
});

const gateway = (path = '/') =>
  send({ scheme: 'https', port: frontend.ports.https, host: GATEWAY, path, ca: frontend.ca });

/** Sends requests until one is answered by `node` (NGINX re-resolves as the answers' TTL says); fails after 30 s. */
async function until(node: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await gateway()).answer?.node !== node) {
    if (Date.now() > deadline) throw new Error(`${node} never answered:\n${frontend.instances[0]!.nginx.log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("NGINX starts while one node's name does not resolve, and the other node serves", async () => {
  // NGINX resolves the names once its workers run; the first requests may come before an answer.
  await until('node-1');
  expect(dns.queries.get(NODE_2)).toBeGreaterThan(0);
  for (let i = 0; i < 10; i++) {
    const response = await gateway(`/pets/${i}`);
    expect(response.status).toBe(200);
    expect(response.answer!.node).toBe('node-1');
  }
});

test('a name that starts to resolve is followed without a reload', async () => {
  const master = frontend.instances[0]!.nginx.pid;
  dns.set(NODE_2, '127.0.48.2');
  await until('node-2');
  expect(frontend.instances[0]!.nginx.pid).toBe(master);
  expect(frontend.instances[0]!.nginx.log()).not.toContain('reconfiguring');
});

test('a changed answer moves the traffic to the new address without a reload', async () => {
  dns.set(NODE_1, '127.0.48.3');
  await until('node-1-moved');
  const before = frontend.node('node-1').received;
  for (let i = 0; i < 20; i++) expect((await gateway(`/after-move/${i}`)).status).toBe(200);
  expect(frontend.node('node-1').received).toBe(before);
  expect(frontend.instances[0]!.nginx.log()).not.toContain('reconfiguring');
});

test('with no name resolving, nginx -t passes and a reload succeeds; traffic resumes when DNS answers', async () => {
  dns.set(NODE_1, undefined);
  dns.set(NODE_2, undefined);
  const instance = frontend.instances[0]!;
  expect(nginxTest(instance.dir)).toEqual({ ok: true, output: '' });
  instance.nginx.reload();
  const deadline = Date.now() + 20_000;
  while (!/reconfiguring[\s\S]*start worker process/.test(instance.nginx.log())) {
    if (Date.now() > deadline) throw new Error(`no reload:\n${instance.nginx.log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(instance.nginx.log()).not.toMatch(/\[emerg\]/);
  dns.set(NODE_2, '127.0.48.2');
  await until('node-2');
});
