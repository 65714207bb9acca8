// The product-configuration part of a plan, as pure functions: check the user's base ConfigMap
// (backends.managed.configMapName) the way the init container will patch it, so a file that does
// not parse is reported on the status before anything rolls, and an owned key it sets to another
// value is named in a Warning Event; hash it, so editing it rolls the WSO2 pods; and say whether
// the WSO2 pods run the current configuration (the ProductConfigured condition).
import { createHash } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import type { Wso2Frontend } from '../api/schema.js';
import { oneLine } from '../api/text.js';
import { roleConfiguration } from '../model/product-config.js';
import type { Topology } from '../model/topology.js';
import { pathOfKey } from '../render/product/layout.js';
import { patchFile, ProductConfigError, type Override } from '../render/product/patch.js';
import { placementOf, productConfigName, roleName } from '../render/workloads.js';
import type { Verdict } from './status.js';

/** The user's base ConfigMap as observed: its content, or null when it does not exist. */
export type BaseConfigMap = Pick<k8s.V1ConfigMap, 'data' | 'binaryData'> | null;

export interface BaseConfigCheck {
  /** Set when a base file does not parse (or the ConfigMap is missing): what the status says. */
  problem?: Verdict & { ok: false };
  overrides: Override[];
  /** A hash of the ConfigMap's content, on the pod templates. */
  hash?: string;
}

export function checkBaseConfig(
  frontend: Wso2Frontend,
  topology: Topology,
  name: string,
  configMap: BaseConfigMap,
): BaseConfigCheck {
  if (configMap === null)
    return {
      problem: {
        ok: false,
        reason: 'BaseConfigMapMissing',
        message: `ConfigMap ${name} (spec.backends.managed.configMapName) does not exist; WSO2 pods cannot start until it does`,
        waiting: true,
      },
      overrides: [],
    };
  // binaryData reaches the pods as files too: one naming an owned file is checked like data.
  const files: Record<string, string> = {
    ...Object.fromEntries(
      Object.entries(configMap.binaryData ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
    ),
    ...configMap.data,
  };
  const overrides = new Map<string, Override>();
  for (const { role } of topology.productSettings.roles) {
    const config = roleConfiguration(topology, placementOf(frontend), role);
    for (const [key, text] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
      const path = pathOfKey(key, config);
      const file = config.files.find((f) => f.path === path);
      if (!file) continue;
      try {
        for (const o of patchFile(file, text, `ConfigMap ${name} key ${key}`).overrides)
          overrides.set(`${o.file} ${o.key} ${o.value}`, o);
      } catch (e) {
        if (!(e instanceof ProductConfigError)) throw e;
        return {
          problem: { ok: false, reason: 'InvalidBaseConfig', message: `${e.message}; nothing was rolled` },
          overrides: [],
        };
      }
    }
  }
  const hash = createHash('sha256');
  for (const [key, value] of Object.entries(configMap.data ?? {}).sort(([a], [b]) => a.localeCompare(b)))
    hash.update(`${key}\0${value}\0`);
  for (const [key, value] of Object.entries(configMap.binaryData ?? {}).sort(([a], [b]) => a.localeCompare(b)))
    hash.update(`${key}\0${value}\0`);
  return { overrides: [...overrides.values()], hash: hash.digest('hex').slice(0, 16) };
}

/**
 * The Secret named in backends.managed.truststorePassword, as observed: the names of its keys
 * (never its values), or null when it does not exist. Without it the init container cannot start
 * (the kubelet reports CreateContainerConfigError on the pod), so the status says why.
 */
export type TruststoreSecretKeys = readonly string[] | null;

export function checkTruststorePassword(
  topology: Topology,
  keys: TruststoreSecretKeys | undefined,
): (Verdict & { ok: false }) | undefined {
  if (topology.backends.source !== 'managed' || !topology.backends.truststorePassword) return undefined;
  const { secretName, key } = topology.backends.truststorePassword;
  const where = `spec.backends.managed.truststorePassword`;
  if (!keys)
    return {
      ok: false,
      reason: 'TruststorePasswordMissing',
      message: `Secret ${secretName} (${where}) does not exist; WSO2 pods cannot start until it does`,
      waiting: true,
    };
  if (!keys.includes(key))
    return {
      ok: false,
      reason: 'TruststorePasswordMissing',
      message: `Secret ${secretName} (${where}) has no key ${key} (it has: ${[...keys].sort().join(', ') || 'none'}); WSO2 pods cannot start until it has`,
      waiting: true,
    };
  return undefined;
}

/** The value found is the user's text (a multi-line TOML string, a JSON object, XML): one bounded line of it. */
export const describeOverride = (o: Override) =>
  `${o.file}: ${o.key} is ${oneLine(o.found, 200)} there; the fronting sets ${oneLine(o.value, 200)} (it owns this key)`;

/** Every WSO2 workload runs its current pod template on all its replicas. */
function rolledOut(workload: k8s.V1Deployment | k8s.V1StatefulSet): boolean {
  const wanted = workload.spec?.replicas ?? 1;
  const s = workload.status ?? {};
  const current = (s.observedGeneration ?? 0) >= (workload.metadata?.generation ?? 0);
  return current && (s.updatedReplicas ?? 0) >= wanted && (s.replicas ?? 0) <= wanted;
}

/** ProductConfigured: managed pods run the patched configuration, or the snippets for external nodes are published. */
export function productConfigured(
  frontend: Wso2Frontend,
  topology: Topology,
  applied: ReadonlyMap<string, k8s.KubernetesObject>,
): Verdict {
  const configMap = productConfigName(frontend);
  if (topology.backends.source === 'external')
    return {
      ok: true,
      reason: 'Published',
      message: `what to set on each node is in ConfigMap ${configMap}`,
    };
  const pending = topology.backends.components
    .map((c) => roleName(frontend, c.role))
    .filter((name) => {
      const workload = applied.get(`Deployment/${name}`) ?? applied.get(`StatefulSet/${name}`);
      return !workload || !rolledOut(workload);
    });
  return pending.length
    ? {
        ok: false,
        reason: 'RollingOut',
        message: `the patched configuration is rolling out to ${pending.join(', ')}`,
        waiting: true,
      }
    : { ok: true, reason: 'Configured', message: 'every WSO2 pod runs the patched product configuration' };
}
