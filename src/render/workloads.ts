// The WSO2 pods the operator runs for managed backends: per role of the pattern, a workload and
// a Service whose EndpointSlices give the model the role's ready pods. Pure, like objects.ts.
// The product configuration (deployment.toml, Carbon 4 files) is not mounted here yet.
import type {
  V1Container,
  V1ContainerPort,
  V1Deployment,
  V1PodSpec,
  V1PodTemplateSpec,
  V1Probe,
  V1ResourceRequirements,
  V1Service,
  V1StatefulSet,
} from '@kubernetes/client-node';
import type { Wso2Frontend } from '../api/schema.js';
import type { Role } from '../api/vocabulary.js';
import type { Component, Topology } from '../model/topology.js';
import { labelsFor, meta, selectorFor } from './ownership.js';

export type Wso2Workload = V1Deployment | V1StatefulSet | V1Service;

/** The wso2carbon user and group of WSO2's Docker images. */
const WSO2_UID = 802;

// WSO2 recommends 2 cores and 4 GB per API Manager node. Request half the cores so a pattern fits
// on small nodes, and no CPU limit so Carbon's start-up burst is not throttled; the memory limit
// leaves the JVM's default heap plus off-heap room.
const DEFAULT_RESOURCES: V1ResourceRequirements = { requests: { cpu: '1', memory: '2Gi' }, limits: { memory: '4Gi' } };

export const roleName = (frontend: Wso2Frontend, role: Role) => `${frontend.metadata.name}-${role}`;

const roleSelector = (frontend: Wso2Frontend, role: Role) => selectorFor(frontend, role);

const roleMeta = (frontend: Wso2Frontend, role: Role) => meta(frontend, roleName(frontend, role), role);

/** The role's product ports, named `https-9443`, `http-9763` (15 characters at most). */
function containerPorts(component: Component): V1ContainerPort[] {
  return component.listeners.map(({ protocol, port }) => ({
    name: `${protocol}-${port}`,
    containerPort: port,
    protocol: 'TCP',
  }));
}

function podSpec(image: string, component: Component, ports: V1ContainerPort[]): V1PodSpec {
  // WSO2 products have no health path common to every version, so the probes only check that
  // the first HTTPS port accepts connections.
  const probePort = ports.find((p) => p.name!.startsWith('https-'))!.name!;
  const tcpProbe = (probe: Omit<V1Probe, 'tcpSocket'>): V1Probe => ({ tcpSocket: { port: probePort }, ...probe });
  const container: V1Container = {
    name: 'wso2',
    image,
    ports,
    // Carbon takes minutes to start on small nodes: the startup probe holds off liveness until then.
    startupProbe: tcpProbe({ periodSeconds: 10, failureThreshold: 30 }),
    readinessProbe: tcpProbe({ initialDelaySeconds: 30, periodSeconds: 10 }),
    livenessProbe: tcpProbe({ initialDelaySeconds: 120, periodSeconds: 10, failureThreshold: 6 }),
    resources: component.resources ?? DEFAULT_RESOURCES,
    // Carbon writes into its home (logs, tmp, deployment, database files), so the root file system stays writable.
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: false,
      capabilities: { drop: ['ALL'] },
    },
  };
  return {
    automountServiceAccountToken: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: WSO2_UID,
      runAsGroup: WSO2_UID,
      fsGroup: WSO2_UID,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers: [container],
  };
}

function podTemplate(
  frontend: Wso2Frontend,
  image: string,
  component: Component,
  ports: V1ContainerPort[],
): V1PodTemplateSpec {
  return { metadata: { labels: labelsFor(frontend, component.role) }, spec: podSpec(image, component, ports) };
}

function roleWorkload(
  frontend: Wso2Frontend,
  topology: Topology,
  image: string,
  component: Component,
): V1Deployment | V1StatefulSet {
  const { role, replicas } = component;
  const selector = { matchLabels: roleSelector(frontend, role) };
  const template = podTemplate(frontend, image, component, containerPorts(component));
  if (!component.pinned) {
    return {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: roleMeta(frontend, role),
      spec: { replicas, selector, template },
    };
  }
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: roleMeta(frontend, role),
    // Parallel: the pods do not depend on each other starting in order, and Carbon starts slowly.
    spec: { replicas, selector, template, serviceName: roleName(frontend, role), podManagementPolicy: 'Parallel' },
  };
}

function roleService(frontend: Wso2Frontend, component: Component): V1Service {
  const { role } = component;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: roleMeta(frontend, role),
    spec: {
      type: 'ClusterIP',
      selector: roleSelector(frontend, role),
      ports: containerPorts(component).map((p) => ({
        name: p.name!,
        port: p.containerPort,
        targetPort: p.name!,
        protocol: 'TCP',
      })),
    },
  };
}

/** Per role of a managed topology, in topology order: its workload, then its Service. None for external backends. */
export function wso2Workloads(frontend: Wso2Frontend, topology: Topology): Wso2Workload[] {
  const backends = topology.backends;
  if (backends.source !== 'managed') return [];
  return backends.components.flatMap((component) => [
    roleWorkload(frontend, topology, backends.image, component),
    roleService(frontend, component),
  ]);
}
