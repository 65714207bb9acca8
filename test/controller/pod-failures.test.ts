// Why a pod is not ready, from what the kubelet writes on it, as the frontend's status says it.
import type * as k8s from '@kubernetes/client-node';
import { containerFailure, failingPods, podText, POD_TEXT_LIMIT } from '../../src/controller/pod-failures.js';

const MASTER_KILLED = 'NGINX master (pid 7) exited: killed by SIGKILL';

/** A container as the kubelet reports it after `restarts` restarts, its last run ended with `message`. */
function restarted(restarts: number, message: string | undefined, waiting?: string): k8s.V1ContainerStatus {
  return {
    name: 'nginx',
    image: 'nginx',
    imageID: '',
    ready: false,
    restartCount: restarts,
    state: waiting ? { waiting: { reason: waiting } } : { running: { startedAt: new Date() } },
    lastState: { terminated: { exitCode: 1, reason: 'Error', ...(message !== undefined ? { message } : {}) } },
  };
}

const pod = (name: string, ...containerStatuses: k8s.V1ContainerStatus[]): k8s.V1Pod => ({
  metadata: { name },
  status: { conditions: [{ type: 'Ready', status: 'False' }], containerStatuses },
});

test('a restarted container: its name, the restart count, the exit code, the reason and the termination message', () => {
  expect(containerFailure(restarted(1, MASTER_KILLED))).toBe(
    `container nginx, restarted 1 time, last terminated with exit code 1 (Error): ${MASTER_KILLED}`,
  );
});

test('a crash-looping container says it waits in CrashLoopBackOff', () => {
  expect(containerFailure(restarted(4, MASTER_KILLED, 'CrashLoopBackOff'))).toBe(
    `container nginx, restarted 4 times, waiting: CrashLoopBackOff, last terminated with exit code 1 (Error): ${MASTER_KILLED}`,
  );
});

test('a ready container, or one starting for the first time, is no failure', () => {
  expect(containerFailure({ ...restarted(2, MASTER_KILLED), ready: true })).toBeUndefined();
  const starting = { name: 'nginx', image: 'nginx', imageID: '', ready: false, restartCount: 0 };
  expect(containerFailure({ ...starting, state: { waiting: { reason: 'ContainerCreating' } } })).toBeUndefined();
  expect(containerFailure({ ...starting, state: { running: {} } })).toBeUndefined();
  expect(containerFailure({ ...starting, state: { waiting: { reason: 'ImagePullBackOff' } } })).toBe(
    'container nginx, restarted 0 times, waiting: ImagePullBackOff',
  );
});

test('a termination message is one bounded line: control, bidi and zero-width characters go, the rest is cut at the limit', () => {
  const hostile = `line one\nline two\r\n\u0000\u001b[31mred\u202eevil\u200b${'x'.repeat(5000)}`;
  const text = containerFailure(restarted(1, hostile))!;
  expect(text).not.toMatch(/[\p{Cc}\p{Cf}]/u);
  const message = text.slice(text.indexOf('(Error): ') + '(Error): '.length);
  expect(message.startsWith('line one line two [31mred evil xxx')).toBe(true);
  expect([...message]).toHaveLength(POD_TEXT_LIMIT);
  expect(message.endsWith('x…')).toBe(true);
  expect(podText('🙂'.repeat(300))).toBe(`${'🙂'.repeat(POD_TEXT_LIMIT - 1)}…`);
});

test('failing pods: named in order, two at most, the others counted; pods being deleted or not failing left out', () => {
  expect(failingPods([pod('a', { ...restarted(1, MASTER_KILLED), ready: true })])).toBeUndefined();
  const deleting = { ...pod('z', restarted(1, 'gone')), metadata: { name: 'z', deletionTimestamp: new Date() } };
  expect(failingPods([pod('c', restarted(1, 'c')), pod('b', restarted(2, undefined)), deleting])).toBe(
    'pod b is not ready: container nginx, restarted 2 times, last terminated with exit code 1 (Error); ' +
      'pod c is not ready: container nginx, restarted 1 time, last terminated with exit code 1 (Error): c',
  );
  expect(failingPods(['a', 'b', 'c', 'd'].map((n) => pod(n, restarted(1, n))))).toMatch(
    /^pod a .*; pod b .*: b \(and 2 more pod\(s\) not ready\)$/,
  );
});
