// Stops the registry and the real-node plane, then fails the run if the node left anything on
// this machine: a process, a mount, the bridge, a firewall chain, a pod cgroup or a changed sysctl.
export default async function realNodeTeardown() {
  const cluster = globalThis.__WSO2_FRONTEND_REAL_CLUSTER__;
  if (!cluster) return;
  await cluster.stop();
  const leftovers = cluster.plane.realNode.leftovers();
  if (leftovers.length > 0) {
    throw new Error(`the real node left this behind on the machine:\n  ${leftovers.join('\n  ')}`);
  }
}
