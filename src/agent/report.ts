// The agent's reports on its own Pod: the ConfigurationServed condition, which the NGINX pods
// carry as a readiness gate and the operator sums up on the Wso2Frontend's status, and the site
// probes' annotation and SitesServing condition. Both go through the Pod's status subresource
// (which also takes the Pod's annotations), so the agent needs no write access to Pods themselves.
import * as k8s from '@kubernetes/client-node';
import {
  AGENT_CONTRACT,
  AGENT_CONTRACT_ANNOTATION,
  SERVED_CONDITION,
  servedMessage,
  type ServedReason,
} from '../api/agent.js';
import {
  formatSiteProbeReport,
  SITE_PROBES_ANNOTATION,
  SITES_SERVING_CONDITION,
  type SiteProbeReport,
} from '../api/probe.js';
import type { Logger } from '../controller/runtime/controller.js';
import { mustWrite, sitesServing, verdictOf } from './verdict.js';

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

/** A patch of the Pod's status, and what to remember once it is written. */
interface PodPatch {
  body: object;
  onWritten: () => void;
}

/**
 * Writes the latest of a stream of patches to the Pod's status, one at a time. The patch is built
 * when it is sent (from what was written before); a failed one (the API server away) is retried
 * with backoff until it succeeds or a newer one replaces it.
 */
class PodStatusWriter {
  private readonly core: k8s.CoreV1Api;
  private pending: (() => PodPatch | undefined) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private sending: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    kubeConfig: k8s.KubeConfig,
    private readonly namespace: string,
    private readonly podName: string,
    private readonly log: Logger,
    private readonly what: string,
  ) {
    this.core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  }

  submit(build: () => PodPatch | undefined): void {
    this.pending = build;
    clearTimeout(this.timer);
    this.sending = this.sending.then(() => this.flush());
  }

  async settle(): Promise<void> {
    await this.sending;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async flush(): Promise<void> {
    const build = this.pending;
    if (!build || this.stopped) return;
    const patch = build();
    if (!patch) {
      if (this.pending === build) this.pending = undefined;
      return;
    }
    try {
      await this.core.patchNamespacedPodStatus(
        { name: this.podName, namespace: this.namespace, body: patch.body },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
      );
      patch.onWritten();
      this.failures = 0;
      if (this.pending === build) this.pending = undefined;
    } catch (error) {
      const retryInMs = Math.min(200 * 2 ** this.failures++, 10_000);
      this.log('error', `reporting ${this.what} on the Pod failed; retrying`, {
        pod: `${this.namespace}/${this.podName}`,
        error: String(error),
        retryInMs,
      });
      this.timer = setTimeout(() => {
        this.sending = this.sending.then(() => this.flush());
      }, retryInMs);
    }
  }
}

/** Patches the ConfigurationServed condition on the Pod's status when it changed. */
export class PodReporter {
  private readonly writer: PodStatusWriter;
  private sent: k8s.V1PodCondition | undefined;

  constructor(kubeConfig: k8s.KubeConfig, namespace: string, podName: string, log: Logger) {
    this.writer = new PodStatusWriter(kubeConfig, namespace, podName, log, 'the served configuration');
  }

  report(report: ServedReport): void {
    this.writer.submit(() => {
      const sent = this.sent;
      const same = sent && sent.status === (report.served ? 'True' : 'False');
      const condition = servedCondition(report, same ? sent.lastTransitionTime! : new Date());
      if (sent && same && sent.reason === condition.reason && sent.message === condition.message) return undefined;
      // The contract goes with each report, so the operator never reads a report without it.
      return {
        body: {
          metadata: { annotations: { [AGENT_CONTRACT_ANNOTATION]: AGENT_CONTRACT } },
          status: { conditions: [condition] },
        },
        onWritten: () => (this.sent = condition),
      };
    });
  }

  /** Waits for the report in flight (used on shutdown). */
  async settle(): Promise<void> {
    await this.writer.settle();
  }

  stop(): void {
    this.writer.stop();
  }
}

/**
 * Writes the site probes' report (the annotation) and the SitesServing condition on the Pod: when
 * the verdict changes (serving, nodes answering, an error), and otherwise once per refresh period
 * (SITE_PROBES_REFRESH_MS), so a healthy fleet does not write every probe interval.
 */
export class SiteProbeReporter {
  private readonly writer: PodStatusWriter;
  private written: { verdict: string; at: number; condition: k8s.V1PodCondition } | undefined;
  private withdrawn = false;

  constructor(
    kubeConfig: k8s.KubeConfig,
    namespace: string,
    podName: string,
    log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.writer = new PodStatusWriter(kubeConfig, namespace, podName, log, 'the site probes');
  }

  report(report: SiteProbeReport): void {
    this.writer.submit(() => {
      const now = this.now();
      if (!mustWrite(this.written, report, now)) return undefined;
      const { status, reason, message } = sitesServing(report);
      const previous = this.written?.condition;
      const condition: k8s.V1PodCondition = {
        type: SITES_SERVING_CONDITION,
        status,
        reason,
        message,
        lastTransitionTime: previous?.status === status ? previous.lastTransitionTime! : new Date(now),
      };
      return {
        body: {
          metadata: { annotations: { [SITE_PROBES_ANNOTATION]: formatSiteProbeReport(report) } },
          status: { conditions: [condition] },
        },
        onWritten: () => (this.written = { verdict: verdictOf(report), at: now, condition }),
      };
    });
  }

  /**
   * Probes are off: the annotation goes and the condition says so (once; `wasReporting` false
   * on a start with probes off, where an earlier container of this Pod may have left a report).
   */
  withdraw(wasReporting: boolean): void {
    if (!wasReporting && this.withdrawn) return;
    this.withdrawn = true;
    this.writer.submit(() => {
      const condition: k8s.V1PodCondition = {
        type: SITES_SERVING_CONDITION,
        status: 'Unknown',
        reason: 'ProbesDisabled',
        message: 'spec.probes.enabled is false',
        lastTransitionTime: new Date(this.now()),
      };
      return {
        body: { metadata: { annotations: { [SITE_PROBES_ANNOTATION]: null } }, status: { conditions: [condition] } },
        onWritten: () => (this.written = undefined),
      };
    });
  }

  async settle(): Promise<void> {
    await this.writer.settle();
  }

  stop(): void {
    this.writer.stop();
  }
}
