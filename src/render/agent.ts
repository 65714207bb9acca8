// What the reload agent in each NGINX pod is given, rendered from the topology: the Secrets it
// lays out under the conf directory (its --secret flags), and the least privilege it runs with:
// a ServiceAccount and a Role that reads exactly the frontend's ConfigMap and those Secrets
// (resourceNames; the agent lists and watches each by a metadata.name field selector, which
// RBAC checks against resourceNames) and patches Pod status (its own condition).
import type { V1Role, V1RoleBinding, V1ServiceAccount } from '@kubernetes/client-node';
import type { SecretMount } from '../api/agent.js';
import type { Wso2Frontend } from '../api/schema.js';
import type { Topology } from '../model/topology.js';
import { BACKEND_CA_PATH, certificatePaths } from './nginx/config.js';
import { certificateSecretName, nginxName } from './objects.js';
import { meta, NGINX_COMPONENT } from './ownership.js';

const dirOf = (path: string) => path.slice(0, path.lastIndexOf('/'));

/** The Secrets NGINX reads, each laid out where nginx.conf expects its files. */
export function agentSecretMounts(frontend: Wso2Frontend, topology: Topology): SecretMount[] {
  const certificates = topology.certificates.map((plan): SecretMount => ({
    dir: dirOf(certificatePaths(plan.name).certificate),
    secret: certificateSecretName(frontend, plan.name),
    keys: ['tls.crt', 'tls.key'],
  }));
  const backendCa = topology.backendTls.caSecretName
    ? [{ dir: dirOf(BACKEND_CA_PATH), secret: topology.backendTls.caSecretName, keys: ['ca.crt'] }]
    : [];
  return [...certificates, ...backendCa];
}

/** The agent's identity: one ServiceAccount per frontend, named like its NGINX objects. */
export function agentServiceAccount(frontend: Wso2Frontend): V1ServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: meta(frontend, nginxName(frontend), NGINX_COMPONENT),
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
      // Pod names are not known in advance: any Pod's status in the namespace (see README, "The reload agent").
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
