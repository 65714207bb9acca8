// What makes an object the operator's, written once: the labels on everything it renders, the
// field manager it applies with, and the table of kinds it owns (the annotations the reload
// agent reads are its contract, in src/api/agent.ts).
// The controller derives its watches, cache transforms, label selectors and prune set from here,
// so owning one more kind is one more row in OWNED_KINDS.
import { createHash } from 'node:crypto';
import type { KubernetesObject, V1ConfigMap, V1ContainerState, V1Deployment, V1Pod } from '@kubernetes/client-node';
import type { Wso2Frontend } from '../api/schema.js';
import { SITE_PROBES_ANNOTATION } from '../api/probe.js';
import { AGENT_CONTRACT_ANNOTATION } from '../api/agent.js';

/** The operator's name: its field manager, the managed-by label value and its Lease. */
export const OPERATOR_NAME = 'wso2-frontend-operator';
export const FIELD_MANAGER = OPERATOR_NAME;
export const LEASE_NAME = OPERATOR_NAME;
/**
 * On every object the operator applies: the hash of what it applied (content and owner), so a
 * restarted operator can tell from its cache, without a write, that an object already holds it.
 */
export const APPLIED_HASH_ANNOTATION = 'wso2-frontend.dev/applied-hash';

/** The recommended labels (app.kubernetes.io/*) on every object the operator renders. */
export const LABEL = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;
export const APP_NAME = 'wso2-frontend';
/** The component label of the NGINX objects (the WSO2 objects carry their role). */
export const NGINX_COMPONENT = 'nginx';
/** The component label of the TLS Secrets the operator issues. */
export const TLS_COMPONENT = 'tls';

/** Selects everything the operator manages (its informers watch nothing else). */
export const MANAGED_SELECTOR = `${LABEL.managedBy}=${OPERATOR_NAME}`;
/** Selects the NGINX pods of every frontend, whose reload agents report on them. */
export const NGINX_POD_SELECTOR = `${LABEL.component}=${NGINX_COMPONENT},${MANAGED_SELECTOR}`;
/** Selects what the operator manages for one frontend. */
export const instanceSelector = (frontendName: string) => `${LABEL.instance}=${frontendName},${MANAGED_SELECTOR}`;

export function labelsFor(frontend: Wso2Frontend, component: string): Record<string, string> {
  return {
    [LABEL.name]: APP_NAME,
    [LABEL.instance]: frontend.metadata.name,
    [LABEL.component]: component,
    [LABEL.managedBy]: OPERATOR_NAME,
  };
}

export const selectorFor = (frontend: Wso2Frontend, component: string) => ({
  [LABEL.instance]: frontend.metadata.name,
  [LABEL.component]: component,
});

export const meta = (frontend: Wso2Frontend, name: string, component: string) => ({
  name,
  ...(frontend.metadata.namespace ? { namespace: frontend.metadata.namespace } : {}),
  labels: labelsFor(frontend, component),
});

/** Shrinks a cached object to what reconcile reads (the cache holds every owned object for the life of the process). */
export type Trim = (object: KubernetesObject) => KubernetesObject;

/** The key under which a trimmed ConfigMap keeps the digest of its files. */
const DATA_DIGEST = 'sha256';

/**
 * Reconcile reads only the names, owners and versions of its ConfigMaps: the rendered files stay
 * out of the cache, and only their digest stays (the API server keeps a ConfigMap's data as sent),
 * so a desired ConfigMap trimmed the same way still tells whether the files are what it wants.
 */
const dataDigest: Trim = (object) => {
  const { data, binaryData, ...rest } = object as V1ConfigMap;
  const sorted = (files: Record<string, string> = {}) =>
    Object.keys(files)
      .sort()
      .map((k) => [k, files[k]]);
  const digest = createHash('sha256')
    .update(JSON.stringify([sorted(data), sorted(binaryData)]))
    .digest('hex');
  return { ...rest, data: { [DATA_DIGEST]: digest } } as V1ConfigMap;
};

/** Reconcile reads a workload's replicas, generation, status and pod-template annotations, never its containers. */
const withoutPodSpec: Trim = (object) => {
  const workload = object as V1Deployment;
  if (workload.spec?.template?.spec) workload.spec.template.spec = { containers: [] };
  return workload;
};

const trimState = ({ waiting, terminated }: V1ContainerState): V1ContainerState => ({
  ...(waiting?.reason ? { waiting: { reason: waiting.reason } } : {}),
  ...(terminated
    ? {
        terminated: {
          exitCode: terminated.exitCode,
          ...(terminated.reason ? { reason: terminated.reason.slice(0, 256) } : {}),
          ...(terminated.message ? { message: terminated.message.slice(0, 1024) } : {}),
        },
      }
    : {}),
});

/**
 * Of an NGINX pod, reconcile reads only its name, labels, whether it is going away, its
 * conditions, its agent's probe report, and what the kubelet says of its containers.
 */
export const podReport: Trim = (object) => {
  const pod = object as V1Pod;
  const { name, namespace, uid, resourceVersion, labels, deletionTimestamp } = pod.metadata ?? {};
  // The agent's reports: its site probes and the contract it speaks (src/api/agent.ts).
  const annotations = Object.fromEntries(
    [SITE_PROBES_ANNOTATION, AGENT_CONTRACT_ANNOTATION].flatMap((key) => {
      const value = pod.metadata?.annotations?.[key];
      return value === undefined ? [] : [[key, value]];
    }),
  );
  return {
    apiVersion: pod.apiVersion,
    kind: pod.kind,
    metadata: {
      name,
      namespace,
      uid,
      resourceVersion,
      labels,
      ...(deletionTimestamp ? { deletionTimestamp } : {}),
      ...(Object.keys(annotations).length ? { annotations } : {}),
    },
    status: {
      conditions: pod.status?.conditions ?? [],
      // Why a container is not ready (src/controller/pod-failures.ts); a termination message
      // can be 4 KiB, of which the status shows far less.
      ...(pod.status?.containerStatuses
        ? {
            containerStatuses: pod.status.containerStatuses.map(({ name, ready, restartCount, state, lastState }) => ({
              name,
              ready,
              restartCount,
              ...(state ? { state: trimState(state) } : {}),
              ...(lastState ? { lastState: trimState(lastState) } : {}),
            })),
          }
        : {}),
    },
  } as V1Pod;
};

export interface OwnedKind {
  /** '' for the core API. */
  group: string;
  version: string;
  plural: string;
  kind: string;
  /** Applied before an object of this kind is cached. */
  trim?: Trim;
  /**
   * Served by another project's CRD that may not be installed: not watched (every informer must
   * list before the controller starts), read from the API server instead, and pruning finds none
   * while the API server does not serve the kind.
   */
  optional?: true;
}

/** Every kind the operator creates for a frontend: watched (label-selected), cached and pruned. */
export const OWNED_KINDS: readonly OwnedKind[] = [
  { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', trim: dataDigest },
  // Kept whole: reconcile reads the certificates it issued from the cache.
  { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' },
  { group: '', version: 'v1', plural: 'services', kind: 'Service' },
  { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', trim: withoutPodSpec },
  { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet', trim: withoutPodSpec },
  { group: 'policy', version: 'v1', plural: 'poddisruptionbudgets', kind: 'PodDisruptionBudget' },
  // spec.networkPolicy (src/render/network-policy.ts).
  { group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', kind: 'NetworkPolicy' },
  // The WSO2 pods' identity (managed backends).
  { group: '', version: 'v1', plural: 'serviceaccounts', kind: 'ServiceAccount' },
  { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'roles', kind: 'Role' },
  { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'rolebindings', kind: 'RoleBinding' },
  // tls.mode issuer: the requests to cert-manager (src/render/cert-manager.ts).
  { group: 'cert-manager.io', version: 'v1', plural: 'certificates', kind: 'Certificate', optional: true },
];

export const apiVersionOf = (kind: { group: string; version: string }) =>
  kind.group ? `${kind.group}/${kind.version}` : kind.version;

/** How the operator names one of a frontend's objects: "Kind/name" (they all live in the frontend's namespace). */
export const objectId = (object: KubernetesObject) => `${object.kind}/${object.metadata?.name}`;
