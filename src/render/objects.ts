// The Kubernetes objects the operator keeps for one Wso2Frontend, rendered from its topology:
// the NGINX configuration, the NGINX Deployment, Service and PodDisruptionBudget that serve it,
// and the TLS Secrets. Pure: the controller supplies what it decided (certificate data and
// versions, which go into the configuration hash). The NGINX pods run the reload agent, which
// reads the ConfigMap and Secrets from the API: nothing of the configuration is on the pod
// template, so a change of it is served in place and never rolls the pods.
import { createHash } from 'node:crypto';
import type { V1ConfigMap, V1Deployment, V1PodDisruptionBudget, V1Secret, V1Service } from '@kubernetes/client-node';
import {
  CERTIFICATES_ANNOTATION,
  CONFIG_HASH_ANNOTATION,
  CONFIG_HASH_PATH,
  formatSecretMount,
  SERVED_CONDITION,
  type SecretMount,
} from '../api/agent.js';
import type { Wso2Frontend } from '../api/schema.js';
import { durationSeconds, type Topology } from '../model/topology.js';
import { probePlanFiles } from './probes.js';
import { upstreamServersFiles } from './upstream-servers.js';
import { labelsFor, meta, NGINX_COMPONENT, selectorFor, TLS_COMPONENT } from './ownership.js';
import {
  BACKEND_CA_PATH,
  certificatePaths,
  CONTAINER_PORTS,
  containerLayout,
  HEALTH_PATH,
  renderNginx,
  type NginxLayout,
} from './nginx/config.js';

export const nginxName = (frontend: Wso2Frontend) => `${frontend.metadata.name}-nginx`;
/** A Secret's name is a DNS subdomain: at most 253 characters. */
const SECRET_NAME_MAX = 253;
/**
 * The Secret NGINX serves one certificate from, which the operator owns: the certificate it issued
 * (self-signed mode) or the last good copy of the user's Secret (mode secret). A name over the
 * 253 characters a Secret name may have (a long user Secret name) is cut and made unique by a hash.
 */
export function certificateSecretName(frontend: Wso2Frontend, certificateName: string): string {
  const name = `${frontend.metadata.name}-tls-${certificateName}`;
  if (name.length <= SECRET_NAME_MAX) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 10);
  return `${name.slice(0, SECRET_NAME_MAX - hash.length - 1).replace(/[-.]+$/, '')}-${hash}`;
}
/** The Secret of the CA that signs the issued certificates (self-signed mode). */
export const caSecretName = (frontend: Wso2Frontend) => `${frontend.metadata.name}-tls-ca`;

/** The agent's state directory in the NGINX container: NGINX's prefix (pid, temp files) and the versioned configurations. */
export const NGINX_STATE_DIR = '/tmp/nginx';
/** The agent's own port in the NGINX container: /healthz, /readyz, /metrics. */
export const AGENT_PORT = 8082;
/**
 * The NGINX container's ports: the public ones the Service exposes (PUBLIC_NGINX_PORTS), then
 * NGINX's health listener and the agent's (health, metrics), which NetworkPolicies open only to
 * the namespaces named in spec.networkPolicy.metricsNamespaces.
 */
export const NGINX_CONTAINER_PORTS: readonly { name: string; containerPort: number }[] = [
  { name: 'http', containerPort: CONTAINER_PORTS.http },
  { name: 'https', containerPort: CONTAINER_PORTS.https },
  { name: 'health', containerPort: CONTAINER_PORTS.health },
  { name: 'agent', containerPort: AGENT_PORT },
];
export const PUBLIC_NGINX_PORTS: readonly string[] = ['http', 'https'];
/** The nginx-unprivileged image's user. */
const NGINX_UID = 101;

/** A short hash of the configuration (files and certificates): what the agents report they serve. */
export function configHash(files: Record<string, string>, certificateVersions: string[] = []): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(files).sort()) hash.update(`${name}\0${files[name]}\0`);
  for (const version of certificateVersions) hash.update(`${version}\0`);
  return hash.digest('hex').slice(0, 16);
}

export interface NginxConfiguration {
  /** The files of the conf directory, the health listener answering with `hash`. */
  files: Record<string, string>;
  hash: string;
  /** Fingerprints of the certificates the hash covers. */
  certificateVersions: string[];
}

/**
 * The configuration and its hash. The hash covers the files as rendered without it and the
 * certificates, so the files can then carry it for the reload agent to read back from NGINX.
 */
export function nginxConfiguration(
  topology: Topology,
  layout: NginxLayout,
  certificateVersions: string[] = [],
): NginxConfiguration {
  const plan = { ...probePlanFiles(topology, layout), ...upstreamServersFiles(topology, layout) };
  const hash = configHash({ ...renderNginx(topology, layout), ...plan }, certificateVersions);
  return { files: { ...renderNginx(topology, layout, hash), ...plan }, hash, certificateVersions };
}

/** The ConfigMap the reload agents watch: the files, the hash they must serve, and the certificates they go with. */
export function configMapOf(frontend: Wso2Frontend, configuration: NginxConfiguration): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      ...meta(frontend, nginxName(frontend), NGINX_COMPONENT),
      annotations: {
        [CONFIG_HASH_ANNOTATION]: configuration.hash,
        [CERTIFICATES_ANNOTATION]: configuration.certificateVersions.join(','),
      },
    },
    data: configuration.files,
  };
}

export function nginxConfigMap(frontend: Wso2Frontend, topology: Topology, certificateVersions: string[] = []) {
  return configMapOf(frontend, nginxConfiguration(topology, containerLayout(topology), certificateVersions));
}

const dirOf = (path: string) => path.slice(0, path.lastIndexOf('/'));

/** The Secrets NGINX reads (the reload agent's --secret flags), each laid out where nginx.conf expects its files. */
export function agentSecretMounts(frontend: Wso2Frontend, topology: Topology): SecretMount[] {
  const certificates = topology.certificates.map((plan): SecretMount => ({
    dir: dirOf(certificatePaths(plan.name).certificate),
    secret: certificateSecretName(frontend, plan.name),
    keys: ['tls.crt', 'tls.key'],
    // The CA the site probes check the served certificate against, when the Secret has one.
    ...(topology.probes.enabled ? { optionalKeys: ['ca.crt'] } : {}),
  }));
  const backendCa = topology.backendTls.caSecretName
    ? [{ dir: dirOf(BACKEND_CA_PATH), secret: topology.backendTls.caSecretName, keys: ['ca.crt'] }]
    : [];
  return [...certificates, ...backendCa];
}

/**
 * The NGINX pods: the reload agent (the image's entrypoint) runs NGINX and serves the frontend's
 * ConfigMap and Secrets as it reads them from the API, under the agent's own ServiceAccount
 * (src/render/agent.ts). Its report on the Pod is a readiness gate: a pod that serves no
 * configuration yet takes no traffic. The template names the ConfigMap and Secrets, never their
 * content, so only a change of the pod itself (image, replicas, resources, Secret names) rolls it.
 */
export function nginxDeployment(frontend: Wso2Frontend, topology: Topology): V1Deployment {
  const selector = selectorFor(frontend, NGINX_COMPONENT);
  const readTimeout = durationSeconds(topology.nginx.timeouts.read);
  const fieldRef = (fieldPath: string) => ({ valueFrom: { fieldRef: { fieldPath } } });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(frontend, nginxName(frontend), NGINX_COMPONENT),
    spec: {
      replicas: topology.nginx.replicas,
      selector: { matchLabels: selector },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: labelsFor(frontend, NGINX_COMPONENT) },
        spec: {
          serviceAccountName: nginxName(frontend),
          // The agent reads its ConfigMap and Secrets and reports on its Pod with this token.
          automountServiceAccountToken: true,
          readinessGates: [{ conditionType: SERVED_CONDITION }],
          ...(topology.imagePullSecrets.length
            ? { imagePullSecrets: topology.imagePullSecrets.map((name) => ({ name })) }
            : {}),
          securityContext: {
            runAsNonRoot: true,
            runAsUser: NGINX_UID,
            runAsGroup: NGINX_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                {
                  weight: 100,
                  podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selector } },
                },
              ],
            },
          },
          containers: [
            {
              name: 'nginx',
              image: topology.nginx.image,
              args: [
                '--config-map',
                nginxName(frontend),
                ...agentSecretMounts(frontend, topology).flatMap((mount) => ['--secret', formatSecretMount(mount)]),
                '--state-dir',
                NGINX_STATE_DIR,
                '--confirm-url',
                `http://127.0.0.1:${CONTAINER_PORTS.health}${CONFIG_HASH_PATH}`,
                '--health-port',
                String(AGENT_PORT),
                // Within the grace period below, after the preStop pause.
                '--quit-timeout-seconds',
                String(readTimeout + 20),
              ],
              env: [
                { name: 'POD_NAME', ...fieldRef('metadata.name') },
                { name: 'POD_NAMESPACE', ...fieldRef('metadata.namespace') },
              ],
              ports: NGINX_CONTAINER_PORTS.map((port) => ({ ...port })),
              // Ready: NGINX answers (the readiness gate adds: it serves a confirmed configuration).
              readinessProbe: { httpGet: { path: HEALTH_PATH, port: 'health' }, periodSeconds: 5, failureThreshold: 3 },
              // Alive: the agent answers and its NGINX master runs.
              livenessProbe: { httpGet: { path: HEALTH_PATH, port: 'agent' }, periodSeconds: 10, failureThreshold: 3 },
              // Stop taking new connections once the endpoints are gone; then SIGTERM makes the
              // agent quit NGINX gracefully, letting requests in flight finish.
              lifecycle: { preStop: { exec: { command: ['/bin/sh', '-c', 'sleep 5'] } } },
              // The agent writes why it failed (its NGINX master died) to /dev/termination-log,
              // which becomes lastState.terminated.message. Not FallbackToLogsOnError: the log's
              // tail holds NGINX's error lines, with clients' addresses and request lines, which
              // the operator would then show on the frontend's status.
              terminationMessagePolicy: 'File',
              resources: { requests: { cpu: '100m', memory: '96Mi' }, limits: { memory: '320Mi' } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [{ name: 'state', mountPath: NGINX_STATE_DIR }],
            },
          ],
          // Long enough for a request at the read timeout to finish after the graceful quit.
          terminationGracePeriodSeconds: readTimeout + 30,
          volumes: [{ name: 'state', emptyDir: { sizeLimit: '256Mi' } }],
        },
      },
    },
  };
}

export function nginxService(frontend: Wso2Frontend, topology: Topology): V1Service {
  const { type, annotations } = topology.nginx.service;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      ...meta(frontend, nginxName(frontend), NGINX_COMPONENT),
      ...(Object.keys(annotations).length ? { annotations } : {}),
    },
    spec: {
      type,
      selector: selectorFor(frontend, NGINX_COMPONENT),
      ports: [
        { name: 'http', port: topology.ports.http, targetPort: 'http' },
        { name: 'https', port: topology.ports.https, targetPort: 'https' },
      ],
      // Keep the client's address: X-Forwarded-For and client-IP affinity depend on it.
      ...(type === 'ClusterIP' ? {} : { externalTrafficPolicy: 'Local' }),
    },
  };
}

export function nginxDisruptionBudget(frontend: Wso2Frontend): V1PodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(frontend, nginxName(frontend), NGINX_COMPONENT),
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorFor(frontend, NGINX_COMPONENT) } },
  };
}

export type DesiredObject = V1ConfigMap | V1Deployment | V1Service | V1PodDisruptionBudget;

/** A kubernetes.io/tls Secret the operator keeps (an issued certificate or its CA), as cert-manager lays them out. */
export function certificateSecret(frontend: Wso2Frontend, name: string, data: Record<string, string>): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: meta(frontend, name, TLS_COMPONENT),
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')])),
  };
}

/** The NGINX objects, without secret material (the certificates are decided by the controller at reconcile time). */
export function desiredObjects(
  frontend: Wso2Frontend,
  topology: Topology,
  certificateVersions: string[] = [],
): DesiredObject[] {
  const configuration = nginxConfiguration(topology, containerLayout(topology), certificateVersions);
  return [
    configMapOf(frontend, configuration),
    nginxDeployment(frontend, topology),
    nginxService(frontend, topology),
    ...(topology.nginx.replicas > 1 ? [nginxDisruptionBudget(frontend)] : []),
  ];
}
