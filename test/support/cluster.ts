// Helpers for tests that talk to the shared local control plane (started by global-setup.js).
import { setTimeout } from 'node:timers/promises';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';

const execFileAsync = promisify(execFile);

export function kubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  if (!process.env.KUBECONFIG) throw new Error('KUBECONFIG is not set: run the tests through `npm test`');
  return kc;
}

/** Runs the machine's kubectl against the test cluster, as a user would; returns stdout. */
export async function kubectl(args: string[], input?: string): Promise<string> {
  const child = execFileAsync('kubectl', args, { env: process.env, maxBuffer: 16 * 1024 * 1024 });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  try {
    return (await child).stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`kubectl ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

export interface KubectlOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl and reports its exit code and output instead of failing: `kubectl diff` exits 1 to say "there are differences". */
export async function kubectlOutcome(args: string[]): Promise<KubectlOutcome> {
  try {
    const { stdout, stderr } = await execFileAsync('kubectl', args, { env: process.env, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    // A string code (ENOENT, ...) means kubectl did not run at all.
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** The Pod Security Standard every test namespace enforces, so each pod the tests make is admitted by the real PodSecurity plugin. */
export const POD_SECURITY_LABELS = { 'pod-security.kubernetes.io/enforce': 'restricted' };

/** A fresh namespace for one test file, so files never see each other's objects; pods in it must meet the `restricted` standard. */
export async function createNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await kubeConfig()
    .makeApiClient(k8s.CoreV1Api)
    .createNamespace({ body: { metadata: { name, labels: POD_SECURITY_LABELS } } });
  return name;
}

export const sleep = (ms: number): Promise<void> => setTimeout(ms);

/** Polls until `check` returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${cause}`);
    }
    await sleep(200);
  }
}

export interface RecordedEvent {
  type: string;
  reason: string;
  note: string;
  regarding: { name: string };
  eventTime?: string;
  series?: { count: number; lastObservedTime: string };
}

/** When an Event was last recorded (a repeat of the same note updates its series). */
export const lastRecorded = (event: RecordedEvent): number =>
  Date.parse(event.series?.lastObservedTime ?? event.eventTime ?? '');

/** The Events with this reason in a namespace (about one object when `regarding` is given), as kubectl lists them. */
export async function eventsWith(namespace: string, reason: string, regarding?: string): Promise<RecordedEvent[]> {
  const selector = `${regarding ? `regarding.name=${regarding},` : ''}reason=${reason}`;
  const text = await kubectl([
    'get',
    'events.events.k8s.io',
    '-n',
    namespace,
    '--field-selector',
    selector,
    '-o',
    'json',
  ]);
  return (JSON.parse(text) as { items: RecordedEvent[] }).items;
}

/** Waits for at least one Event with this reason (about `regarding`), and returns them. */
export function eventuallyEvents(namespace: string, reason: string, regarding?: string): Promise<RecordedEvent[]> {
  return eventually(`a ${reason} Event`, async () => {
    const events = await eventsWith(namespace, reason, regarding);
    return events.length ? events : undefined;
  });
}

export function isNotFound(error: unknown): boolean {
  return error instanceof k8s.ApiException && error.code === 404;
}

/**
 * A kubeconfig file for a service account: the test cluster's server and CA with a token from
 * the TokenRequest API (`kubectl create token`), as a pod of that service account would hold.
 */
export async function serviceAccountKubeconfig(namespace: string, name: string, dir: string): Promise<string> {
  const token = (await kubectl(['create', 'token', name, '-n', namespace, '--duration=2h'])).trim();
  const cluster = kubeConfig().getCurrentCluster();
  if (!cluster) throw new Error('the test kubeconfig has no current cluster');
  const file = join(dir, `${namespace}.${name}.kubeconfig`);
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server: cluster.server, 'certificate-authority-data': cluster.caData } }],
    users: [{ name, user: { token } }],
    contexts: [{ name, context: { cluster: 'local', user: name, namespace } }],
    'current-context': name,
  };
  writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
  return file;
}

/**
 * A watch that sees every version of the objects at `path`: client-node's Watch ends after 30 s
 * without an event (and the API server ends watches too), so it is resumed from the last
 * resourceVersion seen, which loses nothing; only a resourceVersion too old to resume from
 * (410 Gone) starts again from the objects as they are.
 */
export async function watchEveryVersion<T extends k8s.KubernetesObject>(
  path: string,
  labelSelector: string,
  onObject: (object: T) => void,
): Promise<() => void> {
  let stopped = false;
  let resourceVersion: string | undefined;
  let current: AbortController | undefined;
  const start = async (): Promise<void> => {
    if (stopped) return;
    const restart = () => {
      if (!stopped) void sleep(200).then(start).catch(restart);
    };
    current = await new k8s.Watch(kubeConfig()).watch(
      path,
      { labelSelector, allowWatchBookmarks: true, ...(resourceVersion ? { resourceVersion } : {}) },
      (phase: string, object: T) => {
        if (phase === 'ERROR') {
          resourceVersion = undefined;
          return;
        }
        resourceVersion = object.metadata?.resourceVersion ?? resourceVersion;
        if (phase !== 'BOOKMARK') onObject(object);
      },
      restart,
    );
  };
  await start();
  return () => {
    stopped = true;
    current?.abort();
  };
}
