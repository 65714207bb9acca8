// The least privilege the reload agent in each NGINX pod runs with (its --secret flags are in
// objects.ts, with the Deployment that passes them):
// a ServiceAccount and a Role that reads exactly the frontend's ConfigMap and those Secrets
// (resourceNames; the agent lists and watches each by a metadata.name field selector, which
// RBAC checks against resourceNames) and patches Pod status (its own condition).
import type { V1Role, V1RoleBinding, V1ServiceAccount } from '@kubernetes/client-node';
import type { Wso2Frontend } from '../api/schema.js';
import type { Topology } from '../model/topology.js';
import { agentSecretMounts, nginxName } from './objects.js';
import { meta, NGINX_COMPONENT } from './ownership.js';

/** What the operator applies for the agents of a frontend: their ServiceAccount, Role and RoleBinding. */
export function agentAccess(frontend: Wso2Frontend, topology: Topology): [V1ServiceAccount, V1Role, V1RoleBinding] {
  return [agentServiceAccount(frontend), agentRole(frontend, topology), agentRoleBinding(frontend)];
}

/** The agent's identity: one ServiceAccount per frontend, named like its NGINX objects. */
export function agentServiceAccount(frontend: Wso2Frontend): V1ServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: meta(frontend, nginxName(frontend), NGINX_COMPONENT),
    // Only the NGINX pods, which ask for it, get its token.
    automountServiceAccountToken: false,
  };
}

export function agentRole(frontend: Wso2Frontend, topology: Topology): V1Role {
  const secrets = [...new Set(agentSecretMounts(frontend, topology).map((m) => m.secret))].sort();
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: meta(frontend, nginxName(frontend), NGINX_COMPONENT),
    rules: [
      {
        apiGroups: [''],
        resources: ['configmaps'],
        resourceNames: [nginxName(frontend)],
        verbs: ['get', 'list', 'watch'],
      },
      ...(secrets.length
        ? [{ apiGroups: [''], resources: ['secrets'], resourceNames: secrets, verbs: ['get', 'list', 'watch'] }]
        : []),
      // Pod names are not known in advance: any Pod's status in the namespace (see docs/concepts.md, "The reload agent").
      { apiGroups: [''], resources: ['pods/status'], verbs: ['patch'] },
    ],
  };
}

export function agentRoleBinding(frontend: Wso2Frontend): V1RoleBinding {
  const name = nginxName(frontend);
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: meta(frontend, name, NGINX_COMPONENT),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [
      {
        kind: 'ServiceAccount',
        name,
        ...(frontend.metadata.namespace ? { namespace: frontend.metadata.namespace } : {}),
      },
    ],
  };
}
