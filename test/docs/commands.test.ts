// Every command in a ```sh block of README.md and docs/ runs in a test: here, as written, against
// this run's control plane with the operator running (the few substitutions below each say why),
// or in the test file named, which runs that command itself. A new command without either fails.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNamespace, kubectl } from '../support/cluster.js';
import { NGINX } from '../support/nginx.js';
import { OperatorProcess } from '../support/operator-process.js';
import { installCrd } from '../support/resources.js';
import { allBlocks, type Block } from './markdown.js';

interface Command {
  where: string;
  command: string;
}

/** The commands of a block: continuation lines joined, comments and blank lines left out. */
function commandsOf(block: Block): Command[] {
  const commands: Command[] = [];
  let pending = '';
  block.text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\s+#.*$/, '').trim();
    if (!line || line.startsWith('#')) return;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      return;
    }
    commands.push({ where: `${block.file}:${block.line + 1 + i}`, command: pending + line });
    pending = '';
  });
  return commands;
}

const shellBlocks = allBlocks('sh');
const commands = shellBlocks.flatMap(commandsOf);

/** Commands another test runs itself: the command, the file, and a phrase of that file that runs it. */
const ELSEWHERE: { command: RegExp; file: string; runs: string }[] = [
  { command: /^npm ci && npm test$/, file: '.ci/run', runs: 'npm ci && npm test' },
  // npm start with no cluster: the suite's own `npm ci` came first; start.test.ts runs `npm start`.
  { command: /^(npm ci && )?npm start$/, file: 'test/cli/start.test.ts', runs: "spawn('npm', ['start'" },
  {
    command: /^kubectl apply -k deploy\/$/,
    file: 'test/gitops/kustomization.test.ts',
    runs: "['apply', '-k', 'deploy/']",
  },
  {
    command: /^kubectl apply -k deploy\/namespaced\/$/,
    file: 'test/gitops/rbac.test.ts',
    runs: "'kustomize', 'deploy/namespaced/'",
  },
  // helm: installed on the real node, into a namespace created and labelled first, and uninstalled there.
  {
    command: /^kubectl create namespace wso2-frontend-system$/,
    file: 'test/realnode/install.test.ts',
    runs: "kubectl(['create', 'namespace', this.namespace])",
  },
  {
    command:
      /^helm install wso2-frontend-operator deploy\/helm\/wso2-frontend-operator --namespace wso2-frontend-system$/,
    file: 'test/realnode/install.test.ts',
    runs: "['install', RELEASE, CHART, '--namespace', this.namespace",
  },
  // Argo CD's CRDs are not installed here; the Application's health check runs in argocd-health.
  {
    command: /^kubectl apply -f deploy\/argocd\/application\.yaml$/,
    file: 'test/gitops/argocd-health.test.ts',
    runs: 'argocd',
  },
  // npm test builds first (package.json's pretest), and every test file here runs on that build.
  { command: /^npm run build$/, file: 'package.json', runs: '&& npm run build"' },
  {
    command:
      /^npx wso2-frontend render -f examples\/apim-active-active\.yaml( --nginx-dir \/tmp\/apim --https-port 8443)?$/,
    file: 'test/cli/render.test.ts',
    runs: "doc.indexOf('## Render offline')",
  },
  // The foreground serve command, as render prints it: run there, and stopped with Ctrl-C.
  {
    command: /^"\$\(bash scripts\/nginx-binaries\.sh\)" -e stderr -p \/tmp\/apim\/ -c nginx\.conf -g 'daemon off;'$/,
    file: 'test/cli/render.test.ts',
    runs: 'render --nginx-dir prints a serve command that runs as printed',
  },
  // npm run images is scripts/images.sh: built, pushed to a local registry and printed there.
  {
    command:
      /^npm run images -- --registry registry\.example\.com\/platform( --tag 0\.1\.0-rc1 --builder buildah)? --push$/,
    file: 'test/localcluster/images.test.ts',
    runs: "'scripts/images.sh',",
  },
  // The CRD on its own, before the operator's install (the permissions test installs it so).
  {
    command: /^kubectl apply --server-side -f crds\/$/,
    file: 'test/gitops/rbac.test.ts',
    runs: "['apply', '--server-side', '-f', 'crds/']",
  },
  // npm start with a real node: run as documented, its curl asked, stopped with Ctrl-C.
  {
    command: /^sudo npm start -- --node real$/,
    file: 'test/realnode-start/start.test.ts',
    runs: "spawn('npm', ['start', '--ignore-scripts', '--', '--node', 'real']",
  },
  // One real-node file run alone: the real-node project of jest.config.js runs every such file.
  {
    command: /^sudo node --experimental-vm-modules node_modules\/jest\/bin\/jest\.js test\/realnode\/node\.test\.ts$/,
    file: 'jest.config.js',
    runs: "roots: ['<rootDir>/test/realnode']",
  },
  // One CA for the product configuration and the NGINX tree of two renders.
  {
    command:
      /^npx wso2-frontend render -f examples\/apim-active-active\.yaml (--product-config \/tmp\/apim-nodes|--nginx-dir \/tmp\/apim-2 --ca-dir \/tmp\/apim-nodes\/_ca)$/,
    file: 'test/cli/render.test.ts',
    runs: 'the product configuration and the NGINX tree of two renders share one CA',
  },
];

test('every command in README.md and docs/ runs here or in a named test', () => {
  expect(commands.length).toBeGreaterThan(15);
  const here = new Set(HERE.flatMap((h) => h.commands));
  const unaccounted = commands.filter((c) => !here.has(c.command) && !ELSEWHERE.some((e) => e.command.test(c.command)));
  expect(unaccounted).toEqual([]);
});

test.each(ELSEWHERE.map((e) => [e.file, e] as const))('%s runs its documented command', (_file, e) => {
  expect(readFileSync(e.file, 'utf8')).toContain(e.runs);
  expect(commands.some((c) => e.command.test(c.command))).toBe(true);
});

// ---- The commands run here -------------------------------------------------------------------

const scratch = mkdtempSync(join(tmpdir(), 'docs-commands-'));
/** A loopback address no other test file uses: the preview NGINX listens on 8080 and 8443. */
const BIND = '127.0.201.1';
let namespace = '';
let kubeconfig = '';
let operator: OperatorProcess | undefined;

beforeAll(async () => {
  await installCrd();
  namespace = await createNamespace('docs');
  // The reader's kubeconfig: this run's cluster, with the test's namespace as the current one.
  kubeconfig = join(scratch, 'kubeconfig');
  writeFileSync(kubeconfig, await kubectl(['config', 'view', '--raw']));
  await kubectl(['--kubeconfig', kubeconfig, 'config', 'set-context', '--current', `--namespace=${namespace}`]);
  operator = await OperatorProcess.start(['--namespace', namespace, '--health-port', '0']);
  // What `npm start` applies before it prints the tour.
  await kubectl(['apply', '--server-side', '-n', namespace, '-f', 'examples/apim-active-active.yaml']);
  await kubectl(['wait', '-n', namespace, '--for=condition=Ready', '--timeout=90s', 'wso2frontend/apim-active-active']);
}, 180_000);

afterAll(async () => {
  await operator?.stop();
  spawnSync(NGINX, ['-p', join(scratch, 'apim'), '-c', 'nginx.conf', '-s', 'quit'], { stdio: 'ignore' });
  rmSync(scratch, { recursive: true, force: true });
});

/** Runs a block's commands in one shell, as a reader pastes them, with the listed substitutions. */
function run(commandsToRun: string[], substitutions: [string | RegExp, string][] = []): string {
  let script = commandsToRun.join('\n');
  for (const [from, to] of substitutions) script = script.replaceAll(from, to);
  // Output to files, not pipes: Node's pipes are sockets, where NGINX cannot open /dev/stdout.
  const out = join(scratch, 'out');
  const err = join(scratch, 'err');
  const [stdout, stderr] = [openSync(out, 'w'), openSync(err, 'w')];
  const result = spawnSync('bash', ['-euo', 'pipefail', '-c', script], {
    stdio: ['ignore', stdout, stderr],
    env: { ...process.env, KUBECONFIG: kubeconfig },
    timeout: 120_000,
  });
  closeSync(stdout);
  closeSync(stderr);
  const output = readFileSync(out, 'utf8');
  if (result.status !== 0)
    throw new Error(`exit ${result.status}:\n${script}\n${output}\n${readFileSync(err, 'utf8')}`);
  return output;
}

const blockAt = (file: string, containing: string): string[] => {
  const block = shellBlocks.find((b) => b.file === file && b.text.includes(containing));
  if (!block) throw new Error(`${file} has no sh block with ${containing}`);
  return commandsOf(block).map((c) => c.command);
};

const HERE: { name: string; commands: string[]; check: (commands: string[]) => void }[] = [
  {
    name: 'README: the tour looks at the frontend npm start applied',
    commands: blockAt('README.md', 'kubectl events --for'),
    check: (c) => {
      // The path npm start prints is this run's kubeconfig here.
      const out = run(c, [[/^export KUBECONFIG=.*$/gm, `export KUBECONFIG=${kubeconfig}`]]);
      expect(out).toMatch(/apim-active-active\s+True/);
      expect(out).toContain('type: Ready');
    },
  },
  {
    name: 'README: a host change goes through and NGINX is told the new host',
    commands: blockAt('README.md', 'kubectl patch wso2frontend'),
    check: (c) => {
      const out = run(c);
      expect(out).toContain('wso2frontend.wso2-frontend.dev/apim-active-active condition met');
      expect(out).toMatch(/server_name\s+portal\.example\.com;/);
    },
  },
  {
    name: 'README and operations: render offline and serve it with NGINX',
    commands: [
      ...blockAt('README.md', '--nginx-dir'),
      ...blockAt('docs/operations.md', 'npm run build').filter(
        (c) => c.startsWith('npx') && !c.includes('--nginx-dir'),
      ),
    ],
    check: (c) => {
      const dir = join(scratch, 'apim');
      run(c, [
        ['/tmp/apim', dir],
        // Another test file may listen on 127.0.0.1:8443: this one takes an address of its own.
        ['--https-port 8443', `--https-port 8443 --bind ${BIND}`],
        // NGINX 1.30, as the operator's image runs it (the machine's own nginx is older).
        [/^nginx /gm, `${NGINX} `],
      ]);
      // Served: the certificate is valid for the host under the preview's CA, and NGINX answers
      // (502: the example's nodes, 192.0.2.x, do not exist).
      const curl = spawnSync(
        'curl',
        [
          '-sS',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          '--max-time',
          '30',
          '--cacert',
          join(dir, 'tls/ca/ca.crt'),
          '--resolve',
          `api.am.wso2.com:8443:${BIND}`,
          'https://api.am.wso2.com:8443/',
        ],
        { encoding: 'utf8' },
      );
      expect([curl.status, curl.stdout]).toEqual([0, '502']);
    },
  },
  {
    name: 'product configuration: what to set on each external node',
    commands: blockAt('docs/product-configuration.md', '--product-config'),
    check: (c) => {
      const dir = join(scratch, 'apim-2');
      expect(run(c, [['/tmp/apim-2', dir]])).toContain('node-1, node-2');
      expect(readFileSync(join(dir, 'node-1', 'CHANGES.txt'), 'utf8')).toContain(
        'Server/HostName = "apim.example.com"',
      );
    },
  },
  {
    name: 'patterns: the frontends and the field documentation',
    commands: blockAt('docs/patterns.md', 'kubectl explain'),
    check: (c) => {
      const out = run(c);
      expect(out).toContain('apim-active-active');
      expect(out).toContain('sessionAffinity');
    },
  },
  {
    name: 'operations: the Pod Security label of the Helm install',
    commands: blockAt('docs/operations.md', 'kubectl label namespace').filter((c) => c.startsWith('kubectl label')),
    check: (c) => {
      // The namespace Helm would create is this test's own, so the cluster's install is left alone.
      const out = run(c, [['wso2-frontend-system', namespace]]);
      expect(out).toContain(`namespace/${namespace}`);
    },
  },
];

test.each(HERE.map((h) => [h.name, h] as const))(
  '%s',
  (_name, h) => {
    h.check(h.commands);
  },
  180_000,
);
