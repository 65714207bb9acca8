// The reload agent: watches exactly its frontend's ConfigMap and Secrets, and serves each new
// consistent configuration in place. Every change goes the same way: a fresh versioned
// directory, `nginx -t` with the binary that serves, an atomic switch of `current`, SIGHUP to
// the master, and a confirmation that new workers answer with the new hash. A configuration
// that fails any step is not served (the last good one stays), is reported, and is retried with
// backoff; changes arriving in a burst are served once.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { RestartingInformer, type Logger } from '../controller/runtime/controller.js';
import type { SecretMount } from '../api/agent.js';
import { parseUpstreamServersPlan, UPSTREAM_SERVERS_FILE } from '../api/upstream-servers.js';
import { assemble, digestOf, type Configuration } from './configuration.js';
import type { AgentMetrics, ReloadResult } from './metrics.js';
import {
  ConfigurationStore,
  errorLine,
  fetchServedHash,
  NginxMaster,
  stoppedAccepting,
  testConfiguration,
  type MasterExit,
} from './nginx.js';
import type { SiteProber } from './probe.js';
import type { PodReporter } from './report.js';

/** Test-only: names a file whose content, while it exists, is appended to every new nginx.conf (to make one invalid). */
export const TEST_EXTRA_MAIN_CONF_ENV = 'WSO2_FRONTEND_AGENT_TEST_EXTRA_MAIN_CONF';

export interface AgentOptions {
  kubeConfig: k8s.KubeConfig;
  namespace: string;
  configMap: string;
  secrets: SecretMount[];
  nginxBinary: string;
  /** NGINX's prefix (pid, temporary files) and the agent's configuration store. */
  stateDir: string;
  /** NGINX's local configuration-hash endpoint. */
  confirmUrl: string;
  /** How long new workers have to answer with the new hash after the reload signal. */
  confirmTimeoutMs: number;
  /** Changes arriving within this window are served together. */
  coalesceMs: number;
  reporter: PodReporter;
  /** Probes the sites of the served configuration's plan. */
  prober?: SiteProber;
  metrics: AgentMetrics;
  log: Logger;
  /** Called when the master exits without being asked to, with why in words: the agent's process should exit too. */
  onMasterExit: (exit: MasterExit, reason: string) => void;
  /** Test-only: a file whose content, while it exists, is appended to every new nginx.conf. */
  testExtraMainConfFile?: string;
  /** Backoff of a failed configuration's retries (defaults: 1 s doubling up to 60 s). */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
}

interface Served {
  hash: string;
  /** The exact bytes served, test hook included. */
  digest: string;
  dir: string;
}

interface Failure {
  digest: string;
  attempts: number;
  retryAt: number;
}

const CORE_V1 = { group: '', version: 'v1' };

/** Why the master is gone, in the words the container's termination message gives (and the frontend's status shows). */
export function describeMasterExit(pid: number, exit: MasterExit): string {
  const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code ?? 'unknown'}`;
  return `NGINX master (pid ${pid}) exited: ${how}`;
}

export class ReloadAgent {
  private readonly store: ConfigurationStore;
  private readonly informers: RestartingInformer[] = [];
  private master: NginxMaster | undefined;
  private served: Served | undefined;
  private failure: Failure | undefined;
  private readonly errorLog: string[] = [];
  private errorLogCount = 0;
  /** The coalescing timer of the next sync. */
  private timer: NodeJS.Timeout | undefined;
  /** The retry of a failed configuration, apart: a watch event in between must not cancel it. */
  private retryTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private rerun = false;
  private stopping = false;

  constructor(private readonly options: AgentOptions) {
    this.store = new ConfigurationStore(options.stateDir);
    const restartDelay = (failures: number) => Math.min(200 * 2 ** failures, 5000);
    const watch = (plural: string, kind: string, name: string) =>
      new RestartingInformer(
        options.kubeConfig,
        { ...CORE_V1, plural, kind },
        options.namespace,
        `${kind}/${name}`,
        () => this.schedule(),
        restartDelay,
        options.log,
        undefined,
        undefined,
        `metadata.name=${name}`,
      );
    this.informers.push(watch('configmaps', 'ConfigMap', options.configMap));
    for (const secret of new Set(options.secrets.map((s) => s.secret)))
      this.informers.push(watch('secrets', 'Secret', secret));
  }

  /** The hash NGINX is confirmed to serve. */
  get servedHash(): string | undefined {
    return this.served?.hash;
  }

  get masterRunning(): boolean {
    return this.master?.running ?? false;
  }

  get masterPid(): number | undefined {
    return this.master?.pid;
  }

  /** Asks the running master to reopen its log files; false when none runs. */
  reopenLogs(): boolean {
    if (!this.master?.running) return false;
    try {
      this.master.reopenLogs();
    } catch {
      return false; // the master exited between the check and the signal (ESRCH)
    }
    return true;
  }

  /** The NGINX master and its workers (old ones finishing connections included). */
  nginxPids(): number[] {
    return this.master?.running ? [this.master.pid, ...this.master.workerPids()] : [];
  }

  workerCount(): number {
    return this.master?.workerPids().length ?? 0;
  }

  /**
   * Starts NGINX on the last good configuration if there is one (it serves while the API server
   * is away), then watches. Resolves once the watches are open or retrying.
   */
  async start(): Promise<void> {
    const last = this.store.current();
    if (last) {
      this.log('info', 'starting NGINX on the last good configuration', { hash: last.hash });
      this.startMaster();
      const confirmed = await this.confirm(last.hash, this.errorLogCount, undefined);
      if (typeof confirmed === 'string')
        this.log('error', 'the last good configuration is not served', { error: confirmed });
      else {
        this.served = { hash: last.hash, digest: last.digest, dir: last.dir };
        this.followUpstreamServers(last.dir, confirmed.switchedAt);
        this.options.metrics.setServed(last.hash);
        this.options.reporter.report({ served: last.hash, reason: 'Served' });
        this.options.prober?.follow(last.dir);
      }
    } else {
      this.options.reporter.report({ reason: 'Waiting', detail: 'waiting for the first configuration' });
    }
    await Promise.all(this.informers.map((informer) => informer.start()));
  }

  /** Stops watching, lets NGINX finish its connections (graceful quit) and waits for it. */
  async stop(quitTimeoutMs: number): Promise<MasterExit | undefined> {
    this.stopping = true;
    clearTimeout(this.timer);
    clearTimeout(this.retryTimer);
    await Promise.all(this.informers.map((informer) => informer.stop()));
    await this.running;
    await this.options.prober?.stop();
    this.options.reporter.stop();
    return this.master?.quit(quitTimeoutMs);
  }

  private log(level: 'info' | 'error', message: string, fields: Record<string, unknown> = {}): void {
    this.options.log(level, message, fields);
  }

  /** Coalesces: one sync per burst of changes, never two at once. */
  private schedule(delayMs = this.options.coalesceMs): void {
    if (this.stopping) return;
    if (this.running) {
      this.rerun = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.sync()
        .catch((error: unknown) => this.log('error', 'sync failed', { error: String(error) }))
        .finally(() => {
          this.running = undefined;
          if (this.rerun) {
            this.rerun = false;
            this.schedule();
          }
        });
    }, delayMs);
  }

  private get<T extends k8s.KubernetesObject>(kind: string, name: string): T | undefined {
    const informer = this.informers.find((i) => i.cacheName === `${kind}/${name}`);
    return informer?.informer.get(name, this.options.namespace) as T | undefined;
  }

  private async sync(): Promise<void> {
    const secrets = new Map(
      this.options.secrets.map((mount) => [mount.secret, this.get<k8s.V1Secret>('Secret', mount.secret)]),
    );
    const assembly = assemble(
      this.get<k8s.V1ConfigMap>('ConfigMap', this.options.configMap),
      secrets,
      this.options.secrets,
    );
    if (!assembly.ready) {
      this.log('info', 'not serving a new configuration yet', { waiting: assembly.waiting });
      if (!this.served) this.options.reporter.report({ reason: 'Waiting', detail: assembly.waiting });
      return;
    }
    const configuration = assembly.configuration;
    const extra = this.testExtraMainConf();
    const digest = extra === undefined ? configuration.digest : digestOf({ ...configuration.files, extra });
    if (this.served?.digest === digest) {
      if (this.failure) {
        // What failed was replaced by what is served again.
        this.failure = undefined;
        this.options.reporter.report({ served: this.served.hash, reason: 'Served' });
      }
      return;
    }
    if (this.failure?.digest === digest && Date.now() < this.failure.retryAt) {
      // Its retry timer is armed (fail); the watch event that woke this sync changes nothing in it.
      this.log('info', 'configuration failed before; retried at its time', {
        hash: configuration.hash,
        retryInMs: this.failure.retryAt - Date.now(),
      });
      return;
    }
    await this.serve(configuration, digest, extra);
  }

  private testExtraMainConf(): string | undefined {
    const file = this.options.testExtraMainConfFile;
    if (!file) return undefined;
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
  }

  private async serve(configuration: Configuration, digest: string, extra: string | undefined): Promise<void> {
    const { hash } = configuration;
    let dir: string;
    try {
      dir = this.store.write(configuration, extra);
    } catch (error) {
      // A full or read-only state directory: said like a rejected configuration, and retried.
      const why = `could not be written to the state directory: ${error instanceof Error ? error.message : String(error)}`;
      this.fail('failed', configuration, digest, why, 0);
      return;
    }
    const { nginxBinary, stateDir } = this.options;
    const test = await testConfiguration(nginxBinary, `${stateDir}/`, join(dir, 'nginx.conf'));
    if (!test.ok) {
      this.fail('invalid', configuration, digest, `rejected by nginx -t: ${errorLine(test.output)}`, 0);
      return;
    }
    const previous = this.served;
    const started = performance.now();
    const mark = this.errorLogCount;
    const workersBefore = new Set(this.master?.workerPids() ?? []);
    this.store.activate(dir);
    if (this.master) this.master.reload();
    else this.startMaster();
    const confirmed = await this.confirm(hash, mark, workersBefore);
    const seconds = (performance.now() - started) / 1000;
    if (typeof confirmed === 'string') {
      // NGINX keeps its old workers when a reload fails; a restart must find the same configuration.
      if (previous) this.store.activate(previous.dir);
      this.fail('failed', configuration, digest, `not taken by NGINX on reload: ${confirmed}`, seconds);
      return;
    }
    this.served = { hash, digest, dir };
    this.followUpstreamServers(dir, confirmed.switchedAt);
    this.failure = undefined;
    this.options.metrics.observeReload('success', seconds);
    this.options.metrics.setServed(hash);
    this.options.reporter.report({ served: hash, reason: 'Served' });
    this.options.prober?.follow(dir);
    this.store.prune([dir]);
    this.log('info', 'serving configuration', {
      hash,
      previous: previous?.hash,
      reloadMs: Math.round(seconds * 1000),
      masterPid: this.master?.pid,
    });
  }

  /** The upstream servers of the configuration now served from `dir`, for the upstream_server_up gauge. */
  private followUpstreamServers(dir: string, since: number): void {
    let text: string | undefined;
    try {
      text = readFileSync(join(dir, UPSTREAM_SERVERS_FILE), 'utf8');
    } catch {
      text = undefined; // rendered without the traffic log, or by an operator before the file existed
    }
    const plan = text === undefined ? undefined : parseUpstreamServersPlan(text);
    if (typeof plan === 'string')
      this.log('error', 'upstream servers not usable; shown once they get requests', { error: plan });
    this.options.metrics.traffic.configure(typeof plan === 'string' ? undefined : plan, since);
  }

  private fail(result: ReloadResult, configuration: Configuration, digest: string, why: string, seconds: number): void {
    const attempts = this.failure?.digest === digest ? this.failure.attempts + 1 : 1;
    const base = this.options.retryBaseDelayMs ?? 1000;
    const delayMs = Math.min(base * 2 ** (attempts - 1), this.options.retryMaxDelayMs ?? 60_000);
    this.failure = { digest, attempts, retryAt: Date.now() + delayMs };
    const detail = `configuration ${configuration.hash} ${why}`;
    this.options.metrics.observeReload(result, seconds);
    this.options.reporter.report({
      ...(this.served ? { served: this.served.hash } : {}),
      reason: 'ReloadFailed',
      detail,
    });
    this.log('error', 'configuration not served; the last good one stays', {
      hash: configuration.hash,
      served: this.served?.hash,
      error: detail,
      retryInMs: delayMs,
    });
    clearTimeout(this.retryTimer);
    // Not once stopping: the timer would keep the process alive after "agent stopped".
    if (!this.stopping)
      this.retryTimer = setTimeout(() => {
        // Due now, whatever Date.now() says: timers run on the loop's own clock, which may be a
        // millisecond ahead of it (or the wall clock stepped back), and a sync that found the
        // retry not yet due would return with nothing left to retry it.
        if (this.failure?.digest === digest) this.failure.retryAt = 0;
        this.schedule(0);
      }, delayMs);
    try {
      this.store.prune(this.served ? [this.served.dir] : []);
    } catch (error) {
      // The state directory may be what failed; the retry prunes again.
      this.log('error', 'removing unused configurations failed', { error: String(error) });
    }
  }

  private startMaster(): void {
    const master = NginxMaster.start(
      this.options.nginxBinary,
      `${this.options.stateDir}/`,
      this.store.mainFile,
      (line) => this.onErrorLog(line),
    );
    this.master = master;
    this.log('info', 'NGINX master started', { pid: master.pid });
    void master.exited.then((exit) => {
      if (this.stopping) return;
      // Its workers would keep serving a configuration nobody updates any more.
      master.killGroup();
      const reason = describeMasterExit(master.pid, exit);
      this.log('error', reason, { pid: master.pid, code: exit.code, signal: exit.signal });
      this.options.onMasterExit(exit, reason);
    });
  }

  private onErrorLog(line: string): void {
    process.stderr.write(`${line}\n`);
    this.errorLog.push(line);
    this.errorLogCount++;
    if (this.errorLog.length > 50) this.errorLog.shift();
  }

  /** NGINX error lines logged since `mark` that say a (re)load failed. */
  private loadErrorSince(mark: number): string | undefined {
    const fresh = this.errorLog.slice(Math.max(0, this.errorLog.length - (this.errorLogCount - mark)));
    return fresh.find((line) => /\[emerg\]/.test(line));
  }

  /**
   * Waits until this (re)load serves: new workers exist, every old one has stopped accepting
   * connections (both from /proc, where it can be read), and a new connection is answered with
   * `hash`. Returns when the new workers took over (the last moment they were not yet alone,
   * within one poll of the switch, wall clock ms), or why not.
   */
  private async confirm(
    hash: string,
    mark: number,
    workersBefore: Set<number> | undefined,
  ): Promise<{ switchedAt: number } | string> {
    const deadline = Date.now() + this.options.confirmTimeoutMs;
    let notYet = Date.now();
    for (;;) {
      const failed = this.loadErrorSince(mark);
      if (failed) return failed;
      if (!this.master?.running) return this.loadErrorSince(mark) ?? 'the NGINX master exited';
      const switched =
        !workersBefore?.size ||
        (this.master.workerPids().some((pid) => !workersBefore.has(pid)) && [...workersBefore].every(stoppedAccepting));
      if (switched && (await fetchServedHash(this.options.confirmUrl)) === hash) return { switchedAt: notYet };
      if (!switched) notYet = Date.now();
      if (Date.now() > deadline)
        return `no new NGINX worker answered with ${hash} within ${this.options.confirmTimeoutMs} ms`;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}
