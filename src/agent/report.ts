// The agent's report on its own Pod: the ConfigurationServed condition, which the NGINX pods
// carry as a readiness gate and the operator sums up on the Wso2Frontend's status.
import * as k8s from '@kubernetes/client-node';
import { SERVED_CONDITION, servedMessage, type ServedReason } from '../api/agent.js';
import type { Logger } from '../controller/runtime/controller.js';

export interface ServedReport {
  /** The hash NGINX is confirmed to serve, if any. */
  served?: string;
  reason: ServedReason;
  /** Why a newer configuration is not served (NGINX's own error line), or what the agent waits for. */
  detail?: string;
}

/**
 * The condition for a report. True whenever NGINX serves a confirmed configuration, also when a
 * newer one was rejected: every pod rejects the same configuration, and taking them all out of
 * the Service for it would turn a bad edit into an outage. The message names the served hash.
 */
export function servedCondition(report: ServedReport, now: Date): k8s.V1PodCondition {
  return {
    type: SERVED_CONDITION,
    status: report.served ? 'True' : 'False',
    reason: report.reason,
    message: servedMessage(report.served, report.detail),
    lastTransitionTime: now,
  };
}

/**
 * Patches the condition on the Pod's status when it changed; a failed patch (the API server
 * away) is retried with backoff until it succeeds or a newer report replaces it.
 */
export class PodReporter {
  private readonly core: k8s.CoreV1Api;
  private sent: k8s.V1PodCondition | undefined;
  private pending: ServedReport | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private sending: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    kubeConfig: k8s.KubeConfig,
    private readonly namespace: string,
    private readonly podName: string,
    private readonly log: Logger,
  ) {
    this.core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  }

  report(report: ServedReport): void {
    this.pending = report;
    clearTimeout(this.timer);
    this.sending = this.sending.then(() => this.flush());
  }

  /** Waits for the report in flight (used on shutdown). */
  async settle(): Promise<void> {
    await this.sending;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async flush(): Promise<void> {
    const report = this.pending;
    if (!report || this.stopped) return;
    const sent = this.sent;
    const same = sent && sent.status === (report.served ? 'True' : 'False');
    const condition = servedCondition(report, same ? sent.lastTransitionTime! : new Date());
    if (sent && same && sent.reason === condition.reason && sent.message === condition.message) {
      this.pending = undefined;
      return;
    }
    try {
      await this.core.patchNamespacedPodStatus(
        { name: this.podName, namespace: this.namespace, body: { status: { conditions: [condition] } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
      );
      this.sent = condition;
      this.failures = 0;
      if (this.pending === report) this.pending = undefined;
    } catch (error) {
      const retryInMs = Math.min(200 * 2 ** this.failures++, 10_000);
      this.log('error', 'reporting on the Pod failed; retrying', {
        pod: `${this.namespace}/${this.podName}`,
        error: String(error),
        retryInMs,
      });
      this.timer = setTimeout(() => (this.sending = this.sending.then(() => this.flush())), retryInMs);
    }
  }
}
