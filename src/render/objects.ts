// The Kubernetes objects the operator keeps for one Wso2Frontend, rendered from its topology.
// This revision renders the NGINX configuration; the reconciler adds the workloads.
import type { Wso2Frontend } from '../api/schema.js';
import type { Topology } from '../model/topology.js';
import { containerLayout, renderNginx } from './nginx/config.js';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels: Record<string, string>;
}

export interface ConfigMapObject {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: ObjectMeta;
  data: Record<string, string>;
}

export function labelsFor(frontend: Wso2Frontend, component: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'wso2-frontend',
    'app.kubernetes.io/instance': frontend.metadata.name,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/managed-by': 'wso2-frontend-operator',
  };
}

const meta = (frontend: Wso2Frontend, name: string, component: string): ObjectMeta => ({
  name,
  ...(frontend.metadata.namespace ? { namespace: frontend.metadata.namespace } : {}),
  labels: labelsFor(frontend, component),
});

export const nginxConfigMapName = (frontend: Wso2Frontend) => `${frontend.metadata.name}-nginx`;
/** The Secret of one certificate the operator issues (self-signed mode), and of the CA that signs them. */
export const certificateSecretName = (frontend: Wso2Frontend, certificateName: string) => `${frontend.metadata.name}-tls-${certificateName}`;
export const caSecretName = (frontend: Wso2Frontend) => `${frontend.metadata.name}-tls-ca`;

export function nginxConfigMap(frontend: Wso2Frontend, topology: Topology): ConfigMapObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(frontend, nginxConfigMapName(frontend), 'nginx'),
    data: renderNginx(topology, containerLayout(topology)),
  };
}

/** The objects without secret material (certificates are issued by the controller at reconcile time). */
export function desiredObjects(frontend: Wso2Frontend, topology: Topology): ConfigMapObject[] {
  return [nginxConfigMap(frontend, topology)];
}
