// kwok runs no containers, so no reload agent runs in the NGINX pods of the local control plane,
// and the operator's ConfigurationServed (the sum of the agents' reports) could never become
// True there. This component of the local control plane stands in for those agents, as kwok
// stands in for the kubelet: for every NGINX pod kwok runs, it writes on the Pod the report an
// agent writes once NGINX serves the frontend's ConfigMap (`serving <hash>`), and again whenever
// the ConfigMap changes, with the reason STAND_IN_REASON. It serves nothing, runs no `nginx -t`
// and probes no site (the operator's Serving says so). Where a test runs the real
// agent for a pod (test/agent, the end-to-end test), the pod's namespace carries the label
// REAL_AGENTS_LABEL and this leaves its pods alone.
//   node dist/localcluster/agent-stand-in.js KUBECONFIG
import * as k8s from '@kubernetes/client-node';
import {
  AGENT_CONTRACT,
  AGENT_CONTRACT_ANNOTATION,
  CONFIG_HASH_ANNOTATION,
  SERVED_CONDITION,
  servedHashOf,
  STAND_IN_REASON,
} from '../api/agent.js';
import { servedCondition } from '../agent/report.js';
import { jsonLogger, RestartingInformer } from '../controller/runtime/controller.js';
import { MANAGED_SELECTOR, NGINX_POD_SELECTOR } from '../render/ownership.js';
import { REAL_AGENTS_LABEL } from './control-plane.js';

/** The ConfigMap an NGINX pod's agent is told to serve (its --config-map flag). */
function configMapOf(pod: k8s.V1Pod): string | undefined {
  const args = pod.spec?.containers[0]?.args ?? [];
  const index = args.indexOf('--config-map');
  return index >= 0 ? args[index + 1] : undefined;
}

async function main(kubeconfigPath: string): Promise<void> {
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const realAgents = new Map<string, boolean>();
  const restartDelay = (failures: number) => Math.min(100 * 2 ** failures, 5000);
  const key = (namespace: string | undefined, name: string | undefined) => `${namespace}/${name}`;
  const inFlight = new Set<string>();

  const report = async (pod: k8s.V1Pod): Promise<void> => {
    const { name, namespace, deletionTimestamp } = pod.metadata ?? {};
    const configMapName = configMapOf(pod);
    if (!name || !namespace || deletionTimestamp || !configMapName || pod.status?.phase !== 'Running') return;
    if (!pod.spec?.readinessGates?.some((g) => g.conditionType === SERVED_CONDITION)) return;
    if (!realAgents.has(namespace)) {
      const labels = (await core.readNamespace({ name: namespace })).metadata?.labels ?? {};
      realAgents.set(namespace, labels[REAL_AGENTS_LABEL] === 'true');
    }
    if (realAgents.get(namespace)) return;
    const configMap = configMaps.informer.get(configMapName, namespace);
    const hash = configMap?.metadata?.annotations?.[CONFIG_HASH_ANNOTATION];
    const current = pod.status?.conditions?.find((c) => c.type === SERVED_CONDITION);
    if (!hash || (current?.status === 'True' && servedHashOf(current.message) === hash)) return;
    if (inFlight.has(key(namespace, name))) return;
    inFlight.add(key(namespace, name));
    try {
      await core.patchNamespacedPodStatus(
        {
          name,
          namespace,
          body: {
            // It stands in for this release's agent, so it speaks this release's contract.
            metadata: { annotations: { [AGENT_CONTRACT_ANNOTATION]: AGENT_CONTRACT } },
            status: { conditions: [servedCondition({ served: hash, reason: STAND_IN_REASON }, new Date())] },
          },
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
      );
    } finally {
      inFlight.delete(key(namespace, name));
    }
  };
  const reportAll = (pods: readonly k8s.KubernetesObject[]) => {
    for (const pod of pods)
      report(pod as k8s.V1Pod).catch((error: unknown) => {
        // The pod is gone, or the API server is away: the next event or resync tries again.
        if (!(error instanceof k8s.ApiException && error.code === 404))
          jsonLogger('error', 'reporting on a pod failed', {
            pod: key(pod.metadata?.namespace, pod.metadata?.name),
            error: String(error),
          });
      });
  };

  const pods: RestartingInformer = new RestartingInformer(
    kubeConfig,
    { group: '', version: 'v1', plural: 'pods', kind: 'Pod' },
    undefined,
    'Pod',
    (pod) => reportAll([pod]),
    restartDelay,
    jsonLogger,
    NGINX_POD_SELECTOR,
  );
  const configMaps: RestartingInformer = new RestartingInformer(
    kubeConfig,
    { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap' },
    undefined,
    'ConfigMap',
    (configMap) =>
      reportAll(
        pods.informer
          .list(configMap.metadata?.namespace)
          .filter((pod) => configMapOf(pod as k8s.V1Pod) === configMap.metadata?.name),
      ),
    restartDelay,
    jsonLogger,
    MANAGED_SELECTOR,
    // Only the annotations are read: the rendered files stay out of memory.
    (object) => ({ ...object, data: undefined, binaryData: undefined }) as k8s.KubernetesObject,
  );
  await configMaps.start();
  await pods.start();
  // A report lost to an API server that was away is written on the next pass.
  const resync = setInterval(() => reportAll(pods.informer.list()), 5000);
  const stop = () => {
    clearInterval(resync);
    void Promise.all([pods.stop(), configMaps.stop()]).then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  jsonLogger('info', 'standing in for the reload agents of the NGINX pods kwok runs', {});
}

const kubeconfig = process.argv[2];
if (!kubeconfig) {
  console.error('usage: agent-stand-in.js KUBECONFIG');
  process.exit(2);
}
main(kubeconfig).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
