// Kubernetes Events (events.k8s.io/v1) about a Wso2Frontend, with reasons a user can search for
// (`kubectl events --for wso2frontend/NAME`). A failure to record is logged, never fatal.
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, KIND, type Wso2Frontend } from '../api/schema.js';

export type EventType = 'Normal' | 'Warning';

export class EventRecorder {
  private readonly api: k8s.EventsV1Api;

  constructor(
    kubeConfig: k8s.KubeConfig,
    private readonly instance: string,
    private readonly onError: (error: unknown) => void = () => {},
  ) {
    this.api = kubeConfig.makeApiClient(k8s.EventsV1Api);
  }

  async record(frontend: Wso2Frontend, type: EventType, reason: string, action: string, note: string): Promise<void> {
    const namespace = frontend.metadata.namespace ?? 'default';
    const event: k8s.EventsV1Event = {
      metadata: { name: `${frontend.metadata.name}.${randomBytes(8).toString('hex')}`, namespace },
      // MicroTime: the API wants six fractional digits, which this class writes.
      eventTime: new k8s.V1MicroTime(),
      reportingController: `${API_GROUP}/operator`,
      reportingInstance: this.instance,
      type,
      reason,
      action,
      // The API limits a note to 1 kB.
      note: note.length > 1024 ? `${note.slice(0, 1021)}...` : note,
      regarding: {
        apiVersion: `${API_GROUP}/${API_VERSION}`,
        kind: KIND,
        name: frontend.metadata.name,
        namespace,
        ...(frontend.metadata.uid ? { uid: frontend.metadata.uid } : {}),
      },
    };
    try {
      await this.api.createNamespacedEvent({ namespace, body: event });
    } catch (error) {
      this.onError(error);
    }
  }
}
