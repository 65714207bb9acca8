// The real node itself: pods run real containers, Services carry traffic through kube-proxy
// (ClusterIP from the host and from pods, NodePort), pods reach the API server through the
// `kubernetes` Service, exec works through the kubelet, the kubelet enforces the restricted
// security settings, and nothing a pod sends leaves the machine.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { importImage } from '../../src/localcluster/real-node.js';
import { REAL_NODE_IP, KUBERNETES_SERVICE_IP } from '../../src/localcluster/pki.js';
import { createNamespace, eventually, kubeConfig, kubectl } from '../support/cluster.js';
import { ociArchive } from '../support/oci-image.js';

const IMAGE = 'localhost/wso2-frontend-test/busybox-httpd:1';
const nodeDir = () => join(dirname(process.env.KUBECONFIG!), 'node');

let namespace: string;
let core: k8s.CoreV1Api;

const restrictedContainer: k8s.V1Container = {
  name: 'httpd',
  image: IMAGE,
  imagePullPolicy: 'Never',
  args: ['httpd', '-f', '-v', '-p', '8080', '-h', '/www'],
  ports: [{ containerPort: 8080, name: 'http' }],
  readinessProbe: { httpGet: { path: '/index.html', port: 8080 }, periodSeconds: 1 },
  securityContext: {
    runAsNonRoot: true,
    runAsUser: 65534,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  },
};

beforeAll(async () => {
  importImage(
    nodeDir(),
    ociArchive(
      IMAGE,
      [
        { path: 'bin/busybox', copyOf: '/bin/busybox', mode: 0o755 },
        { path: 'bin/sh', linkTo: 'busybox' },
        { path: 'www/index.html', content: 'ready\n' },
        // Which pod answered: the pod's host name.
        {
          path: 'www/cgi-bin/host',
          content: '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n"\nhostname\n',
          mode: 0o755,
        },
      ],
      { Entrypoint: ['/bin/busybox'] },
    ),
  );
  core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  namespace = await createNamespace('real-node');
  await kubeConfig()
    .makeApiClient(k8s.AppsV1Api)
    .createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'httpd' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'httpd' } },
          template: {
            metadata: { labels: { app: 'httpd' } },
            spec: { containers: [restrictedContainer], terminationGracePeriodSeconds: 1 },
          },
        },
      },
    });
  await core.createNamespacedService({
    namespace,
    body: {
      metadata: { name: 'httpd' },
      spec: { type: 'NodePort', selector: { app: 'httpd' }, ports: [{ port: 80, targetPort: 'http' }] },
    },
  });
  await kubectl(['rollout', 'status', 'deployment/httpd', '-n', namespace, '--timeout=120s']);
});

afterAll(async () => {
  await core?.deleteNamespace({ name: namespace });
});

const curl = (url: string) => execFileSync('curl', ['-sS', '--max-time', '5', url], { encoding: 'utf8' }).trim();

async function pods(): Promise<k8s.V1Pod[]> {
  return (await core.listNamespacedPod({ namespace, labelSelector: 'app=httpd' })).items;
}

test('the node is Ready on containerd with the pod network gateway as its address', async () => {
  const [node] = (await core.listNode()).items;
  expect(node?.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^containerd:\/\/1\./);
  expect(node?.status?.addresses).toContainEqual({ type: 'InternalIP', address: REAL_NODE_IP });
  for (const pod of await pods()) expect(pod.status?.podIP).toMatch(/^10\.245\.0\./);
});

test('a Service answers through kube-proxy, by ClusterIP and by NodePort, from every endpoint', async () => {
  const service = await core.readNamespacedService({ name: 'httpd', namespace });
  const clusterIp = service.spec!.clusterIP!;
  const nodePort = service.spec!.ports![0]!.nodePort!;
  const names = new Set((await pods()).map((p) => p.metadata!.name!));
  const seen = new Set<string>();
  await eventually('both pods answering through the ClusterIP', () => {
    seen.add(curl(`http://${clusterIp}/cgi-bin/host`));
    return seen.size === names.size ? true : undefined;
  });
  expect(seen).toEqual(names);
  expect(curl(`http://${REAL_NODE_IP}:${nodePort}/index.html`)).toBe('ready');
});

test('pods reach other pods through the Service and the API server through the kubernetes Service', async () => {
  const [pod] = await pods();
  const exec = (...command: string[]) =>
    kubectl(['exec', '-n', namespace, pod!.metadata!.name!, '--', 'busybox', ...command]).then((out) => out.trim());
  const clusterIp = (await core.readNamespacedService({ name: 'httpd', namespace })).spec!.clusterIP!;
  expect(await exec('wget', '-qO-', `http://${clusterIp}/index.html`)).toBe('ready');
  // The kubernetes Service, DNATed by kube-proxy to the API server on the gateway address: a TLS
  // server answers (busybox's TLS offers no cipher Go accepts, so it ends with the server's alert;
  // the NGINX pods' agents use this path for real in the operator's tests).
  await expect(
    exec('wget', '-qO-', '--no-check-certificate', `https://${KUBERNETES_SERVICE_IP}/readyz`),
  ).rejects.toThrow(/TLS error from peer/);
});

test('the kubelet enforces runAsNonRoot, readOnlyRootFilesystem and seccomp RuntimeDefault', async () => {
  const [pod] = await pods();
  const name = pod!.metadata!.name!;
  await expect(kubectl(['exec', '-n', namespace, name, '--', 'busybox', 'touch', '/www/x'])).rejects.toThrow(
    /Read-only file system/,
  );
  const status = await kubectl(['exec', '-n', namespace, name, '--', 'busybox', 'cat', '/proc/1/status']);
  expect(status).toMatch(/^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
  // 2: a seccomp filter applies; NoNewPrivs from allowPrivilegeEscalation: false.
  expect(status).toMatch(/^Seccomp:\s+2$/m);
  expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
  expect(status).toMatch(/^CapEff:\s+0+$/m);

  // A container that would run as root is refused by the kubelet, not started.
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: 'as-root' },
      spec: {
        containers: [
          { ...restrictedContainer, securityContext: { ...restrictedContainer.securityContext, runAsUser: undefined } },
        ],
      },
    },
  });
  const reason = await eventually('the kubelet refusing a root container', async () => {
    const p = await core.readNamespacedPod({ name: 'as-root', namespace });
    return p.status?.containerStatuses?.[0]?.state?.waiting?.message;
  });
  expect(reason).toMatch(/runAsNonRoot and image will run as root/);
});

test('nothing a pod sends leaves the machine', async () => {
  const [pod] = await pods();
  const drops = () => {
    const out = execFileSync('iptables', ['-w', '-t', 'mangle', '-L', 'WSO2FE-POD-EGRESS', '-v', '-x', '-n'], {
      encoding: 'utf8',
    });
    return Number(/^\s*(\d+)\s+\d+\s+DROP/m.exec(out)?.[1]);
  };
  const before = drops();
  // TEST-NET-3 (RFC 5737): documentation only; the default route would take it out of the machine.
  await expect(
    kubectl([
      'exec',
      '-n',
      namespace,
      pod!.metadata!.name!,
      '--',
      'busybox',
      'timeout',
      '3',
      'busybox',
      'wget',
      '-qO-',
      'http://203.0.113.1/',
    ]),
  ).rejects.toThrow();
  expect(drops()).toBeGreaterThan(before);
  expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe('1');
});
