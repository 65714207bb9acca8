// What the operator owns in a namespace, read as a user would check it after a fault: every
// managed object with its controller owner, so tests can assert that nothing was duplicated,
// lost or orphaned.
import * as k8s from '@kubernetes/client-node';
import { MANAGED_SELECTOR, OWNED_KINDS } from '../../src/render/ownership.js';
import { kubeConfig } from './cluster.js';
import { readFrontend } from './resources.js';

export interface ManagedObject {
  /** `Kind/name`. */
  id: string;
  owner?: k8s.V1OwnerReference;
}

/** Every object the operator manages in the namespace, as `Kind/name` with its controller owner. */
export async function managedObjects(namespace: string): Promise<ManagedObject[]> {
  const objects = kubeConfig().makeApiClient(k8s.KubernetesObjectApi);
  const found: ManagedObject[] = [];
  // Certificates (mode issuer) need cert-manager's CRD, which these tests do not install.
  for (const kind of OWNED_KINDS.filter((k) => !k.optional)) {
    const list = await objects.list(
      kind.group ? `${kind.group}/${kind.version}` : kind.version,
      kind.kind,
      namespace,
      undefined,
      undefined,
      undefined,
      undefined,
      MANAGED_SELECTOR,
    );
    for (const item of list.items)
      found.push({
        id: `${kind.kind}/${item.metadata!.name}`,
        owner: item.metadata!.ownerReferences?.find((r) => r.controller),
      });
  }
  return found;
}

/**
 * Asserts that every managed object of the namespace is owned by one of `frontends` as it exists
 * now (same uid: no orphan), and that each frontend owns exactly the objects (by kind and name)
 * that `control`, reconciled without a fault, owns: nothing duplicated, nothing lost.
 */
export async function expectOwnedLikeControl(namespace: string, frontends: string[], control: string): Promise<void> {
  const uids = new Map<string, string>();
  for (const name of [...frontends, control]) uids.set(name, (await readFrontend(namespace, name)).metadata.uid!);
  const objects = await managedObjects(namespace);
  for (const { id, owner } of objects) {
    expect({ id, owner: owner?.name }).toEqual({ id, owner: expect.any(String) });
    expect(uids.get(owner!.name)).toBe(owner!.uid);
  }
  const shape = (name: string) =>
    objects
      .filter((o) => o.owner?.name === name)
      .map((o) => o.id.replace(name, '<frontend>'))
      .sort();
  expect(shape(control).length).toBeGreaterThan(3);
  for (const name of frontends) expect(shape(name)).toEqual(shape(control));
}
