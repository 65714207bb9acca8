// Stops the real-node plane and the registry, then fails the run if the node left anything on
// this machine: a process, a mount, the bridge, a firewall chain, a pod cgroup or a changed sysctl.
export default async function realNodeTeardown() {
  await globalThis.__WSO2_FRONTEND_REGISTRY__?.stop();
  const plane = globalThis.__WSO2_FRONTEND_REAL_NODE_PLANE__;
  if (!plane) return;
  const node = plane.realNode;
  await plane.stop();
  const leftovers = node.leftovers();
  if (leftovers.length > 0) {
    throw new Error(`the real node left this behind on the machine:\n  ${leftovers.join('\n  ')}`);
  }
}
