// The WSO2 pods the operator runs for managed backends: per role of the pattern, a workload and
// a Service whose EndpointSlices give the model the role's ready pods. Pure, like objects.ts.
// The product configuration reaches the product through the image's config volume: an init
// container in the WSO2 image copies the product's own files out (and adds the frontend's CA to
// its client-truststore with the image's keytool), a second one in the operator image lays the
// user's base files over them and patches the owned keys (`wso2-frontend patch-product-config`),
// and the image's entrypoint copies /home/wso2carbon/wso2-config-volume over the product home.
import { createHash } from 'node:crypto';
import type {
  V1ConfigMap,
  V1Container,
  V1ContainerPort,
  V1Deployment,
  V1PodSpec,
  V1PodTemplateSpec,
  V1Probe,
  V1ResourceRequirements,
  V1Role,
  V1RoleBinding,
  V1SecurityContext,
  V1Service,
  V1ServiceAccount,
  V1StatefulSet,
  V1Volume,
} from '@kubernetes/client-node';
import type { Wso2Frontend } from '../api/schema.js';
import type { Role } from '../api/vocabulary.js';
import {
  podsServiceName,
  roleConfiguration,
  roleInstances,
  type Placement,
  type RoleConfiguration,
} from '../model/product-config.js';
import type { Component, Topology } from '../model/topology.js';
import { hasPeers } from '../model/catalog.js';
import { KEEPALIVE_MIN_TIMEOUT_SECONDS } from './nginx/config.js';
import { certificateSecretName } from './objects.js';
import { labelsFor, meta, selectorFor } from './ownership.js';
import { configMapKey } from './product/layout.js';
import { productSnippets } from './product/patch.js';

export type Wso2Workload = V1Deployment | V1StatefulSet | V1Service;

/**
 * How long the operator and the agents may take to bring an EndpointSlice change into every NGINX
 * replica: the EndpointSlice update, the operator's reconcile, each agent's watch and reload
 * (about 0.3 s in all on the real node), with room for a busy operator and node.
 */
const NGINX_FOLLOWS_SECONDS = 7;
/**
 * How long a WSO2 container keeps serving once its pod is terminating, before it gets SIGTERM
 * (its preStop hook). The pod's endpoint turns `terminating` at once and the operator drops it
 * from the upstreams (src/controller/plan.ts endpointsOf), but NGINX follows only after
 * NGINX_FOLLOWS_SECONDS, and after its reload an old NGINX worker may still pass one request,
 * routed by the previous configuration, on a kept-alive client connection
 * (keepalive_min_timeout). So no request is sent to a node that has started closing. Not
 * Kubernetes' `sleep` action: it needs 1.30, the chart supports 1.29, and every WSO2 image has
 * `sleep` (WSO2's helm-apim preStop runs it too).
 */
export const WSO2_DRAIN_SECONDS = KEEPALIVE_MIN_TIMEOUT_SECONDS + NGINX_FOLLOWS_SECONDS;
/**
 * A new pod counts as available (and an old one may go) only this long after it is ready: by
 * then every NGINX replica lists it. Without it, replicas that reload a moment apart could
 * disagree on the servers while a session moves off the old pod: one sends the session to the
 * new pod, the next does not know that pod yet and sends it elsewhere.
 */
export const WSO2_MIN_READY_SECONDS = NGINX_FOLLOWS_SECONDS;
/**
 * The pod's grace period: the drain, then a minute for the requests the node still has in flight
 * to finish before the kubelet kills it. Not NGINX's read timeout (spec.nginx.timeouts.read):
 * a change of an NGINX setting must not roll the WSO2 pods.
 */
export const WSO2_TERMINATION_GRACE_SECONDS = WSO2_DRAIN_SECONDS + 60;

// WSO2 recommends 2 cores and 4 GB per API Manager node. Request half the cores so a pattern fits
// on small nodes, and no CPU limit so Carbon's start-up burst is not throttled; the memory limit
// leaves the JVM's default heap plus off-heap room.
const DEFAULT_RESOURCES: V1ResourceRequirements = { requests: { cpu: '1', memory: '2Gi' }, limits: { memory: '4Gi' } };

export const roleName = (frontend: Wso2Frontend, role: Role) => `${frontend.metadata.name}-${role}`;

/** The ConfigMap with each role's owned settings (managed) or what to set on each node (external). */
export const productConfigName = (frontend: Wso2Frontend) => `${frontend.metadata.name}-product-config`;
/** The ServiceAccount, Role and RoleBinding of the WSO2 pods (clustering reads endpoints and pods). */
export const wso2AccessName = (frontend: Wso2Frontend) => `${frontend.metadata.name}-wso2`;
/** Pod-template annotation: a hash of the role's product configuration, so only changed roles roll. */
export const PRODUCT_CONFIG_CHECKSUM = 'wso2-frontend.dev/product-config-checksum';

/** Where the init containers and the product container see the product configuration. */
const MOUNT_ROOT = '/wso2-frontend';
/** The official images' config volume: the entrypoint copies it over the product home (`cp -RL`). */
export const CONFIG_VOLUME = '/home/wso2carbon/wso2-config-volume';
/** The frontend's CA, as WSO2 nodes must trust it (calls that go out through the public hosts). */
const LB_CA_ALIAS = 'wso2-frontend-lb-ca';
/**
 * Carbon's truststores: whichever the product has. API-M keeps client-truststore.jks (helm-apim
 * main all-in-one/values.yaml truststore name); IS 7 ships client-truststore.p12 (kubernetes-is
 * master values.yaml deploymentToml.truststore: PKCS12), earlier IS the .jks.
 */
const TRUSTSTORES = [
  'repository/resources/security/client-truststore.jks',
  'repository/resources/security/client-truststore.p12',
];

export interface WorkloadOptions {
  /** A hash of the user's base ConfigMap (backends.managed.configMapName), so editing it rolls the pods. */
  baseConfigHash?: string;
}

export const placementOf = (frontend: Wso2Frontend): Placement => ({
  name: frontend.metadata.name,
  namespace: frontend.metadata.namespace ?? 'default',
});

/** The role's product configuration as the init container reads it. */
export const roleSettingsJson = (config: RoleConfiguration): string => JSON.stringify(config, null, 2) + '\n';

/** Roles whose configuration makes Hazelcast discover members through the Kubernetes API. */
const clustersOnKubernetes = (config: RoleConfiguration) =>
  config.files.some((f) =>
    f.settings.some((s) => s.kind === 'toml' && s.table[0] === 'clustering' && s.value === 'kubernetes'),
  );

const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/**
 * The first init container's script (POSIX sh, in the WSO2 image): copy the files the fronting
 * owns out of the product home into `<root>/base`, and when the frontend's CA is mounted, put a
 * copy of each client-truststore, with the CA added by the image's own keytool, into
 * `<root>/config` (its default entries stay).
 */
export function productFilesScript(config: RoleConfiguration, root = MOUNT_ROOT): string {
  const files = config.files.map((f) => quote(f.path)).join(' ');
  return [
    'set -eu',
    'home="${WSO2_SERVER_HOME:?the WSO2 image sets WSO2_SERVER_HOME}"',
    `for f in ${files}; do`,
    `  if [ -f "$home/$f" ]; then mkdir -p "${root}/base/$(dirname "$f")"; cp "$home/$f" "${root}/base/$f"; fi`,
    'done',
    `if [ -f "${root}/lb-ca/ca.crt" ]; then`,
    // WSO2's default unless the spec names a Secret (spec.backends.managed.truststorePassword).
    '  export TRUSTSTORE_PASSWORD="${TRUSTSTORE_PASSWORD:-wso2carbon}"',
    `  for t in ${TRUSTSTORES.map(quote).join(' ')}; do`,
    '    if [ -f "$home/$t" ]; then',
    `      mkdir -p "${root}/config/$(dirname "$t")"`,
    `      cp "$home/$t" "${root}/config/$t"`,
    // :env keeps the password off keytool's command line (and so out of the process list).
    `      "\${JAVA_HOME:+$JAVA_HOME/bin/}keytool" -importcert -noprompt -trustcacerts -alias ${LB_CA_ALIAS} -file "${root}/lb-ca/ca.crt" -keystore "${root}/config/$t" -storepass:env TRUSTSTORE_PASSWORD`,
    '    fi',
    '  done',
    'fi',
  ].join('\n');
}

/** A hash of what the role's product configuration depends on (every pod's, for a role with peers); the pod template carries it. */
export function productConfigChecksum(configs: readonly RoleConfiguration[], baseConfigHash = ''): string {
  const hash = createHash('sha256');
  for (const config of configs) hash.update(roleSettingsJson(config));
  return hash.update(baseConfigHash).digest('hex').slice(0, 16);
}

/**
 * The product configurations of a role's pods, each named: one for the whole role, named after it;
 * for a role with peers one per pod, named after the pod, since each lists its peers (not itself).
 */
export function podConfigurations(
  topology: Topology,
  placement: Placement,
  role: Role,
): { name: string; config: RoleConfiguration }[] {
  const component = topology.backends.source === 'managed' && topology.backends.components.find((c) => c.role === role);
  if (!component || !component.peers) return [{ name: role, config: roleConfiguration(topology, placement, role) }];
  return roleInstances(topology, placement, role).map((i) => ({
    name: i.name,
    config: roleConfiguration(topology, placement, role, i.name),
  }));
}

/** The Secret whose `ca.crt` is the frontend's CA: every served certificate's Secret has it (issued ones always; a copy of the user's when it has one). */
function frontendCaSecret(frontend: Wso2Frontend, topology: Topology): string | undefined {
  const first = topology.certificates[0];
  return first && certificateSecretName(frontend, first.name);
}

/**
 * For external nodes, the end of CHANGES.txt: add the frontend's CA to the product's
 * client-truststore, as WSO2's deployment documents import the load balancer's certificate, with
 * the alias and the keytool step the init container of managed pods runs. Offline (`render`),
 * `caFile` is the CA certificate written beside it; else the frontend's Secret holds it.
 */
export function caTrustSteps(frontend: Wso2Frontend, topology: Topology, caFile?: string): string {
  const secret = frontendCaSecret(frontend, topology);
  if (!secret) return '';
  const ns = placementOf(frontend).namespace;
  const file = caFile ?? 'wso2-frontend-ca.crt';
  return [
    '',
    "Trust the frontend's CA (as WSO2's deployment documents import the load balancer's certificate), keeping the shipped entries:",
    caFile
      ? `  the CA certificate is ${caFile} (written by this render; the NGINX tree of a render with the same --ca-dir serves with it)`
      : `  kubectl get secret ${secret} -n ${ns} -o jsonpath='{.data.ca\\.crt}' | base64 -d > ${file}`,
    ...TRUSTSTORES.map(
      (t) =>
        `  keytool -importcert -noprompt -trustcacerts -alias ${LB_CA_ALIAS} -file ${file} -keystore ${t} -storepass wso2carbon`,
    ),
    '  (each truststore the product has; your [truststore] password instead of wso2carbon when you changed it)',
    '',
  ].join('\n');
}

/**
 * Per role: for managed backends `<role>.json` (what the init container applies; `<pod>.json` per
 * pod of a role with peers); for external nodes `<role>.CHANGES.txt` (ending with the CA trust
 * step) and minimal deployment.toml / site.json snippets to set by hand (`<role>.<node>.*` per node
 * of a role with peers).
 */
export function productConfigMap(frontend: Wso2Frontend, topology: Topology): V1ConfigMap {
  const placement = placementOf(frontend);
  const data: Record<string, string> = {};
  for (const { role } of topology.productSettings.roles) {
    if (topology.backends.source === 'managed') {
      for (const { name, config } of podConfigurations(topology, placement, role))
        data[`${name}.json`] = roleSettingsJson(config);
      continue;
    }
    // A role whose nodes list their peers: what to set differs per node.
    const nodes = hasPeers(topology.pattern, role)
      ? roleInstances(topology, placement, role).map((i) => i.name)
      : [undefined];
    for (const node of nodes) {
      const snippets = productSnippets(roleConfiguration(topology, placement, role, node));
      snippets['CHANGES.txt'] += caTrustSteps(frontend, topology);
      const prefix = node ? `${role}.${node}` : role;
      for (const [name, text] of Object.entries(snippets)) data[`${prefix}.${configMapKey(name)}`] = text;
    }
  }
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(frontend, productConfigName(frontend), 'product-config'),
    data,
  };
}

/**
 * The WSO2 pods' identity: a ServiceAccount, and a Role that lets it read the endpoints and pods
 * of its own namespace (Hazelcast's Kubernetes membership), nothing more. Managed backends only.
 */
export function wso2Access(frontend: Wso2Frontend, topology: Topology): (V1ServiceAccount | V1Role | V1RoleBinding)[] {
  if (topology.backends.source !== 'managed') return [];
  const metadata = meta(frontend, wso2AccessName(frontend), 'wso2');
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata, automountServiceAccountToken: false },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata,
      rules: [{ apiGroups: [''], resources: ['endpoints', 'pods'], verbs: ['get', 'list'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: wso2AccessName(frontend) },
      subjects: [
        { kind: 'ServiceAccount', name: wso2AccessName(frontend), namespace: placementOf(frontend).namespace },
      ],
    },
  ];
}

const roleSelector = (frontend: Wso2Frontend, role: Role) => selectorFor(frontend, role);

const roleMeta = (frontend: Wso2Frontend, role: Role) => meta(frontend, roleName(frontend, role), role);

/** The role's product ports, named `https-9443`, `http-9763` (15 characters at most), or as WSO2's charts name them. */
function containerPorts(component: Component): V1ContainerPort[] {
  return component.listeners.map(({ protocol, port, name }) => ({
    name: name ?? `${protocol}-${port}`,
    containerPort: port,
    protocol: 'TCP',
  }));
}

/** What every container of the WSO2 pods runs with: no privilege escalation, no capabilities. */
const CONTAINER_SECURITY: V1SecurityContext = {
  allowPrivilegeEscalation: false,
  // Carbon writes into its home (logs, tmp, deployment, database files) and the image's entrypoint
  // copies the config volume over it, so the root file system stays writable, as in WSO2's own
  // charts (kubernetes-is sets readOnlyRootFilesystem: false for these writes; helm-apim leaves it unset).
  readOnlyRootFilesystem: false,
  capabilities: { drop: ['ALL'] },
};
/** The init containers write only to the pod's emptyDirs (the product files out, keytool, the patched files): a read-only root. */
const INIT_CONTAINER_SECURITY: V1SecurityContext = { ...CONTAINER_SECURITY, readOnlyRootFilesystem: true };
const INIT_RESOURCES: V1ResourceRequirements = {
  requests: { cpu: '100m', memory: '256Mi' },
  limits: { memory: '512Mi' },
};

interface RoleProductConfig {
  /** The files every pod of the role patches (the same paths for each pod). */
  config: RoleConfiguration;
  /** The ConfigMap keys of the role's settings: `<role>.json`, or `<pod>.json` per pod of a role with peers. */
  settings: { perPod: boolean; keys: string[] };
  checksum: string;
  caSecret?: string;
  baseConfigMap?: string;
  truststorePassword?: { secretName: string; key: string };
  operatorImage: string;
  imagePullSecrets: string[];
}

/** The volumes and init containers that put the patched configuration into the config volume. */
function productConfigPieces(frontend: Wso2Frontend, image: string, product: RoleProductConfig) {
  const { config } = product;
  const volumes: V1Volume[] = [
    { name: 'product-base', emptyDir: {} },
    { name: 'product-config', emptyDir: {} },
    {
      name: 'product-settings',
      configMap: {
        name: productConfigName(frontend),
        items: product.settings.perPod
          ? product.settings.keys.map((key) => ({ key, path: key }))
          : [{ key: product.settings.keys[0]!, path: 'settings.json' }],
      },
    },
    ...(product.caSecret
      ? [
          {
            name: 'lb-ca',
            secret: { secretName: product.caSecret, items: [{ key: 'ca.crt', path: 'ca.crt' }], optional: true },
          },
        ]
      : []),
    ...(product.baseConfigMap ? [{ name: 'product-user', configMap: { name: product.baseConfigMap } }] : []),
  ];
  const mount = (name: string, dir: string, readOnly = false) => ({
    name,
    mountPath: `${MOUNT_ROOT}/${dir}`,
    ...(readOnly ? { readOnly } : {}),
  });
  const initContainers: V1Container[] = [
    {
      name: 'product-files',
      image,
      command: ['sh', '-c', productFilesScript(config)],
      // The kubelet reads the Secret: its value is in neither the pod spec nor the operator's hands.
      ...(product.truststorePassword
        ? {
            env: [
              {
                name: 'TRUSTSTORE_PASSWORD',
                valueFrom: {
                  secretKeyRef: { name: product.truststorePassword.secretName, key: product.truststorePassword.key },
                },
              },
            ],
          }
        : {}),
      volumeMounts: [
        mount('product-base', 'base'),
        mount('product-config', 'config'),
        ...(product.caSecret ? [mount('lb-ca', 'lb-ca', true)] : []),
      ],
      resources: INIT_RESOURCES,
      securityContext: INIT_CONTAINER_SECURITY,
    },
    {
      name: 'patch-product-config',
      image: product.operatorImage,
      // A pod of a role with peers reads the settings named after it (the kubelet expands $(POD_NAME)).
      ...(product.settings.perPod
        ? { env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] }
        : {}),
      args: [
        'patch-product-config',
        '--config',
        `${MOUNT_ROOT}/settings/${product.settings.perPod ? '$(POD_NAME).json' : 'settings.json'}`,
        '--home',
        `${MOUNT_ROOT}/base`,
        ...(product.baseConfigMap ? ['--user', `${MOUNT_ROOT}/user`] : []),
        '--out',
        `${MOUNT_ROOT}/config`,
      ],
      volumeMounts: [
        mount('product-settings', 'settings', true),
        mount('product-base', 'base', true),
        mount('product-config', 'config'),
        ...(product.baseConfigMap ? [mount('product-user', 'user', true)] : []),
      ],
      resources: INIT_RESOURCES,
      securityContext: INIT_CONTAINER_SECURITY,
    },
  ];
  return { volumes, initContainers };
}

function podSpec(
  image: string,
  imageUser: number,
  component: Component,
  ports: V1ContainerPort[],
  frontend: Wso2Frontend,
  product: RoleProductConfig,
): V1PodSpec {
  // WSO2 products have no health path common to every version, so the probes only check that
  // the first HTTPS port accepts connections.
  const probePort = ports.find((p) => p.name!.startsWith('https-'))!.name!;
  const tcpProbe = (probe: Omit<V1Probe, 'tcpSocket'>): V1Probe => ({ tcpSocket: { port: probePort }, ...probe });
  const { volumes, initContainers } = productConfigPieces(frontend, image, product);
  const container: V1Container = {
    name: 'wso2',
    image,
    // The official API-M 4.0-4.4 image's entrypoint starts the server with -Dprofile=$PROFILE_NAME (catalog roleRuntime).
    ...(component.profile ? { env: [{ name: 'PROFILE_NAME', value: component.profile }] } : {}),
    ports,
    // Carbon takes minutes to start on small nodes: the startup probe holds off liveness until then.
    startupProbe: tcpProbe({ periodSeconds: 10, failureThreshold: 30 }),
    readinessProbe: tcpProbe({ initialDelaySeconds: 30, periodSeconds: 10 }),
    livenessProbe: tcpProbe({ initialDelaySeconds: 120, periodSeconds: 10, failureThreshold: 6 }),
    resources: component.resources ?? DEFAULT_RESOURCES,
    volumeMounts: [{ name: 'product-config', mountPath: CONFIG_VOLUME, readOnly: true }],
    securityContext: CONTAINER_SECURITY,
    // Drained from NGINX before it stops (WSO2_DRAIN_SECONDS).
    lifecycle: { preStop: { exec: { command: ['sleep', String(WSO2_DRAIN_SECONDS)] } } },
  };
  return {
    serviceAccountName: wso2AccessName(frontend),
    // Only a product that finds its cluster members through the Kubernetes API gets a token.
    automountServiceAccountToken: clustersOnKubernetes(product.config),
    ...(product.imagePullSecrets.length
      ? { imagePullSecrets: product.imagePullSecrets.map((name) => ({ name })) }
      : {}),
    // The user the official image runs as (src/model/catalog.ts imageUser), so the product home it owns stays writable.
    securityContext: {
      runAsNonRoot: true,
      runAsUser: imageUser,
      runAsGroup: imageUser,
      fsGroup: imageUser,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    initContainers,
    containers: [container],
    terminationGracePeriodSeconds: WSO2_TERMINATION_GRACE_SECONDS,
    volumes,
  };
}

function podTemplate(
  frontend: Wso2Frontend,
  image: string,
  imageUser: number,
  component: Component,
  ports: V1ContainerPort[],
  product: RoleProductConfig,
): V1PodTemplateSpec {
  return {
    metadata: {
      labels: labelsFor(frontend, component.role),
      annotations: { [PRODUCT_CONFIG_CHECKSUM]: product.checksum },
    },
    spec: podSpec(image, imageUser, component, ports, frontend, product),
  };
}

function roleWorkload(
  frontend: Wso2Frontend,
  image: string,
  imageUser: number,
  component: Component,
  product: RoleProductConfig,
): V1Deployment | V1StatefulSet {
  const { role, replicas } = component;
  const selector = { matchLabels: roleSelector(frontend, role) };
  const template = podTemplate(frontend, image, imageUser, component, containerPorts(component), product);
  if (!component.pinned && !component.peers) {
    return {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: roleMeta(frontend, role),
      // A configuration or image change rolls one new pod in before an old one goes: capacity
      // never drops. The new pod gets traffic once its readiness probe passes (NGINX lists only
      // ready endpoints); the old one is drained from NGINX before it stops (WSO2_DRAIN_SECONDS).
      spec: {
        replicas,
        minReadySeconds: WSO2_MIN_READY_SECONDS,
        selector,
        template,
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      },
    };
  }
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: roleMeta(frontend, role),
    spec: {
      replicas,
      // As for a Deployment: the next pod is replaced only once NGINX lists this one.
      minReadySeconds: WSO2_MIN_READY_SECONDS,
      selector,
      template,
      // A role with peers: its pods' DNS names are under the headless Service (podsService).
      serviceName: component.peers ? podsServiceName(placementOf(frontend), role) : roleName(frontend, role),
      // Parallel: peers list each other by DNS names published before they are ready and retry
      // their connections, so no pod needs another ready first; OrderedReady would hold the
      // second control plane until the first's slow Carbon start is over. (Scaling only: updates
      // still go one pod at a time.)
      podManagementPolicy: 'Parallel',
      // Explicit because it is not a Deployment's surge: a pod's name (and its peers' view of it)
      // exists once, so each pod, highest ordinal first, is deleted before its replacement starts
      // (after its drain: WSO2_DRAIN_SECONDS more per pod); the other pods serve meanwhile.
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
    },
  };
}

/**
 * The headless Service of a role with peers: a DNS name for each pod, which the other roles list
 * (helm-apim gives each instance a Service of its own; a StatefulSet's pods get theirs from one).
 * Not-ready pods are published too, so peers that start together can resolve each other; NGINX
 * routes by the role Service's ready endpoints, never this one's.
 */
function podsService(frontend: Wso2Frontend, component: Component): V1Service {
  const { role } = component;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(frontend, podsServiceName(placementOf(frontend), role), role),
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: roleSelector(frontend, role),
      ports: servicePorts(component),
    },
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
      ports: servicePorts(component),
    },
  };
}

const servicePorts = (component: Component) =>
  containerPorts(component).map((p) => ({
    name: p.name!,
    port: p.containerPort,
    targetPort: p.name!,
    protocol: 'TCP',
  }));

/** Per role of a managed topology, in topology order: its workload, its Service, and the headless Service of a role with peers. None for external backends. */
export function wso2Workloads(
  frontend: Wso2Frontend,
  topology: Topology,
  options: WorkloadOptions = {},
): Wso2Workload[] {
  const backends = topology.backends;
  if (backends.source !== 'managed') return [];
  const placement = placementOf(frontend);
  const caSecret = frontendCaSecret(frontend, topology);
  return backends.components.flatMap((component) => {
    const pods = podConfigurations(topology, placement, component.role);
    const product: RoleProductConfig = {
      config: pods[0]?.config ?? roleConfiguration(topology, placement, component.role),
      settings: { perPod: component.peers, keys: pods.map((p) => `${p.name}.json`) },
      checksum: productConfigChecksum(
        pods.map((p) => p.config),
        options.baseConfigHash,
      ),
      operatorImage: topology.operatorImage,
      imagePullSecrets: topology.imagePullSecrets,
      ...(caSecret ? { caSecret } : {}),
      ...(backends.baseConfigMap ? { baseConfigMap: backends.baseConfigMap } : {}),
      ...(backends.truststorePassword ? { truststorePassword: backends.truststorePassword } : {}),
    };
    return [
      roleWorkload(frontend, component.image, backends.imageUser, component, product),
      roleService(frontend, component),
      ...(component.peers ? [podsService(frontend, component)] : []),
    ];
  });
}
