// What an identity may do, as the real API server's authorizer says (`kubectl auth can-i`), for
// the least-privilege tests of the operator's and the per-frontend identities.
import { kubectl, kubectlOutcome } from './cluster.js';

/** A row of `kubectl auth can-i --list`: resource (resource.group), resource names, verbs. */
export interface Permission {
  resource: string;
  names: string;
  verbs: string;
}

/**
 * What Kubernetes' default roles give every service account: the self-reviews of
 * system:basic-user, and reading ClusterTrustBundles (public CA certificates) through
 * system:cluster-trust-bundle-discovery, bound to every service account while the ClusterTrustBundle
 * feature is on (as in Kubernetes 1.37).
 */
export const EVERYONE: Permission[] = [
  { resource: 'clustertrustbundles.certificates.k8s.io', names: '', verbs: 'get list watch' },
  { resource: 'selfsubjectreviews.authentication.k8s.io', names: '', verbs: 'create' },
  { resource: 'selfsubjectaccessreviews.authorization.k8s.io', names: '', verbs: 'create' },
  { resource: 'selfsubjectrulesreviews.authorization.k8s.io', names: '', verbs: 'create' },
];

export const sorted = (permissions: Permission[]) =>
  [...permissions].sort((a, b) => a.resource.localeCompare(b.resource) || a.names.localeCompare(b.names));

/** `kubectl auth can-i --list` of `user` in `namespace`, resource rows only (non-resource URLs are the defaults for everyone). */
export async function permissionsOf(user: string, namespace: string): Promise<Permission[]> {
  const out = await kubectl(['auth', 'can-i', '--list', `--as=${user}`, '-n', namespace]);
  return sorted(
    out
      .split('\n')
      .slice(1)
      .flatMap((line) => {
        const row = /^(\S+)\s+\[(.*?)\]\s+\[(.*?)\]\s+\[(.*?)\]\s*$/.exec(line);
        return row ? [{ resource: row[1]!, names: row[3]!, verbs: row[4]! }] : [];
      }),
  );
}

/** `kubectl auth can-i ARGS --as=user`: "yes" or "no". */
export async function canI(user: string, ...args: string[]): Promise<string> {
  return (await kubectlOutcome(['auth', 'can-i', ...args, `--as=${user}`])).stdout.trim();
}

/** A request that the API server must refuse for `kubeconfig`'s identity: throws unless it is refused as forbidden. */
export async function expectForbidden(kubeconfig: string, args: string[], input?: string): Promise<void> {
  try {
    await kubectl(['--kubeconfig', kubeconfig, ...args], input);
  } catch (error) {
    if (/forbidden/i.test((error as Error).message)) return;
    throw error;
  }
  throw new Error(`kubectl ${args.join(' ')} was allowed; it must be forbidden`);
}
