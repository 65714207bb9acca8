// The Kubernetes objects the operator keeps for one Wso2Frontend, rendered from its topology:
// the NGINX configuration, the NGINX Deployment, Service and PodDisruptionBudget that serve it,
// and the TLS Secrets. Pure: the controller supplies what it decided (certificate data and
// versions, which roll the pods through the configuration hash).
import { createHash } from 'node:crypto';
import type {
  V1ConfigMap,
  V1Deployment,
  V1PodDisruptionBudget,
  V1Secret,
  V1Service,
  V1VolumeProjection,
} from '@kubernetes/client-node';
import { CERTIFICATES_ANNOTATION, CONFIG_HASH_ANNOTATION } from '../api/agent.js';
import type { Wso2Frontend } from '../api/schema.js';
import { durationSeconds, type Topology } from '../model/topology.js';
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

/** Where the configuration is mounted in the NGINX container, and the writable prefix for pid and temp files. */
export const NGINX_CONF_DIR = '/etc/wso2-frontend/nginx';
export const NGINX_PREFIX = '/tmp/nginx/';
/** The nginx-unprivileged image's user. */
const NGINX_UID = 101;

/** A short hash of the served configuration: on the pod template, so a change rolls the NGINX pods. */
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
  const hash = configHash(renderNginx(topology, layout), certificateVersions);
  return { files: renderNginx(topology, layout, hash), hash, certificateVersions };
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

/** The configuration and every certificate, in one read-only volume laid out as nginx.conf expects. */
function configProjection(frontend: Wso2Frontend, topology: Topology): V1VolumeProjection[] {
  const certificates = topology.certificates.map((plan): V1VolumeProjection => {
    const paths = certificatePaths(plan.name);
    return {
      secret: {
        name: certificateSecretName(frontend, plan.name),
        items: [
          { key: 'tls.crt', path: paths.certificate },
          { key: 'tls.key', path: paths.key },
        ],
      },
    };
  });
  const backendCa = topology.backendTls.caSecretName
    ? [{ secret: { name: topology.backendTls.caSecretName, items: [{ key: 'ca.crt', path: BACKEND_CA_PATH }] } }]
    : [];
  return [{ configMap: { name: nginxName(frontend) } }, ...certificates, ...backendCa];
}

export function nginxDeployment(frontend: Wso2Frontend, topology: Topology, hash: string): V1Deployment {
  const selector = selectorFor(frontend, NGINX_COMPONENT);
  const nginxArgs = ['-p', NGINX_PREFIX, '-c', `${NGINX_CONF_DIR}/nginx.conf`];
  const probe = (periodSeconds: number) => ({
    httpGet: { path: HEALTH_PATH, port: 'health' },
    periodSeconds,
    failureThreshold: 3,
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(frontend, nginxName(frontend), NGINX_COMPONENT),
    spec: {
      replicas: topology.nginx.replicas,
      selector: { matchLabels: selector },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: labelsFor(frontend, NGINX_COMPONENT), annotations: { [CONFIG_HASH_ANNOTATION]: hash } },
        spec: {
          automountServiceAccountToken: false,
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
              command: ['nginx'],
              args: [...nginxArgs, '-g', 'daemon off;'],
              ports: [
                { name: 'http', containerPort: CONTAINER_PORTS.http },
                { name: 'https', containerPort: CONTAINER_PORTS.https },
                { name: 'health', containerPort: CONTAINER_PORTS.health },
              ],
              readinessProbe: probe(5),
              livenessProbe: probe(10),
              // Stop taking new connections once the endpoints are gone, then let requests in flight finish.
              lifecycle: {
                preStop: {
                  exec: {
                    command: [
                      '/bin/sh',
                      '-c',
                      `sleep 5; nginx ${nginxArgs.join(' ')} -s quit; while [ -e ${NGINX_PREFIX}nginx.pid ]; do sleep 1; done`,
                    ],
                  },
                },
              },
              resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '256Mi' } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [
                { name: 'config', mountPath: NGINX_CONF_DIR, readOnly: true },
                { name: 'run', mountPath: NGINX_PREFIX },
              ],
            },
          ],
          // Long enough for a request at the read timeout to finish after the graceful quit.
          terminationGracePeriodSeconds: durationSeconds(topology.nginx.timeouts.read) + 30,
          volumes: [
            { name: 'config', projected: { sources: configProjection(frontend, topology) } },
            { name: 'run', emptyDir: { sizeLimit: '256Mi' } },
          ],
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
    nginxDeployment(frontend, topology, configuration.hash),
    nginxService(frontend, topology),
    ...(topology.nginx.replicas > 1 ? [nginxDisruptionBudget(frontend)] : []),
  ];
}
