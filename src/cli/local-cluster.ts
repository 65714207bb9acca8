// `wso2-frontend local-cluster`: runs the embedded control plane in the foreground until
// interrupted, for trying the operator on a machine without a cluster.
import { parseArgs } from 'node:util';
import { LocalControlPlane } from '../localcluster/control-plane.js';
import { UsageError } from './usage-error.js';

export const usage = `wso2-frontend local-cluster [--dir DIR] [--api-only] [--node kwok|real]

Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (one fake node)
on loopback and runs them until interrupted (Ctrl-C).
  --dir DIR    keep data, certificates and the kubeconfig in DIR (reused on the next start);
               default: a temporary directory removed on exit
  --api-only   only etcd and kube-apiserver
  --node real  instead of kwok, a real node that runs the containers on this machine:
               containerd, the kubelet, kube-proxy and a bridge network (10.245.0.0/24) that
               reaches nothing outside this machine. Needs root; one per machine; everything
               it changes on the host is put back when it stops`;

export async function runLocalCluster(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      dir: { type: 'string' },
      'api-only': { type: 'boolean', default: false },
      node: { type: 'string', default: 'kwok' },
    },
    strict: true,
  });
  const node = values.node;
  if (node !== 'kwok' && node !== 'real') throw new UsageError(`--node: "${node}" is not one of kwok, real`);
  // Listen before starting: a Ctrl-C during start-up stops the control plane once it is up.
  const stopRequested = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const plane = await LocalControlPlane.start({
    ...(values.dir ? { dir: values.dir } : {}),
    workloads: !values['api-only'],
    node,
  });
  console.log(`The local control plane is running at ${plane.apiServerUrl}.
In another shell:
  export KUBECONFIG=${plane.kubeconfigPath}
  kubectl get nodes
Logs: ${plane.logsDir}
Press Ctrl-C to stop it.`);
  await stopRequested;
  console.log('Stopping the local control plane...');
  await plane.stop();
  return 0;
}
