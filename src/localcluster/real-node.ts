// A real node for the local control plane: containerd (Debian's, with runc), a bridge CNI, the
// kubelet and kube-proxy (iptables mode), so pods run real containers on this machine. A
// development and test tool: it runs as root, changes host networking and sysctls while it runs,
// and puts every one of them back on stop, or on the next start after a run that was killed.
//
// Safety: pods reach the node and each other, nothing else. The Service CIDR is routed to the
// bridge (a ClusterIP without endpoints never takes the default route), and a mangle FORWARD rule
// drops what the pod network sends anywhere outside the pod network. The API server listens on
// the bridge's gateway address, so pods reach it through the `kubernetes` Service.
//
// One real node per machine: the kubelet's port, the bridge and kube-proxy's chains are
// machine-wide. A record in /run (cleared by a reboot, as the sysctls are) says which run owns
// them and what the sysctls were before it.
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import { ensureNodeCredentials, REAL_NODE_IP, type ControlPlanePki } from './pki.js';
import { freePort } from './ports.js';
import { ComponentProcess, isAlive } from './process.js';
import { registryHostsToml } from './registry.js';

export const REAL_NODE_NAME = 'real-node-0';
export const REAL_POD_CIDR = '10.245.0.0/24';
export const SERVICE_CIDR = '10.96.0.0/16';
export const PAUSE_IMAGE = 'localhost/wso2-frontend/pause:3.10';
const BRIDGE = 'wso2fe0';
const CNI_NETWORK = 'wso2fe';
const CGROUP_ROOT = 'wso2fe';
const SAFETY_CHAIN = 'WSO2FE-POD-EGRESS';
const RECORD_DIR = '/run/wso2-frontend-real-node';
const RECORD_FILE = join(RECORD_DIR, 'owner.json');

/** What the kubelet (kernel tunables), kube-proxy and the bridge plugin may change; put back on stop. */
const SYSCTLS = [
  'kernel.panic',
  'kernel.panic_on_oops',
  'vm.overcommit_memory',
  'vm.panic_on_oom',
  'kernel.keys.root_maxkeys',
  'kernel.keys.root_maxbytes',
  'net.ipv4.ip_forward',
  'net.ipv4.conf.all.route_localnet',
];
/** The values now of the sysctls a real node may change (to give realNodeLeftovers() what they were). */
export const nodeSysctls = (): { [name: string]: string } =>
  Object.fromEntries(SYSCTLS.filter((name) => existsSync(sysctlPath(name))).map((n) => [n, readSysctl(n)]));
const NODE_PROCESSES = ['containerd', 'kubelet', 'kube-proxy', 'containerd-shim-runc-v2'];
/** The iptables chains the node's components make: kube-proxy's and the kubelet's (KUBE-), portmap's (CNI-), ours. */
const CHAIN_PREFIXES = ['KUBE-', 'CNI-', 'WSO2FE-'];

interface Record {
  pid: number;
  dir: string;
  binDir: string;
  sysctls: { [name: string]: string };
}

export interface RealNodeOptions {
  /** Where containerd, the kubelet and kube-proxy keep their state (under the plane's directory). */
  dir: string;
  /** Holds kubelet, kube-proxy and pause.tar (scripts/node-binaries.sh). */
  binDir: string;
  pki: ControlPlanePki;
  logsDir: string;
  /** Registries (host:port on loopback) containerd pulls from over plain HTTP. */
  registries?: string[];
}

/** containerd's socket for the node whose state is in `nodeDir`. */
export const containerdSocket = (nodeDir: string) => join(nodeDir, 'containerd', 'containerd.sock');

/** Imports an OCI image archive into the node's containerd, where the kubelet finds it (namespace k8s.io). */
export function importImage(nodeDir: string, archive: string): void {
  run('ctr', ['--address', containerdSocket(nodeDir), '-n', 'k8s.io', 'images', 'import', archive]);
}

const sysctlPath = (name: string) => join('/proc/sys', ...name.split('.'));
const readSysctl = (name: string) => readFileSync(sysctlPath(name), 'utf8').trim();

/** Runs a host command; throws with its output unless `allowFailure`. */
function run(command: string, args: string[], allowFailure = false): { ok: boolean; out: string } {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  const ok = result.status === 0;
  if (!ok && !allowFailure) {
    throw new Error(`${command} ${args.join(' ')} failed: ${(result.stderr || result.stdout || '').trim()}`);
  }
  return { ok, out: result.stdout ?? '' };
}

/** Processes whose command line mentions `needle`, or (with `names`) whose executable has one of those names. */
function findProcesses(needle: string, names: string[] = []): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      const name = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (command.includes(needle) || names.includes(name)) found.push({ pid: Number(entry), command });
    } catch {
      // Exited while being read.
    }
  }
  return found;
}

/** The cgroup directories the kubelet and runc made for pods, deepest first. */
function podCgroups(): string[] {
  const dirs: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
    }
    dirs.push(dir);
  };
  for (const controller of readdirSync('/sys/fs/cgroup')) {
    const root = join('/sys/fs/cgroup', controller, CGROUP_ROOT);
    if (existsSync(root)) walk(root);
  }
  return dirs;
}

function cgroupProcesses(): number[] {
  const pids = new Set<number>();
  for (const dir of podCgroups()) {
    try {
      for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (line) pids.add(Number(line));
    } catch {
      // Removed meanwhile.
    }
  }
  return [...pids];
}

/** Mount points under `dir` and the network namespaces containerd's CRI made, deepest (last mounted) first. */
function nodeMounts(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[4]!.replace(/\\040/g, ' '))
    .filter((point) => point === dir || point.startsWith(`${dir}/`) || /^\/(var\/)?run\/netns\/cni-/.test(point))
    .reverse();
}

type Table = 'filter' | 'nat' | 'mangle' | 'raw';
const TABLES: Table[] = ['filter', 'nat', 'mangle', 'raw'];
const IPTABLES = ['iptables', 'ip6tables'];
const ours = (chain: string) => CHAIN_PREFIXES.some((prefix) => chain.startsWith(prefix));

/** The node's chains in every table, as `iptables table chain`. */
function nodeChains(): string[] {
  const found: string[] = [];
  for (const iptables of IPTABLES) {
    for (const table of TABLES) {
      const { ok, out } = run(iptables, ['-w', '-t', table, '-S'], true);
      if (!ok) continue;
      for (const line of out.split('\n')) {
        const chain = /^-N (\S+)/.exec(line)?.[1];
        if (chain && ours(chain)) found.push(`${iptables} ${table} ${chain}`);
      }
    }
  }
  return found;
}

/** Removes the node's chains and every rule that jumps to them, in both address families. */
function removeChains(): void {
  for (const iptables of IPTABLES) {
    for (const table of TABLES) {
      const { ok, out } = run(iptables, ['-w', '-t', table, '-S'], true);
      if (!ok) continue;
      const lines = out.split('\n');
      for (const line of lines) {
        const rule = /^-A (\S+) (.*-j (\S+).*)$/.exec(line);
        if (rule && !ours(rule[1]!) && ours(rule[3]!)) {
          // -S prints the rule quoted as iptables-save does; the rules we remove have no spaces in their values.
          run(iptables, ['-w', '-t', table, '-D', rule[1]!, ...splitRule(rule[2]!)], true);
        }
      }
      const chains = lines.map((line) => /^-N (\S+)/.exec(line)?.[1]).filter((c): c is string => !!c && ours(c));
      for (const chain of chains) run(iptables, ['-w', '-t', table, '-F', chain], true);
      for (const chain of chains) run(iptables, ['-w', '-t', table, '-X', chain], true);
    }
  }
}

/** Splits an iptables -S rule into arguments, honouring its double quotes. */
function splitRule(rule: string): string[] {
  return [...rule.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

function readRecord(): Record | undefined {
  try {
    return JSON.parse(readFileSync(RECORD_FILE, 'utf8')) as Record;
  } catch {
    return undefined;
  }
}

/**
 * Puts the host back as it was before the run recorded in `record`: kills the node's processes
 * and containers, unmounts, deletes the bridge, the chains, the pod cgroups and the CNI state,
 * and restores the sysctls. Idempotent; used by stop() and by a start after a killed run.
 */
function cleanUp(record: Record): void {
  const killAll = () => {
    const pids = [...findProcesses(record.dir).map((p) => p.pid), ...cgroupProcesses()];
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    return pids.filter(isAlive);
  };
  for (let i = 0; i < 50 && killAll().length > 0; i++) spawnSync('sleep', ['0.1']);

  for (const point of nodeMounts(record.dir)) {
    if (!run('umount', [point], true).ok) run('umount', ['-l', point], true);
    if (point.includes('/netns/cni-')) rmSync(point, { force: true });
  }
  run('ip', ['link', 'del', BRIDGE], true);
  const kubeProxy = join(record.binDir, 'kube-proxy');
  if (existsSync(kubeProxy)) run(kubeProxy, ['--cleanup'], true);
  removeChains();
  for (const dir of podCgroups()) {
    try {
      rmdirSync(dir);
    } catch {
      // A cgroup still busy shows in leftovers().
    }
  }
  const results = '/var/lib/cni/results';
  if (existsSync(results)) {
    for (const entry of readdirSync(results)) {
      if (entry.startsWith(`${CNI_NETWORK}-`)) rmSync(join(results, entry), { force: true });
    }
  }
  for (const [name, value] of Object.entries(record.sysctls)) {
    try {
      if (readSysctl(name) !== value) writeFileSync(sysctlPath(name), value);
    } catch {
      // A sysctl this kernel lacks.
    }
  }
  for (const state of ['containerd', 'cni']) rmSync(join(record.dir, state), { recursive: true, force: true });
}

/**
 * Puts the host back after a real node whose process was killed (its directory may be about to
 * be removed: its mounts go first). Nothing to do when no such run is recorded.
 */
export function cleanUpKilledRealNode(): void {
  const record = readRecord();
  if (!record || isAlive(record.pid)) return;
  cleanUp(record);
  rmSync(RECORD_FILE, { force: true });
}

/** What a real node left on this machine (processes, mounts, bridge, chains, cgroups, sysctls), as readable lines; empty when nothing. */
export function realNodeLeftovers(dir: string, sysctls: { [name: string]: string }): string[] {
  const found: string[] = [];
  for (const p of findProcesses(dir, NODE_PROCESSES)) found.push(`process ${p.pid}: ${p.command}`);
  for (const pid of cgroupProcesses()) found.push(`process ${pid} in a pod cgroup`);
  for (const point of nodeMounts(dir)) found.push(`mount ${point}`);
  if (run('ip', ['link', 'show', BRIDGE], true).ok) found.push(`network interface ${BRIDGE}`);
  for (const chain of nodeChains()) found.push(`chain ${chain}`);
  for (const cgroup of podCgroups()) found.push(`cgroup ${cgroup}`);
  for (const [name, value] of Object.entries(sysctls)) {
    const now = readSysctl(name);
    if (now !== value) found.push(`sysctl ${name} = ${now} (was ${value})`);
  }
  if (existsSync(RECORD_FILE)) found.push(`record ${RECORD_FILE}`);
  return found;
}

export class RealNode {
  private readonly dir: string;
  private readonly components: ComponentProcess[] = [];
  private record: Record | undefined;
  /** Milliseconds from starting containerd to the node Ready, once start() got that far (npm run bench -- realnode). */
  startToReadyMs: number | undefined;

  constructor(private readonly options: RealNodeOptions) {
    this.dir = options.dir;
  }

  /** The sysctls as they were before this node started (for leftovers()). */
  get originalSysctls(): { [name: string]: string } {
    return this.record?.sysctls ?? {};
  }

  pids(): { [name: string]: number | undefined } {
    return Object.fromEntries(this.components.map((c) => [c.name, c.pid]));
  }

  /**
   * Before the control plane starts (the API server listens on the bridge's address): takes the
   * machine's real-node lock, cleans up after a killed run, records the sysctls, and makes the
   * bridge, the Service route and the safety rule.
   */
  prepareHost(): void {
    if (process.getuid?.() !== 0)
      throw new Error('the real node runs as root (containerd, the kubelet and kube-proxy)');
    mkdirSync(RECORD_DIR, { recursive: true, mode: 0o700 });
    const previous = readRecord();
    if (previous && previous.pid !== process.pid && isAlive(previous.pid)) {
      throw new Error(
        `a real node already runs on this machine (pid ${previous.pid}, ${previous.dir}); one at a time: stop it first`,
      );
    }
    if (previous) cleanUp(previous);
    const sysctls = nodeSysctls();
    this.record = { pid: process.pid, dir: this.dir, binDir: this.options.binDir, sysctls };
    writeFileSync(RECORD_FILE, JSON.stringify(this.record, null, 2));

    // The kubelet wants its cgroup root to exist; a new cpuset needs its CPUs and memory nodes before tasks can join it.
    for (const controller of readdirSync('/sys/fs/cgroup')) {
      const dir = join('/sys/fs/cgroup', controller, CGROUP_ROOT);
      mkdirSync(dir, { recursive: true });
      if (controller === 'cpuset') {
        for (const file of ['cpuset.cpus', 'cpuset.mems']) {
          writeFileSync(join(dir, file), readFileSync(join('/sys/fs/cgroup', controller, file), 'utf8'));
        }
      }
    }
    const ip = (...args: string[]) => run('ip', args);
    ip('link', 'add', BRIDGE, 'type', 'bridge');
    ip('addr', 'add', `${REAL_NODE_IP}/${REAL_POD_CIDR.split('/')[1]}`, 'dev', BRIDGE);
    ip('link', 'set', BRIDGE, 'up');
    ip('route', 'add', SERVICE_CIDR, 'dev', BRIDGE);
    writeFileSync(sysctlPath('net.ipv4.ip_forward'), '1');
    const mangle = (...args: string[]) => run('iptables', ['-w', '-t', 'mangle', ...args]);
    mangle('-N', SAFETY_CHAIN);
    mangle('-A', SAFETY_CHAIN, '-d', REAL_POD_CIDR, '-j', 'RETURN');
    mangle('-A', SAFETY_CHAIN, '-j', 'DROP');
    // Mangle FORWARD runs after the Service DNAT and before any ACCEPT in filter FORWARD.
    mangle('-I', 'FORWARD', '1', '-i', BRIDGE, '-j', SAFETY_CHAIN);
  }

  /** Starts containerd, the kubelet and kube-proxy against the API server at `apiServerUrl`; resolves once the node is Ready. */
  async start(apiServerUrl: string, kubeConfig: k8s.KubeConfig): Promise<void> {
    const d = (...parts: string[]) => {
      const path = join(this.dir, ...parts);
      mkdirSync(path, { recursive: true, mode: 0o700 });
      return path;
    };
    const log = (name: string) => join(this.options.logsDir, `${name}.log`);
    const credentials = ensureNodeCredentials(this.options.pki, d('pki'), REAL_NODE_NAME);
    const socket = containerdSocket(this.dir);
    d('containerd');

    writeFileSync(join(d('containerd'), 'config.toml'), this.containerdConfig(socket));
    // Any other registry (docker.io included) resolves to a closed loopback port: no pull leaves the machine.
    writeFileSync(join(d('containerd', 'certs.d', '_default'), 'hosts.toml'), 'server = "http://127.0.0.1:9"\n');
    for (const registry of this.options.registries ?? []) this.allowRegistry(registry);
    writeFileSync(join(d('cni', 'net.d'), '10-wso2fe.conflist'), JSON.stringify(this.cniConfig(), null, 2));
    // Pods get a resolver that answers nothing: no lookup ever leaves the machine.
    writeFileSync(
      join(d('kubelet-config'), 'resolv.conf'),
      'nameserver 127.0.0.1\noptions ndots:1 timeout:1 attempts:1\n',
    );

    const kubeconfigFor = (user: string, cert: string, key: string) => {
      const file = join(d('kubelet-config'), `${user}.kubeconfig`);
      const config = {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name: 'local', cluster: { server: apiServerUrl, 'certificate-authority': this.options.pki.caCertFile } },
        ],
        users: [{ name: user, user: { 'client-certificate': cert, 'client-key': key } }],
        contexts: [{ name: 'local', context: { cluster: 'local', user } }],
        'current-context': 'local',
      };
      writeFileSync(file, yaml.dump(config), { mode: 0o600 });
      return file;
    };
    const kubeletKubeconfig = kubeconfigFor('kubelet', credentials.kubeletCertFile, credentials.kubeletKeyFile);
    const proxyKubeconfig = kubeconfigFor('kube-proxy', credentials.kubeProxyCertFile, credentials.kubeProxyKeyFile);
    const kubeletConfig = join(d('kubelet-config'), 'config.yaml');
    writeFileSync(
      kubeletConfig,
      yaml.dump({
        apiVersion: 'kubelet.config.k8s.io/v1beta1',
        kind: 'KubeletConfiguration',
        // This machine kind has a hybrid cgroup v1 layout.
        failCgroupV1: false,
        cgroupDriver: 'cgroupfs',
        cgroupRoot: `/${CGROUP_ROOT}`,
        containerRuntimeEndpoint: `unix://${socket}`,
        address: REAL_NODE_IP,
        port: 10250,
        readOnlyPort: 0,
        healthzPort: 0,
        tlsCertFile: credentials.kubeletServingCertFile,
        tlsPrivateKeyFile: credentials.kubeletServingKeyFile,
        authentication: {
          anonymous: { enabled: false },
          webhook: { enabled: false },
          x509: { clientCAFile: this.options.pki.caCertFile },
        },
        authorization: { mode: 'AlwaysAllow' },
        clusterDomain: 'cluster.local',
        clusterDNS: ['10.96.0.10'],
        resolvConf: join(d('kubelet-config'), 'resolv.conf'),
        failSwapOn: false,
        // A shared, busy machine: no eviction or image garbage collection because of its disk.
        evictionHard: { 'memory.available': '50Mi', 'nodefs.available': '0%', 'imagefs.available': '0%' },
        imageGCHighThresholdPercent: 100,
        imageGCLowThresholdPercent: 99,
        serializeImagePulls: false,
        // The pause image is imported, the others pulled; their credentials need no check.
        imagePullCredentialsVerificationPolicy: 'NeverVerify',
        nodeStatusUpdateFrequency: '4s',
        syncFrequency: '10s',
        fileCheckFrequency: '10s',
        logging: { verbosity: 1 },
      }),
    );
    const proxyConfig = join(d('kubelet-config'), 'kube-proxy.yaml');
    writeFileSync(
      proxyConfig,
      yaml.dump({
        apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
        kind: 'KubeProxyConfiguration',
        clientConnection: { kubeconfig: proxyKubeconfig },
        mode: 'iptables',
        hostnameOverride: REAL_NODE_NAME,
        clusterCIDR: REAL_POD_CIDR,
        healthzBindAddress: `127.0.0.1:${await freePort()}`,
        metricsBindAddress: `127.0.0.1:${await freePort()}`,
        // NodePorts on the node's address only (not on loopback, which would need route_localnet).
        nodePortAddresses: [`${REAL_NODE_IP}/32`],
        iptables: { localhostNodePorts: false, minSyncPeriod: '0s', syncPeriod: '30s' },
        // Leave the host's conntrack settings as they are.
        conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
      }),
    );

    const containerd = new ComponentProcess(
      'containerd',
      'containerd',
      ['--config', join(this.dir, 'containerd', 'config.toml')],
      log('containerd'),
    );
    const kubelet = new ComponentProcess(
      'kubelet',
      join(this.options.binDir, 'kubelet'),
      [
        `--config=${kubeletConfig}`,
        `--kubeconfig=${kubeletKubeconfig}`,
        `--root-dir=${d('kubelet')}`,
        `--hostname-override=${REAL_NODE_NAME}`,
        `--node-ip=${REAL_NODE_IP}`,
      ],
      log('kubelet'),
    );
    const kubeProxy = new ComponentProcess(
      'kube-proxy',
      join(this.options.binDir, 'kube-proxy'),
      [`--config=${proxyConfig}`],
      log('kube-proxy'),
    );
    this.components.push(containerd, kubelet, kubeProxy);

    const started = performance.now();
    containerd.start();
    await this.until(
      containerd,
      'containerd answers',
      () => existsSync(socket) && run('ctr', ['--address', socket, 'version'], true).ok,
    );
    importImage(this.dir, join(this.options.binDir, 'pause.tar'));
    kubelet.start();
    kubeProxy.start();
    const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
    await this.until(kubelet, `node ${REAL_NODE_NAME} Ready`, async () => {
      const node = await core.readNode({ name: REAL_NODE_NAME });
      return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    });
    this.startToReadyMs = performance.now() - started;
    await this.until(kubeProxy, 'kube-proxy synced its rules', () =>
      run('iptables', ['-w', '-t', 'nat', '-S', 'KUBE-SERVICES'], true).out.includes('default/kubernetes:https'),
    );
  }

  /** Lets containerd pull from a registry on this machine over plain HTTP (it reads certs.d at each pull). */
  allowRegistry(address: string): void {
    if (!/^127\.0\.0\.1:\d+$/.test(address)) throw new Error(`registry ${address}: only 127.0.0.1:PORT (loopback)`);
    const dir = join(this.dir, 'containerd', 'certs.d', address);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'hosts.toml'), registryHostsToml(address));
  }

  /**
   * Makes an image of the registry known under another name too (the name a pod asks for):
   * pulls it from the registry and tags it, so an IfNotPresent pull finds it.
   */
  tagImage(reference: string, as: string): void {
    const ctr = ['--address', containerdSocket(this.dir), '-n', 'k8s.io'];
    run('ctr', [...ctr, 'images', 'pull', '--hosts-dir', join(this.dir, 'containerd', 'certs.d'), reference]);
    run('ctr', [...ctr, 'images', 'tag', '--force', reference, as]);
  }

  /** Stops the node and puts the host back as it was. */
  async stop(): Promise<void> {
    // kube-proxy and the kubelet first, so that nothing restarts the containers killed next.
    for (const component of [...this.components].reverse()) await component.stop(5_000);
    this.components.length = 0;
    const record = this.record ?? readRecord();
    if (!record || record.pid !== process.pid) return;
    cleanUp(record);
    rmSync(RECORD_FILE, { force: true });
  }

  /** Synchronous: kills the node's processes, for the process 'exit' path (the next start cleans up the rest). */
  killNow(): void {
    for (const component of this.components) component.kill();
  }

  /** What this node left behind after stop(); empty when the host is as it was. */
  leftovers(): string[] {
    return realNodeLeftovers(this.dir, this.originalSysctls);
  }

  logTails(lines = 30): string {
    return this.components.map((c) => `----- ${c.name} (${c.logFile}) -----\n${c.logTail(lines)}`).join('\n');
  }

  private async until(
    component: ComponentProcess,
    what: string,
    ok: () => boolean | Promise<boolean>,
    timeoutMs = 90_000,
  ) {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      for (const c of this.components) if (c.pid !== undefined || c === component) c.assertRunning();
      try {
        if (await ok()) return;
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      if (Date.now() > deadline) {
        throw new Error(`the real node: no ${what} after ${timeoutMs / 1000} s (${last}); logs:\n${this.logTails()}`);
      }
      await sleep(200);
    }
  }

  private containerdConfig(socket: string): string {
    const d = this.dir;
    const cri = 'plugins."io.containerd.grpc.v1.cri"';
    return `version = 2
root = "${d}/containerd/root"
state = "${d}/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "${socket}"

[ttrpc]
  address = "${socket}.ttrpc"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "${d}/containerd/opt"

[${cri}]
  sandbox_image = "${PAUSE_IMAGE}"
  # Root here lacks CAP_SYS_RESOURCE: without this every sandbox fails ("can't get final child's PID from pipe").
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_cdi = false

[${cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${cri}.containerd.runtimes.runc.options]
  BinaryName = "runc"
  SystemdCgroup = false

[${cri}.cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "${d}/cni/net.d"
  max_conf_num = 1

[${cri}.registry]
  config_path = "${d}/containerd/certs.d"
`;
  }

  private cniConfig(): object {
    const gateway = REAL_NODE_IP;
    return {
      cniVersion: '1.0.0',
      name: CNI_NETWORK,
      plugins: [
        {
          type: 'bridge',
          bridge: BRIDGE,
          isGateway: true,
          // No masquerading: pod traffic never leaves the machine (see the safety chain).
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: REAL_POD_CIDR, gateway }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: join(this.dir, 'cni', 'ipam'),
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    };
  }
}
