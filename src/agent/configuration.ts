// What the agent serves, decided from what it watched: the NGINX ConfigMap and the Secrets laid
// out under the conf directory. Pure: no I/O, so every way a set can be incomplete or
// inconsistent is decided here and tested with plain values.
import { createHash } from 'node:crypto';
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import {
  CERTIFICATES_ANNOTATION,
  CONFIG_HASH_ANNOTATION,
  CONFIG_HASH_PATTERN,
  certificateFingerprint,
  type SecretMount,
} from '../api/agent.js';

/** A complete, consistent configuration: relative path -> content, and the hash NGINX must answer with. */
export interface Configuration {
  hash: string;
  files: Record<string, string>;
  /** Identifies the exact bytes (also when two sets carry the same hash). */
  digest: string;
}

export type Assembly = { ready: true; configuration: Configuration } | { ready: false; waiting: string };

const decode = (base64: string) => Buffer.from(base64, 'base64').toString('utf8');

export function digestOf(files: Record<string, string>): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(files).sort()) hash.update(`${name}\0${files[name]}\0`);
  return hash.digest('hex');
}

/**
 * The configuration to serve, or why there is none yet. The ConfigMap names its hash and the
 * certificates it was rendered for; the Secrets must hold exactly those certificates (the
 * operator writes Secrets before the ConfigMap, and watches deliver them in any order).
 */
export function assemble(
  configMap: V1ConfigMap | undefined,
  secrets: ReadonlyMap<string, V1Secret | undefined>,
  mounts: readonly SecretMount[],
): Assembly {
  if (!configMap) return { ready: false, waiting: 'the ConfigMap does not exist' };
  const name = configMap.metadata?.name;
  const hash = configMap.metadata?.annotations?.[CONFIG_HASH_ANNOTATION];
  if (!hash || !CONFIG_HASH_PATTERN.test(hash))
    return {
      ready: false,
      waiting: `ConfigMap ${name} has no valid ${CONFIG_HASH_ANNOTATION} annotation (16 hex digits)`,
    };
  const files: Record<string, string> = {};
  for (const [key, text] of Object.entries(configMap.data ?? {})) files[key] = text;
  if (!files['nginx.conf']) return { ready: false, waiting: `ConfigMap ${name} has no nginx.conf` };

  const fingerprints = new Set<string>();
  for (const mount of mounts) {
    const secret = secrets.get(mount.secret);
    if (!secret) return { ready: false, waiting: `Secret ${mount.secret} does not exist` };
    const data = secret.data ?? {};
    for (const key of mount.keys ?? Object.keys(data).sort()) {
      const encoded = data[key];
      if (encoded === undefined) return { ready: false, waiting: `Secret ${mount.secret} has no key ${key}` };
      files[`${mount.dir}/${key}`] = decode(encoded);
    }
    for (const key of mount.keys ? (mount.optionalKeys ?? []) : []) {
      const encoded = data[key];
      if (encoded !== undefined) files[`${mount.dir}/${key}`] = decode(encoded);
    }
    if (data['tls.crt'] !== undefined) fingerprints.add(certificateFingerprint(decode(data['tls.crt'])));
  }
  const expected = (configMap.metadata?.annotations?.[CERTIFICATES_ANNOTATION] ?? '').split(',').filter(Boolean);
  const missing = expected.filter((fingerprint) => !fingerprints.has(fingerprint));
  if (missing.length)
    return {
      ready: false,
      waiting: `configuration ${hash} was rendered for certificate(s) ${missing.join(', ')}, which no watched Secret holds yet`,
    };
  return { ready: true, configuration: { hash, files, digest: digestOf(files) } };
}
