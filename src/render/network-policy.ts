// The NetworkPolicies of one frontend (spec.networkPolicy.enabled), ingress only: egress is left
// open (the WSO2 pods call databases, identity providers and the API server; NGINX resolves
// nodes through the cluster DNS), and a policy that names no Egress type does not restrict it.
//   - NGINX pods: the public ports from anywhere; NGINX's health and the agent's metrics ports
//     only from pods of the namespaces in metricsNamespaces.
//   - each WSO2 role's pods: the role's product ports from this frontend's NGINX pods, and any
//     port from this frontend's WSO2 pods (the roles call each other: gateway to key manager and
//     traffic manager, control plane to gateways; Hazelcast clustering between peers).
// Peers are selected by the labels the operator puts on its own pods (ownership.ts), never by a
// user's string, and always within the frontend's namespace.
import type { KubernetesObject, V1LabelSelector, V1NetworkPolicyPort } from '@kubernetes/client-node';
import type { Wso2Frontend } from '../api/schema.js';
import type { Topology } from '../model/topology.js';
import { NGINX_CONTAINER_PORTS, nginxName, PUBLIC_NGINX_PORTS } from './objects.js';
import { LABEL, meta, NGINX_COMPONENT, OPERATOR_NAME, selectorFor } from './ownership.js';
import { roleName } from './workloads.js';

/** The label every namespace carries with its own name (Kubernetes 1.22+). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/**
 * A NetworkPolicy as the API server reads it. Not client-node's V1NetworkPolicy, whose ingress
 * rules call `from` `_from`: rendered objects are sent as they are (runtime/apply.ts).
 */
export interface NetworkPolicy extends KubernetesObject {
  spec: {
    podSelector: V1LabelSelector;
    policyTypes: 'Ingress'[];
    ingress: {
      from?: { podSelector?: V1LabelSelector; namespaceSelector?: V1LabelSelector }[];
      ports?: V1NetworkPolicyPort[];
    }[];
  };
}

const tcp = (port: number): V1NetworkPolicyPort => ({ protocol: 'TCP', port });

function policy(frontend: Wso2Frontend, name: string, component: string, spec: NetworkPolicy['spec']): NetworkPolicy {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: meta(frontend, name, component), spec };
}

/** Every WSO2 pod of this frontend, whatever its role. */
function wso2Pods(frontend: Wso2Frontend, roles: readonly string[]): V1LabelSelector {
  return {
    matchLabels: { [LABEL.instance]: frontend.metadata.name, [LABEL.managedBy]: OPERATOR_NAME },
    matchExpressions: [{ key: LABEL.component, operator: 'In', values: [...roles] }],
  };
}

export function networkPolicies(frontend: Wso2Frontend, topology: Topology): NetworkPolicy[] {
  if (!topology.networkPolicy) return [];
  const { metricsNamespaces } = topology.networkPolicy;
  const nginxPods = { matchLabels: selectorFor(frontend, NGINX_COMPONENT) };
  const publicPorts = NGINX_CONTAINER_PORTS.filter((p) => PUBLIC_NGINX_PORTS.includes(p.name));
  const privatePorts = NGINX_CONTAINER_PORTS.filter((p) => !PUBLIC_NGINX_PORTS.includes(p.name));
  const policies: NetworkPolicy[] = [
    policy(frontend, nginxName(frontend), NGINX_COMPONENT, {
      podSelector: nginxPods,
      policyTypes: ['Ingress'],
      ingress: [
        // No `from`: every source, inside the cluster and out.
        { ports: publicPorts.map((p) => tcp(p.containerPort)) },
        ...(metricsNamespaces.length
          ? [
              {
                from: [
                  {
                    namespaceSelector: {
                      matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: 'In', values: metricsNamespaces }],
                    },
                  },
                ],
                ports: privatePorts.map((p) => tcp(p.containerPort)),
              },
            ]
          : []),
      ],
    }),
  ];
  if (topology.backends.source !== 'managed') return policies;
  const roles = topology.backends.components.map((c) => c.role);
  for (const component of topology.backends.components) {
    policies.push(
      policy(frontend, roleName(frontend, component.role), component.role, {
        podSelector: { matchLabels: selectorFor(frontend, component.role) },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [{ podSelector: nginxPods }],
            ports: [...new Set(component.listeners.map((l) => l.port))].sort((a, b) => a - b).map(tcp),
          },
          { from: [{ podSelector: wso2Pods(frontend, roles) }] },
        ],
      }),
    );
  }
  return policies;
}
