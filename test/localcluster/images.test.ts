// The images, built for real (scripts/test-images.sh, cached by their inputs) and run the way a
// restricted pod runs them (test/support/image-rootfs.ts: read-only root, the pod's uid, only
// the Deployment's volumes writable): the operator image's entrypoint; the NGINX image's agent
// serving a real ConfigMap with its NGINX as uid 101; the WSO2 stand-in going through both init
// containers (its own keytool, then the operator image's patch-product-config) and its
// entrypoint, answering as a WSO2 node with the patched files. And `npm run images`: its
// argument handling, and a build and push with the stand-in bases to the local registry.
import { execFile, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { pushTestImages, testImages, type TestImages } from '../../src/localcluster/images.js';
import { LocalRegistry } from '../../src/localcluster/registry.js';
import { PRODUCT_INFO, parseVersion } from '../../src/model/catalog.js';
import { roleConfiguration } from '../../src/model/product-config.js';
import { placementOf, productFilesScript, roleSettingsJson } from '../../src/render/workloads.js';
import { NGINX_STATE_DIR } from '../../src/render/objects.js';
import { issueCa } from '../../src/tls/issuer.js';
import {
  AgentProcess,
  agentObjects,
  createRunningNginxPod,
  issueCertificates,
  loopbackLayout,
  loopbackPorts,
  publishAgentObjects,
  servedCondition,
  singleNodeFrontend,
} from '../support/agent.js';
import { send } from '../support/client.js';
import { createNamespace, eventually, kubeConfig } from '../support/cluster.js';
import { FakeWso2Node } from '../support/fake-wso2.js';
import { topologyOf } from '../support/frontend.js';
import { ImageRootfs } from '../support/image-rootfs.js';
import { example } from '../support/resources.js';

const run = promisify(execFile);
const BLOCK = 93;
// Cold: the base stand-ins (mmdebstrap), the project's images (npm ci, tsc) and the WSO2 stand-ins.
const BUILD_TIMEOUT = 40 * 60_000;

let images: TestImages;
let registry: LocalRegistry;
let dir: string;

beforeAll(async () => {
  images = await testImages();
  registry = await LocalRegistry.start();
  dir = mkdtempSync(join(tmpdir(), 'wso2-frontend-images-'));
  chmodSync(dir, 0o755);
}, BUILD_TIMEOUT);

afterAll(async () => {
  await registry?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Opens the image's root file system for the test, and closes it after. */
async function withRootfs<T>(image: string, use: (rootfs: ImageRootfs) => Promise<T>): Promise<T> {
  const rootfs = await ImageRootfs.open(images, image);
  try {
    return await use(rootfs);
  } finally {
    await rootfs.close();
  }
}

/** A directory of the test's own that the container's user (uid) may write. */
function ownedDir(name: string, uid: number): string {
  const path = join(dir, name);
  mkdirSync(path, { recursive: true });
  chownSync(path, uid, uid);
  return path;
}

describe('npm run images', () => {
  const imagesCommand = (...args: string[]) =>
    spawnSync('bash', ['scripts/images.sh', ...args], { encoding: 'utf8', timeout: 60_000 });

  test.each([
    [[], /--registry is required/],
    [
      ['--registry', 'https://registry.example.com'],
      /--registry 'https:\/\/registry\.example\.com' is not host\[:port\]\[\/path\]/,
    ],
    [['--registry', 'registry.example.com/Team'], /lower-case path/],
    [['--registry', 'r.example.com', '--tag', '-1'], /--tag '-1' is not a valid tag/],
    [['--registry', 'r.example.com', '--builder', 'podman'], /--builder must be docker or buildah, not 'podman'/],
    [
      ['--registry', 'r.example.com', '--base-images', 'latest'],
      /--base-images must be pinned or stand-in, not 'latest'/,
    ],
    [['--registry', 'r.example.com', '--builder', 'docker', '--base-images', 'stand-in'], /needs --builder buildah/],
    [['--registry', 'r.example.com', '--pushh'], /unknown argument '--pushh' \(allowed: --registry, --tag, --push/],
    [['--registry'], /--registry needs a value/],
  ])('refuses %j, saying which argument and what is allowed', (args, message) => {
    const result = imagesCommand(...args);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('npm run images -- --registry REG');
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
  });

  test(
    'builds both images from the Dockerfile with one tag on the stand-in bases, pushes them and prints their references',
    async () => {
      const result = await run(
        'bash',
        [
          'scripts/images.sh',
          '--registry',
          `${registry.address}/team`,
          '--tag',
          'v1-test',
          '--push',
          '--base-images',
          'stand-in',
          '--insecure',
        ],
        { maxBuffer: 64 * 1024 * 1024 },
      );
      expect(result.stdout.trim().split('\n')).toEqual([
        `${registry.address}/team/wso2-frontend-operator:v1-test`,
        `${registry.address}/team/wso2-frontend-nginx:v1-test`,
      ]);
      expect(await registry.tags('team/wso2-frontend-operator')).toContain('v1-test');
      expect(await registry.tags('team/wso2-frontend-nginx')).toContain('v1-test');
      // The same Dockerfile and inputs as the tests' images: the layers are the ones built for them.
      const id = async (image: string) =>
        (await run('buildah', [...images.storage, 'inspect', '--format', '{{.FromImageID}}', image])).stdout.trim();
      expect(await id(`${registry.address}/team/wso2-frontend-operator:v1-test`)).toBe(await id(images.operator));
    },
    BUILD_TIMEOUT,
  );
});

describe('the local registry', () => {
  test(
    'serves every test image under a reference with its address; stopped, it leaves no process',
    async () => {
      const refs = await pushTestImages(registry, images);
      expect(refs.operator).toBe(`${registry.address}/${images.operator.replace(/^localhost\//, '')}`);
      expect(refs.nginx.split(':').pop()).toBe(refs.operator.split(':').pop());
      expect(refs.operatorDefault).toBe(`${registry.address}/wso2-frontend-operator:0.1.0`);
      for (const ref of [refs.operator, refs.nginx, ...Object.values(refs.wso2)]) {
        const [repository, tag] = ref.slice(registry.address.length + 1).split(/:(?=[^:]*$)/) as [string, string];
        expect(await registry.tags(repository)).toContain(tag);
      }
      // Pushed again, unchanged: the registry has every tag, nothing is pushed.
      const again = Date.now();
      expect(await pushTestImages(registry, images)).toEqual(refs);
      expect(Date.now() - again).toBeLessThan(10_000);
      expect(await registry.has(`${images.operator.replace(/^localhost\//, '')}`)).toBe(true);
      expect(await registry.has('wso2-frontend-operator:no-such-tag')).toBe(false);
      // A registry of its own, stopped: its process is gone and nothing answers on its port.
      const other = await LocalRegistry.start();
      const { address, pid } = other;
      expect(pid).toBeDefined();
      await other.stop();
      expect(() => process.kill(pid!, 0)).toThrow();
      await expect(fetch(`http://${address}/v2/`)).rejects.toThrow();
    },
    15 * 60_000,
  );
});

describe('the operator image', () => {
  test('its entrypoint runs the operator command as uid 1000 on a read-only root', async () => {
    await withRootfs(images.operator, async (rootfs) => {
      expect(rootfs.config.User).toBe('1000:1000');
      const help = await rootfs.exec(rootfs.entrypoint(['--help']), { readOnlyRoot: true });
      expect(help.stdout).toMatch(/wso2-frontend operator/);
      // The development commands are left out of the image (the Dockerfile removes them from dist/).
      await expect(rootfs.exec(rootfs.entrypoint(['start']), { readOnlyRoot: true })).rejects.toThrow(
        /'start' is a development command, not installed here/,
      );
      const usage = await rootfs.exec(rootfs.entrypoint(['patch-product-config', '--help']), { readOnlyRoot: true });
      expect(usage.stdout).toMatch(/^wso2-frontend patch-product-config --config FILE/);
      const who = await rootfs.exec(['id', '-u'], { readOnlyRoot: true });
      expect(who.stdout.trim()).toBe('1000');
      await expect(rootfs.exec(['touch', '/app/x'], { readOnlyRoot: true })).rejects.toThrow(/Read-only file system/);
    });
  });
});

describe('the NGINX image', () => {
  test(
    'its agent serves a real ConfigMap with its NGINX as uid 101, on a read-only root with only the state directory writable',
    async () => {
      const namespace = await createNamespace('images');
      const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
      const pod = 'apim-single-nginx-0';
      await createRunningNginxPod(core, namespace, pod);
      const node = new FakeWso2Node('node-1', `127.0.${BLOCK}.1`, { https: [9443, 8243], http: [] });
      await node.start();
      try {
        const resource = singleNodeFrontend(BLOCK, namespace, 'node-1');
        const ports = await loopbackPorts();
        const certs = issueCertificates(topologyOf(resource));
        const hash = await publishAgentObjects(core, resource, loopbackLayout(ports), certs);
        // The agent's kubeconfig, readable by uid 101 (in a pod: its ServiceAccount token).
        const kubeconfig = join(ownedDir('agent-config', 101), 'kubeconfig');
        copyFileSync(process.env.KUBECONFIG!, kubeconfig);
        chownSync(kubeconfig, 101, 101);
        // As AgentProcess lays it out: NGINX's state directory, its log and termination file beside it.
        ownedDir('agent', 101);
        const state = ownedDir('agent/nginx', 101);
        // The container's output, which its user may reopen (/dev/stdout), as a pod's.
        writeFileSync(join(dir, 'agent', 'agent.log'), '');
        chownSync(join(dir, 'agent', 'agent.log'), 101, 101);
        const termination = join(dir, 'agent', 'termination-log');
        writeFileSync(termination, '');
        chownSync(termination, 101, 101);
        await withRootfs(images.nginx, async (rootfs) => {
          expect(rootfs.config.User).toBe('101:101');
          // The signal a pod's stop sends the agent (PID 1, which handles SIGTERM), not NGINX's SIGQUIT.
          expect(rootfs.config.StopSignal).toBe('SIGTERM');
          const agent = await AgentProcess.start({
            namespace,
            pod,
            frontend: resource,
            secretFlags: agentObjects(resource, topologyOf(resource), loopbackLayout(ports), certs).secretFlags,
            dir: state,
            ports,
            // The image's entrypoint with the agent's flags (the host's paths swapped for the pod's).
            wrap: (command) => {
              const args = command.slice(command.indexOf('agent') + 1);
              const swap = (flag: string, value: string) => (args[args.indexOf(flag) + 1] = value);
              swap('--nginx', 'nginx');
              swap('--state-dir', NGINX_STATE_DIR);
              swap('--termination-message-path', '/dev/termination-log');
              return rootfs.command(rootfs.entrypoint(args), {
                readOnlyRoot: true,
                binds: [
                  { host: state, container: NGINX_STATE_DIR },
                  { host: kubeconfig, container: '/etc/wso2-frontend-test/kubeconfig', readOnly: true, file: true },
                  { host: termination, container: '/dev/termination-log', file: true },
                ],
                env: { POD_NAME: pod, POD_NAMESPACE: namespace, KUBECONFIG: '/etc/wso2-frontend-test/kubeconfig' },
              });
            },
          });
          try {
            await eventually(
              'the agent in the NGINX image to report the ConfigMap served',
              async () => {
                agent.assertRunning();
                const served = await servedCondition(core, namespace, pod);
                return served?.hash === hash && served.condition.status === 'True' ? served : undefined;
              },
              90_000,
            ).catch((error: Error) => {
              throw new Error(`${error.message}\nagent log:\n${agent.log()}`);
            });
            // NGINX serves through the agent's configuration, to the node.
            const answer = await send({
              scheme: 'https',
              port: ports.https,
              host: 'api.am.wso2.com',
              path: '/api/am/devportal/v3/apis',
              ca: certs.ca.certificatePem,
            });
            expect(answer.status).toBe(200);
            expect(answer.answer?.node).toBe('node-1');
            // NGINX's master and its workers run as 101, with the pod's state directory as their prefix.
            const master = agent.masterPid()!;
            expect(readFileSync(`/proc/${master}/cmdline`, 'utf8')).toContain(`${NGINX_STATE_DIR}/`);
            const workers = spawnSync('pgrep', ['-P', String(master)], { encoding: 'utf8' })
              .stdout.trim()
              .split('\n');
            expect(workers.filter(Boolean).length).toBeGreaterThanOrEqual(1);
            for (const pid of [master, ...workers]) {
              const uids = /^Uid:\s+(\d+)\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
              expect([uids?.[1], uids?.[2]]).toEqual(['101', '101']);
            }
          } finally {
            await agent.stop();
          }
        });
      } finally {
        await node.stop();
      }
      await core.deleteNamespace({ name: namespace });
    },
    5 * 60_000,
  );
});

// One frontend per WSO2 stand-in: an example of its product, at its version.
const EXAMPLE_OF: Record<string, string> = {
  'api-manager:4.5.0': 'apim-distributed.yaml',
  'api-manager:4.4.0': 'apim-distributed.yaml',
  'api-manager:2.6.0': 'apim-2-active-active.yaml',
  'identity-server:7.1.0': 'is-7-managed.yaml',
  'enterprise-integrator:6.6.0': 'ei-cluster.yaml',
  'micro-integrator:4.4.0': 'mi-cluster.yaml',
};

/** GET over HTTPS from the stand-in (its certificate is its own, made at start). */
function get(port: number, path: string, cookie?: string) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>(
    (resolve, reject) => {
      const req = request(
        {
          host: `127.0.${BLOCK}.2`,
          port,
          path,
          rejectUnauthorized: false,
          headers: cookie ? { cookie } : {},
        },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        },
      );
      req.once('error', reject);
      req.end();
    },
  );
}

describe('the WSO2 stand-in', () => {
  test('is built for every product and version the tests use', () => {
    expect(Object.keys(images.wso2).sort()).toEqual(Object.keys(EXAMPLE_OF).sort());
  });

  test.each(Object.keys(EXAMPLE_OF))(
    '%s: both init containers and the entrypoint run as in a pod; it serves the patched files on its ports',
    async (key) => {
      const [product, version] = key.split(':') as [keyof typeof PRODUCT_INFO, string];
      const resource = example(EXAMPLE_OF[key]!);
      resource.spec.version = version;
      const topology = topologyOf(resource);
      const role = topology.productSettings.roles[0]!.role;
      const config = roleConfiguration(topology, placementOf(resource), role);
      const uid = PRODUCT_INFO[product].imageUser(parseVersion(version)!);
      const work = ownedDir(key.replace(':', '-'), uid);
      const base = ownedDir(`${key.replace(':', '-')}/base`, uid);
      const out = ownedDir(`${key.replace(':', '-')}/config`, uid);
      const settings = join(work, 'settings.json');
      writeFileSync(settings, roleSettingsJson(config));
      const ca = join(work, 'ca.crt');
      const frontendCa = issueCa('images test CA', { now: new Date() });
      writeFileSync(ca, frontendCa.certificatePem);
      const user = `${uid}:${uid}`;

      await withRootfs(images.wso2[key]!, async (wso2) => {
        expect(wso2.config.User).toBe(String(uid));
        // 1. The product-files init container: the image's own files out, its keytool adds the CA.
        await wso2.exec(['sh', '-c', productFilesScript(config)], {
          user,
          readOnlyRoot: true,
          binds: [
            { host: base, container: '/wso2-frontend/base' },
            { host: out, container: '/wso2-frontend/config' },
            { host: ca, container: '/wso2-frontend/lb-ca/ca.crt', readOnly: true, file: true },
          ],
        });
        // 2. The patch-product-config init container, in the operator image.
        await withRootfs(images.operator, (operator) =>
          operator.exec(
            operator.entrypoint([
              'patch-product-config',
              '--config',
              '/wso2-frontend/settings/settings.json',
              '--home',
              '/wso2-frontend/base',
              '--out',
              '/wso2-frontend/config',
            ]),
            {
              user,
              readOnlyRoot: true,
              binds: [
                { host: settings, container: '/wso2-frontend/settings/settings.json', readOnly: true, file: true },
                { host: base, container: '/wso2-frontend/base', readOnly: true },
                { host: out, container: '/wso2-frontend/config' },
              ],
            },
          ),
        );
        // 3. The entrypoint: the config volume copied over the home, then the server.
        const [binary, args] = wso2.command(wso2.entrypoint(), {
          user,
          binds: [{ host: out, container: '/home/wso2carbon/wso2-config-volume', readOnly: true }],
          env: { WSO2_STAND_IN_ADDRESS: `127.0.${BLOCK}.2` },
        });
        const server = execFile(binary, args);
        let output = '';
        server.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
        server.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
        try {
          const httpsPort = Number(/^WSO2_STAND_IN_HTTPS_PORTS=(\d+)/m.exec((wso2.config.Env ?? []).join('\n'))?.[1]);
          const first = await eventually(
            `the ${key} stand-in to answer on ${httpsPort}`,
            () => get(httpsPort, '/carbon/admin/login.jsp').catch(() => undefined),
            60_000,
          ).catch((error: Error) => {
            throw new Error(`${error.message}\noutput:\n${output}`);
          });
          expect(first.status).toBe(200);
          expect(JSON.parse(first.body)).toMatchObject({
            port: httpsPort,
            scheme: 'https',
            path: '/carbon/admin/login.jsp',
          });
          const cookie = String(first.headers['set-cookie']).split(';')[0]!;
          expect(cookie).toMatch(/^JSESSIONID=.+\.1$/);
          expect((await get(httpsPort, '/', cookie)).headers['set-cookie']).toBeUndefined();
          const redirect = await get(httpsPort, '/oauth2/redirect-to-self');
          expect(redirect.status).toBe(302);
          expect(redirect.headers.location).toMatch(
            new RegExp(`^https://127\\.0\\.${BLOCK}\\.2:${httpsPort}/authenticationendpoint/login\\.do\\?from=`),
          );
          expect((await get(httpsPort, '/api/status/503')).status).toBe(503);
          // Every patched file, as the product started with it: the operator's keys are in it.
          for (const file of config.files) {
            const served = await get(httpsPort, `/stand-in/files/${file.path}`);
            if (!file.required && served.status === 404) continue;
            expect(served.status).toBe(200);
            expect(served.body).toBe(readFileSync(join(out, file.path), 'utf8'));
          }
          const main = config.files.find((f) => f.required) ?? config.files[0]!;
          const host = topology.sites[0]!.host;
          expect((await get(httpsPort, `/stand-in/files/${main.path}`)).body).toContain(host);
          // The truststore in the home has the frontend's CA next to WSO2's own entry.
          const list = await wso2.exec(
            [
              'sh',
              '-c',
              '"$JAVA_HOME/bin/keytool" -list -storepass wso2carbon -keystore "$WSO2_SERVER_HOME"/repository/resources/security/client-truststore.*',
            ],
            { user },
          );
          expect(list.stdout).toMatch(/wso2-frontend-lb-ca/);
          expect(list.stdout).toMatch(/wso2carbon/);
          // Only files under the product home.
          expect((await get(httpsPort, '/stand-in/files/..%2f..%2f..%2fetc%2fpasswd')).status).toBe(404);
        } finally {
          server.kill('SIGTERM');
          await new Promise((resolve) => server.once('exit', resolve));
        }
      });
    },
    5 * 60_000,
  );
});
