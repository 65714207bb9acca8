// A real Kubernetes control plane on loopback, started the way controller-runtime's envtest
// starts one (etcd + kube-apiserver with client-certificate auth and RBAC), plus
// kube-controller-manager, kube-scheduler and kwok with one fake node so that Deployments get
// Ready pods and Services get EndpointSlices without running any container, and a stand-in for
// the reload agents of the NGINX pods kwok runs (agent-stand-in.ts).
//
// Used by the test run (one shared instance, plus private ones for restart tests) and by
// `npm start` when no cluster is configured.
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import { ensurePki, REAL_NODE_IP, type ControlPlanePki } from './pki.js';
import { freePort } from './ports.js';
import { ComponentProcess, isAlive } from './process.js';
import { cleanUpKilledRealNode, RealNode, SERVICE_CIDR } from './real-node.js';

let root: string | undefined;

/** The directory of package.json above this module, wherever it was compiled to (dist/, dist-bench/src/) or run from (src/). */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('wso2-frontend-operator: package.json not found above the module');
    dir = parent;
  }
  return (root = dir);
}
const tempRoot = join(tmpdir(), 'wso2-frontend-control-plane');

export const FAKE_NODE_NAME = 'kwok-node-0';
/** On a namespace: real reload agents report on its NGINX pods, and the agents' stand-in (agent-stand-in.ts) stays away. */
export const REAL_AGENTS_LABEL = 'wso2-frontend.dev/real-agents';
export const POD_CIDR = '10.244.0.0/16';
const NODE_IP = '10.244.0.1';

export interface LocalControlPlaneOptions {
  /** Where data, certificates, logs and the kubeconfig live. A fresh temporary directory when omitted. */
  dir?: string;
  /**
   * With workloads (the default), kube-controller-manager, kube-scheduler and kwok run too;
   * without, only etcd and kube-apiserver (enough for API-only tests, and faster).
   */
  workloads?: boolean;
  /** Directory with the binaries; found or built by scripts/control-plane-binaries.sh when omitted. */
  binDir?: string;
  /**
   * Where pods run: on kwok's fake node (the default; no container runs) or on a real node of
   * this machine (containerd, kubelet, kube-proxy; root only, one per machine: real-node.ts).
   */
  node?: 'kwok' | 'real';
  /** Registries the real node pulls from over plain HTTP (host:port on loopback). */
  registries?: string[];
}

interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
  kwok: number;
}

interface SavedState {
  ports: Ports;
  pids: Record<string, number | undefined>;
  kubeconfig: string;
}

/** Runs a scripts/ script that finds (or builds, once) binaries and prints their directory last; progress goes to stderr. */
function binariesFrom(name: string): string {
  const script = join(packageRoot(), 'scripts', name);
  const result = spawnSync('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${script} failed with exit code ${result.status}`);
  const dir = result.stdout.trim().split('\n').pop();
  if (!dir) throw new Error(`${script} printed no directory`);
  return dir;
}

/** The control-plane binaries (etcd, kube-apiserver, ..., kwok). */
export const controlPlaneBinaries = () => binariesFrom('control-plane-binaries.sh');

/** kubelet, kube-proxy and the pause image of the real node. */
export const nodeBinaries = () => binariesFrom('node-binaries.sh');

/** Six distinct free loopback ports. */
async function pickPorts(): Promise<Ports> {
  const ports = new Set<number>();
  while (ports.size < 6) ports.add(await freePort());
  const [etcdClient, etcdPeer, apiserver, controllerManager, scheduler, kwok] = [...ports] as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return { etcdClient, etcdPeer, apiserver, controllerManager, scheduler, kwok };
}

/** Removes temporary directories left by runs whose process is gone (killed, not stopped). */
function removeAbandonedDirs(): void {
  if (!existsSync(tempRoot)) return;
  // A killed run's real node has mounts under its directory: unmounted (and the host put back) first.
  cleanUpKilledRealNode();
  for (const entry of readdirSync(tempRoot)) {
    const owner = Number(entry.split('-')[0]);
    if (Number.isInteger(owner) && owner !== process.pid && !isAlive(owner)) {
      rmSync(join(tempRoot, entry), { recursive: true, force: true });
    }
  }
}

interface HttpResult {
  status: number;
  body: string;
}

function get(url: string, tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; insecure?: boolean }): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const options = tls
      ? { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: !tls.insecure, timeout: 2000 }
      : { timeout: 2000 };
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout on ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

const running = new Set<LocalControlPlane>();
let exitHook = false;

/** Tracks a started plane; the first one registers the last line of defence for a normal exit that skipped stop() (a killed process is covered by the children's parent-death signal). */
function track(plane: LocalControlPlane): void {
  running.add(plane);
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const started of running) started.killNow();
  });
}

export class LocalControlPlane {
  readonly dir: string;
  readonly kubeconfigPath: string;
  readonly workloads: boolean;
  private readonly ownsDir: boolean;
  private readonly binDir: string;
  private readonly pki: ControlPlanePki;
  private ports: Ports | undefined;
  private components: ComponentProcess[] = [];
  /** The real node, when pods run on this machine (options.node 'real'). */
  readonly realNode: RealNode | undefined;

  private constructor(options: LocalControlPlaneOptions) {
    this.workloads = options.workloads ?? true;
    this.binDir = options.binDir ?? controlPlaneBinaries();
    if (options.dir) {
      this.dir = options.dir;
      this.ownsDir = false;
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    } else {
      removeAbandonedDirs();
      mkdirSync(tempRoot, { recursive: true });
      this.dir = mkdtempSync(join(tempRoot, `${process.pid}-`));
      this.ownsDir = true;
    }
    mkdirSync(join(this.dir, 'logs'), { recursive: true });
    this.pki = ensurePki(join(this.dir, 'pki'));
    this.kubeconfigPath = join(this.dir, 'kubeconfig');
    if (options.node === 'real') {
      if (!this.workloads) throw new Error('a real node needs the workloads (kube-controller-manager, kube-scheduler)');
      this.realNode = new RealNode({
        dir: join(this.dir, 'node'),
        binDir: nodeBinaries(),
        pki: this.pki,
        logsDir: this.logsDir,
        ...(options.registries ? { registries: options.registries } : {}),
      });
    }
  }

  /** Starts a control plane and waits until it is healthy (and, with workloads, can run pods). */
  static async start(options: LocalControlPlaneOptions = {}): Promise<LocalControlPlane> {
    const plane = new LocalControlPlane(options);
    try {
      await plane.start();
    } catch (error) {
      // A temporary directory is only ever removed by stop(): a start that failed (or that a
      // Ctrl-C at the terminal cut short, killing the components) would leave it behind.
      if (plane.ownsDir) rmSync(plane.dir, { recursive: true, force: true });
      throw error;
    }
    return plane;
  }

  get apiServerUrl(): string {
    if (!this.ports) throw new Error('the control plane has not been started');
    // With a real node, the API server listens on the pod network's gateway: pods reach it there.
    return `https://${this.realNode ? REAL_NODE_IP : '127.0.0.1'}:${this.ports.apiserver}`;
  }

  get logsDir(): string {
    return join(this.dir, 'logs');
  }

  /** Process ids of the running components, by component name. */
  pids(): Record<string, number | undefined> {
    return { ...Object.fromEntries(this.components.map((c) => [c.name, c.pid])), ...this.realNode?.pids() };
  }

  /** A client-node KubeConfig for the admin user. */
  kubeConfig(): k8s.KubeConfig {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(this.kubeconfigPath);
    return kc;
  }

  /**
   * (Re)starts every component on the ports and data of this directory. A port picked as free
   * can be taken by another process before a component binds it; a first start then retries
   * on fresh ports.
   */
  async start(): Promise<void> {
    if (this.components.some((c) => c.pid !== undefined)) throw new Error('the control plane is already running');
    const saved = this.savedPorts();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.startOn(saved ?? (await pickPorts()));
        return;
      } catch (error) {
        const portTaken = error instanceof Error && /address already in use/.test(error.message);
        if (saved || !portTaken || attempt === 3) throw error;
        // Nothing was ever served from this data; etcd recorded the old peer URL in it.
        rmSync(join(this.dir, 'etcd'), { recursive: true, force: true });
      }
    }
  }

  private async startOn(ports: Ports): Promise<void> {
    this.ports = ports;
    this.writeKubeconfig();
    this.components = this.defineComponents();
    track(this);
    try {
      this.realNode?.prepareHost();
      const [etcd, apiserver, ...rest] = this.components;
      await this.startEtcd(etcd!);
      await this.startApiServerProcess(apiserver!);
      for (const component of rest) component.start();
      if (this.realNode) await this.realNode.start(this.apiServerUrl, this.kubeConfig());
      if (this.workloads) await this.waitForWorkloads();
      this.saveState();
    } catch (error) {
      await this.stopComponents();
      throw error;
    }
  }

  /** Stops every component; keeps the data unless `removeData` (a temporary directory is always removed). */
  async stop(options: { removeData?: boolean } = {}): Promise<void> {
    await this.stopComponents();
    if (options.removeData ?? this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Stops and starts again with the same data, ports and credentials. */
  async restart(): Promise<void> {
    await this.stopComponents();
    await this.start();
  }

  /**
   * Stops kube-apiserver alone, as an outage does: etcd and every client (controllers, kwok,
   * operators under test) keep running and find nothing answering on its port.
   */
  async stopApiServer(): Promise<void> {
    await this.component('kube-apiserver').stop();
  }

  /** Starts the kube-apiserver stopped by stopApiServer on the same port and data; resolves once it is ready. */
  async startApiServer(): Promise<void> {
    await this.startApiServerProcess(this.component('kube-apiserver'));
  }

  /** Stops etcd and starts it again on the same data; resolves once it is healthy (a running kube-apiserver reconnects by itself). */
  async restartEtcd(): Promise<void> {
    const etcd = this.component('etcd');
    await etcd.stop();
    await this.startEtcd(etcd);
  }

  /** The last lines of every component log, for a failing test or a failed start. */
  logTails(lines = 40): string {
    const tails = this.components.map((c) => `----- ${c.name} (${c.logFile}) -----\n${c.logTail(lines)}`).join('\n');
    return this.realNode ? `${tails}\n${this.realNode.logTails(lines)}` : tails;
  }

  /** Synchronous SIGKILL of every component, for the process 'exit' path. */
  killNow(): void {
    this.realNode?.killNow();
    for (const component of this.components) component.kill();
  }

  private async stopComponents(): Promise<void> {
    // The node first, while the API server still answers; then kube-apiserver before etcd (the reverse order hangs).
    await this.realNode?.stop();
    for (const component of [...this.components].reverse()) await component.stop();
    running.delete(this);
    if (existsSync(this.dir)) this.saveState();
  }

  private component(name: string): ComponentProcess {
    const found = this.components.find((c) => c.name === name);
    if (!found) throw new Error(`the control plane has no ${name}: it has not been started`);
    return found;
  }

  private async startEtcd(etcd: ComponentProcess): Promise<void> {
    etcd.start();
    await this.waitFor(
      etcd,
      () => get(`http://127.0.0.1:${this.ports!.etcdClient}/health`),
      (r) => r.body.includes('"health":"true"'),
    );
  }

  private async startApiServerProcess(apiserver: ComponentProcess): Promise<void> {
    apiserver.start();
    await this.waitFor(
      apiserver,
      () => get(`${this.apiServerUrl}/readyz`, this.adminTls()),
      (r) => r.status === 200,
      90_000,
    );
  }

  private savedPorts(): Ports | undefined {
    const stateFile = join(this.dir, 'state.json');
    return existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as SavedState).ports : undefined;
  }

  private saveState(): void {
    const state: SavedState = { ports: this.ports!, pids: this.pids(), kubeconfig: this.kubeconfigPath };
    writeFileSync(join(this.dir, 'state.json'), JSON.stringify(state, null, 2));
  }

  private adminTls() {
    return {
      ca: readFileSync(this.pki.caCertFile),
      cert: readFileSync(this.pki.adminCertFile),
      key: readFileSync(this.pki.adminKeyFile),
    };
  }

  private writeKubeconfig(): void {
    const b64 = (file: string) => readFileSync(file).toString('base64');
    const kubeconfig = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'local',
          cluster: { server: this.apiServerUrl, 'certificate-authority-data': b64(this.pki.caCertFile) },
        },
      ],
      users: [
        {
          name: 'admin',
          user: {
            'client-certificate-data': b64(this.pki.adminCertFile),
            'client-key-data': b64(this.pki.adminKeyFile),
          },
        },
      ],
      contexts: [{ name: 'local', context: { cluster: 'local', user: 'admin', namespace: 'default' } }],
      'current-context': 'local',
    };
    writeFileSync(this.kubeconfigPath, yaml.dump(kubeconfig), { mode: 0o600 });
  }

  private defineComponents(): ComponentProcess[] {
    const p = this.ports!;
    const pki = this.pki;
    const dataDir = (name: string) => {
      const dir = join(this.dir, name);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      return dir;
    };
    const component = (name: string, args: string[]) =>
      new ComponentProcess(name, join(this.binDir, name), args, join(this.logsDir, `${name}.log`));
    const apiAddress = this.realNode ? REAL_NODE_IP : '127.0.0.1';
    const peerUrl = `http://127.0.0.1:${p.etcdPeer}`;
    const clientUrl = `http://127.0.0.1:${p.etcdClient}`;
    const kubeconfig = this.kubeconfigPath;
    // Delegated authentication and authorization against the API server, as in a real cluster.
    const delegation = [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
    ];

    const components = [
      component('etcd', [
        '--name=local',
        `--data-dir=${dataDir('etcd')}`,
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=local=${peerUrl}`,
        // Throw-away test data: skipping fsync makes every write much faster, as envtest does.
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ]),
      component('kube-apiserver', [
        `--advertise-address=${apiAddress}`,
        `--bind-address=${apiAddress}`,
        `--secure-port=${p.apiserver}`,
        `--etcd-servers=${clientUrl}`,
        `--cert-dir=${dataDir('apiserver')}`,
        `--tls-cert-file=${pki.servingCertFile}`,
        `--tls-private-key-file=${pki.servingKeyFile}`,
        `--client-ca-file=${pki.caCertFile}`,
        // Published in kube-system/extension-apiserver-authentication for the components'
        // delegated authentication; only a client certificate named front-proxy-client may proxy.
        `--requestheader-client-ca-file=${pki.caCertFile}`,
        '--requestheader-allowed-names=front-proxy-client',
        '--requestheader-username-headers=X-Remote-User',
        '--requestheader-group-headers=X-Remote-Group',
        '--requestheader-extra-headers-prefix=X-Remote-Extra-',
        `--authorization-mode=${this.realNode ? 'Node,RBAC' : 'RBAC'}`,
        // PodSecurity (on by default, named to be explicit) admits pods against a namespace's
        // pod-security.kubernetes.io labels; OwnerReferencesPermissionEnforcement (as on
        // OpenShift) lets only a client that may update an owner's finalizers set
        // blockOwnerDeletion on an object it owns.
        `--enable-admission-plugins=PodSecurity,OwnerReferencesPermissionEnforcement${this.realNode ? ',NodeRestriction' : ''}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${pki.serviceAccountPublicKeyFile}`,
        `--service-account-signing-key-file=${pki.serviceAccountKeyFile}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        '--allow-privileged=true',
        ...(this.realNode
          ? [
              // Pods reach the API server through the `kubernetes` Service: its endpoint is the gateway address.
              '--endpoint-reconciler-type=lease',
              '--kubelet-preferred-address-types=InternalIP',
              `--kubelet-client-certificate=${pki.adminCertFile}`,
              `--kubelet-client-key=${pki.adminKeyFile}`,
              `--kubelet-certificate-authority=${pki.caCertFile}`,
            ]
          : // No real network: the `kubernetes` Service gets no endpoints instead of a loopback one.
            ['--endpoint-reconciler-type=none']),
        '--profiling=false',
      ]),
    ];
    if (!this.workloads) return components;
    // What kube-controller-manager and kube-scheduler share: delegated auth, loopback, no leader
    // election, and no client-side rate limits, as kwokctl's DisableQPSLimits sets them (the
    // defaults, 20 requests/s and 50, would take minutes to run a thousand Deployments).
    const controlLoop = (name: string, port: number) => [
      ...delegation,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${dataDir(name)}`,
      '--leader-elect=false',
      '--profiling=false',
      '--kube-api-qps=5000',
      '--kube-api-burst=10000',
    ];
    components.push(
      component('kube-controller-manager', [
        ...controlLoop('kube-controller-manager', p.controllerManager),
        `--service-account-private-key-file=${pki.serviceAccountKeyFile}`,
        `--root-ca-file=${pki.caCertFile}`,
        `--cluster-signing-cert-file=${pki.caCertFile}`,
        `--cluster-signing-key-file=${pki.caKeyFile}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        '--use-service-account-credentials=false',
      ]),
      component('kube-scheduler', controlLoop('kube-scheduler', p.scheduler)),
    );
    if (this.realNode) return components;
    components.push(
      component('kwok', [
        `--kubeconfig=${kubeconfig}`,
        `--config=${join(packageRoot(), 'scripts', 'kwok-stages.yaml')}`,
        `--manage-single-node=${FAKE_NODE_NAME}`,
        `--cidr=${POD_CIDR}`,
        `--node-ip=${NODE_IP}`,
        `--server-address=127.0.0.1:${p.kwok}`,
        '--node-lease-duration-seconds=40',
      ]),
      // The reload agents of the NGINX pods kwok runs (it runs no containers): see agent-stand-in.ts.
      new ComponentProcess(
        'agent-stand-in',
        process.execPath,
        ['--max-semi-space-size=1', join(packageRoot(), 'dist', 'localcluster', 'agent-stand-in.js'), kubeconfig],
        join(this.logsDir, 'agent-stand-in.log'),
      ),
    );
    return components;
  }

  /** Waits until the controllers, the scheduler and kwok can take a pod to Ready. */
  private async waitForWorkloads(): Promise<void> {
    const insecure = { insecure: true };
    await this.waitFor(
      this.component('kube-controller-manager'),
      () => get(`https://127.0.0.1:${this.ports!.controllerManager}/healthz`, insecure),
      (r) => r.status === 200,
    );
    await this.waitFor(
      this.component('kube-scheduler'),
      () => get(`https://127.0.0.1:${this.ports!.scheduler}/healthz`, insecure),
      (r) => r.status === 200,
    );
    const core = this.kubeConfig().makeApiClient(k8s.CoreV1Api);
    if (!this.realNode) {
      await this.waitFor(
        this.component('kwok'),
        () => get(`http://127.0.0.1:${this.ports!.kwok}/healthz`),
        (r) => r.status === 200,
      );
      await this.ensureFakeNode(core);
      await this.waitFor(
        this.component('kwok'),
        () => core.readNode({ name: FAKE_NODE_NAME }),
        (node) => node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      );
    }
    // Pods are admitted only once the service-account controller made the namespace's default account.
    await this.waitFor(
      this.component('kube-controller-manager'),
      () => core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' }),
      () => true,
    );
  }

  private async ensureFakeNode(core: k8s.CoreV1Api): Promise<void> {
    const node: k8s.V1Node = {
      metadata: {
        name: FAKE_NODE_NAME,
        labels: {
          'kubernetes.io/hostname': FAKE_NODE_NAME,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          type: 'kwok',
        },
        annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      },
      spec: { podCIDR: POD_CIDR, podCIDRs: [POD_CIDR] },
    };
    try {
      await core.createNode({ body: node });
    } catch (error) {
      if (!(error instanceof k8s.ApiException && error.code === 409)) throw error;
    }
  }

  /** Polls `probe` until `ok` holds, failing fast with the component's log if it exits. */
  private async waitFor<T>(
    component: ComponentProcess,
    probe: () => Promise<T>,
    ok: (result: T) => boolean,
    timeoutMs = 60_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    for (;;) {
      component.assertRunning();
      try {
        const result = await probe();
        if (ok(result)) return;
        last = JSON.stringify(result).slice(0, 300);
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `${component.name} not ready after ${timeoutMs / 1000} s (last: ${last}); last log lines:\n${component.logTail()}`,
        );
      }
      await sleep(100);
    }
  }
}
