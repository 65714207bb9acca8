// Kubernetes Events (events.k8s.io/v1) about a Wso2Frontend, with reasons a user can search for
// (`kubectl events --for wso2frontend/NAME`). A failure to record is logged, never fatal.
//
// Repeats are aggregated as client-go's recorder does: the same type, reason, action and note
// about the same object within SERIES_WINDOW_MS of the last one updates that Event's `series`
// (count and lastObservedTime) with one PATCH instead of creating another Event, so a failure
// retried with backoff stays one Event with a growing count. (The note is part of the key because
// the API server keeps an Event's note immutable.)
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, KIND, type Wso2Frontend } from '../api/schema.js';
import { cutUtf8 } from '../api/text.js';

/** The most bytes of an Event's note the API accepts. */
const EVENT_NOTE_MAX_BYTES = 1024;

export type EventType = 'Normal' | 'Warning';

/** client-go's EventCorrelator aggregates within 10 minutes. */
export const SERIES_WINDOW_MS = 10 * 60_000;
/** How many series are remembered: the oldest is forgotten first (a later repeat then starts a new Event). */
const MAX_SERIES = 10_000;

interface Series {
  name: string;
  count: number;
  lastObserved: number;
}

export interface EventRecorderOptions {
  onError?: (error: unknown) => void;
  now?: () => Date;
}

export class EventRecorder {
  private readonly api: k8s.EventsV1Api;
  private readonly series = new Map<string, Series>();
  private readonly onError: (error: unknown) => void;
  private readonly now: () => Date;

  constructor(
    kubeConfig: k8s.KubeConfig,
    private readonly instance: string,
    options: EventRecorderOptions = {},
  ) {
    this.api = kubeConfig.makeApiClient(k8s.EventsV1Api);
    this.onError = options.onError ?? (() => {});
    this.now = options.now ?? (() => new Date());
  }

  async record(frontend: Wso2Frontend, type: EventType, reason: string, action: string, note: string): Promise<void> {
    const namespace = frontend.metadata.namespace ?? 'default';
    // The API limits a note to 1 kB (bytes of UTF-8, as Go counts them); it refuses a longer one.
    const shortNote = cutUtf8(note, EVENT_NOTE_MAX_BYTES);
    const { name: regarding, uid = '' } = frontend.metadata;
    const key = JSON.stringify([namespace, regarding, uid, type, reason, action, shortNote]);
    const now = this.now();
    try {
      const last = this.series.get(key);
      this.series.delete(key);
      if (last && now.getTime() - last.lastObserved < SERIES_WINDOW_MS) {
        const repeated = { ...last, count: last.count + 1, lastObserved: now.getTime() };
        if (await this.patchSeries(namespace, repeated, now)) {
          this.remember(key, repeated);
          return;
        }
      }
      const name = `${frontend.metadata.name}.${randomBytes(8).toString('hex')}`;
      await this.api.createNamespacedEvent({
        namespace,
        body: this.event(frontend, namespace, name, type, reason, action, shortNote, now),
      });
      this.remember(key, { name, count: 1, lastObserved: now.getTime() });
    } catch (error) {
      this.onError(error);
    }
  }

  /** Counts a repeat on the stored Event; false when that Event is gone (expired, deleted). */
  private async patchSeries(namespace: string, series: Series, now: Date): Promise<boolean> {
    try {
      await this.api.patchNamespacedEvent(
        {
          name: series.name,
          namespace,
          body: { series: { count: series.count, lastObservedTime: new k8s.V1MicroTime(now).toISOString() } },
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      return true;
    } catch (error) {
      if (error instanceof k8s.ApiException && error.code === 404) return false;
      throw error;
    }
  }

  private remember(key: string, series: Series): void {
    this.series.set(key, series);
    if (this.series.size > MAX_SERIES) this.series.delete(this.series.keys().next().value!);
  }

  private event(
    frontend: Wso2Frontend,
    namespace: string,
    name: string,
    type: EventType,
    reason: string,
    action: string,
    note: string,
    now: Date,
  ): k8s.EventsV1Event {
    return {
      metadata: { name, namespace },
      // MicroTime: the API wants six fractional digits, which this class writes.
      eventTime: new k8s.V1MicroTime(now),
      reportingController: `${API_GROUP}/operator`,
      reportingInstance: this.instance,
      type,
      reason,
      action,
      note,
      regarding: {
        apiVersion: `${API_GROUP}/${API_VERSION}`,
        kind: KIND,
        name: frontend.metadata.name,
        namespace,
        ...(frontend.metadata.uid ? { uid: frontend.metadata.uid } : {}),
      },
    };
  }
}
