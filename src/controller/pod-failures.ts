// Why a pod is not ready, as the kubelet tells it, in the words a user needs on the frontend's
// status: the pod, the container, how often it restarted, how it last ended
// (lastState.terminated: exit code, reason and the message the container wrote to its
// termination message file, e.g. the reload agent's "NGINX master (pid 7) exited: killed by
// SIGKILL") and why it waits (CrashLoopBackOff). Pure. Everything taken from the pod is bounded
// and stripped of control and format characters (newlines, bidi, zero-width) before it reaches
// the status, whatever the container wrote.
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { oneLine } from '../api/text.js';

/** The most characters of one text taken from a pod (a termination message, a reason). */
export const POD_TEXT_LIMIT = 200;
/** Pods named in one message; the others are counted. */
const PODS_NAMED = 2;
/** Waiting reasons of a container that is simply starting: not a failure. */
const STARTING = new Set(['ContainerCreating', 'PodInitializing']);

/** One line of printable text of at most `limit` characters (code points), ending in … when cut. */
export const podText = (text: string, limit = POD_TEXT_LIMIT): string => oneLine(text, limit);

/** Why this container is not ready, or undefined when it is ready or only starting for the first time. */
export function containerFailure(status: V1ContainerStatus): string | undefined {
  if (status.ready) return undefined;
  const waiting = status.state?.waiting?.reason;
  const terminated = status.state?.terminated ?? status.lastState?.terminated;
  const restarts = status.restartCount ?? 0;
  if (!terminated && !restarts && (!waiting || STARTING.has(waiting))) return undefined;
  const parts = [`container ${podText(status.name, 63)}`, `restarted ${restarts} time${restarts === 1 ? '' : 's'}`];
  if (waiting && !STARTING.has(waiting)) parts.push(`waiting: ${podText(waiting, 64)}`);
  if (terminated) {
    const reason = terminated.reason ? ` (${podText(terminated.reason, 64)})` : '';
    const message = terminated.message ? podText(terminated.message) : '';
    parts.push(`last terminated with exit code ${terminated.exitCode}${reason}${message ? `: ${message}` : ''}`);
  }
  return parts.join(', ');
}

/** The pods (not being deleted) that are not ready because a container failed, each with why; undefined when none. */
export function failingPods(pods: readonly V1Pod[]): string | undefined {
  const failing = [...pods]
    .filter((pod) => !pod.metadata?.deletionTimestamp)
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))
    .flatMap((pod) => {
      const why = (pod.status?.containerStatuses ?? []).map(containerFailure).filter((w) => w !== undefined);
      return why.length ? [`pod ${podText(pod.metadata?.name ?? '', 253)} is not ready: ${why.join('; ')}`] : [];
    });
  if (!failing.length) return undefined;
  const more = failing.length - PODS_NAMED;
  return failing.slice(0, PODS_NAMED).join('; ') + (more > 0 ? ` (and ${more} more pod(s) not ready)` : '');
}
