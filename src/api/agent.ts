// The contract between the operator and the NGINX reload agent in each NGINX pod: where the
// operator puts the configuration hash, how the rendered NGINX answers with it, and how an
// agent reports on its Pod which configuration it serves. Both sides import these names from
// here only, so they cannot drift apart.
import { createHash } from 'node:crypto';

/** On the NGINX ConfigMap: the hash of the configuration it holds (with the certificates it was rendered for). */
export const CONFIG_HASH_ANNOTATION = 'wso2-frontend.dev/config-hash';
/**
 * On the NGINX ConfigMap: the fingerprints of the certificates (`tls.crt`) the configuration was
 * rendered for, comma-separated. The agent serves the ConfigMap only together with Secrets that
 * hold exactly these certificates, so a hash is never reported for a half-updated set.
 */
export const CERTIFICATES_ANNOTATION = 'wso2-frontend.dev/certificate-fingerprints';

/** A configuration hash: 16 lower-case hex digits, so it can be written into NGINX text as a constant. */
export const CONFIG_HASH_PATTERN = /^[0-9a-f]{16}$/;

/** The location on NGINX's health listener that answers with the hash of the configuration its worker loaded (loopback only). */
export const CONFIG_HASH_PATH = '/config-hash';

/** The Pod condition each agent keeps on its own Pod; the NGINX pods carry it as a readiness gate. */
export const SERVED_CONDITION = 'wso2-frontend.dev/ConfigurationServed';

/**
 * The version of this contract. An agent writes it on its Pod with every report, and the operator
 * checks it on every NGINX pod: bump it with any change that one side would misread if the other
 * were older (an annotation, a condition, the ConfigMap layout, the agent's flags).
 */
export const AGENT_CONTRACT = '1';
/** On each NGINX Pod, written by its agent (through the status subresource, with its reports): the contract it speaks. */
export const AGENT_CONTRACT_ANNOTATION = 'wso2-frontend.dev/agent-contract';

/** Reasons of the Pod condition. */
export type ServedReason = 'Served' | 'ReloadFailed' | 'Waiting' | typeof STAND_IN_REASON;

/**
 * The reason on a report that the local control plane's stand-in wrote (src/localcluster): no
 * NGINX runs in that pod, so nothing probes its sites, and Serving says so.
 */
export const STAND_IN_REASON = 'ServedByStandIn';

/** The fingerprint of a PEM certificate (chain) as the operator hashes it into the configuration hash. */
export function certificateFingerprint(pem: string): string {
  return createHash('sha256').update(pem).digest('hex').slice(0, 16);
}

/** The condition message starts with the served hash ("serving 3f2a9c1e0b7d4a55 ..."), or "serving nothing" before the first. */
export function servedMessage(served: string | undefined, detail?: string): string {
  return `serving ${served ?? 'nothing'}${detail ? `; ${detail}` : ''}`;
}

/** The hash a Pod condition message says is served, if any. */
export function servedHashOf(message: string | undefined): string | undefined {
  const match = /^serving ([0-9a-f]{16})\b/.exec(message ?? '');
  return match?.[1];
}

/** A Secret whose keys become files in one directory of the conf tree, e.g. `tls/portal` <- Secret `apim-tls-portal`. */
export interface SecretMount {
  dir: string;
  secret: string;
  /** The keys written; every key of the Secret when omitted. */
  keys?: string[];
  /** Keys written when the Secret has them (`KEY?` in the flag), with `keys` only. */
  optionalKeys?: string[];
}

const NAME = /^[A-Za-z0-9][-._A-Za-z0-9]*$/;

/** `DIR=SECRET[:KEY,KEY?...]`, the agent's --secret flag (`KEY?`: written when the Secret has it). */
export function formatSecretMount(mount: SecretMount): string {
  const keys = mount.keys ? [...mount.keys, ...(mount.optionalKeys ?? []).map((k) => `${k}?`)] : undefined;
  return `${mount.dir}=${mount.secret}${keys ? `:${keys.join(',')}` : ''}`;
}

/** Parses `DIR=SECRET[:KEY,KEY?...]` (the agent's --secret flag). */
export function parseSecretMount(text: string): SecretMount {
  const match = /^([^=]+)=([^:]+)(?::(.+))?$/.exec(text);
  if (!match) throw new Error(`--secret ${JSON.stringify(text)}: expected DIR=SECRET or DIR=SECRET:KEY,KEY`);
  const [, dir, secret, keys] = match as unknown as [string, string, string, string | undefined];
  const segments = dir.split('/');
  if (segments.some((s) => !NAME.test(s) || s === '..'))
    throw new Error(`--secret ${JSON.stringify(text)}: DIR must be a relative path of plain names, not ${dir}`);
  const keyList = keys?.split(',');
  for (const key of keyList ?? [])
    if (!NAME.test(key.replace(/\?$/, '')))
      throw new Error(`--secret ${JSON.stringify(text)}: ${JSON.stringify(key)} is not a key name`);
  const required = keyList?.filter((k) => !k.endsWith('?'));
  const optional = keyList?.filter((k) => k.endsWith('?')).map((k) => k.slice(0, -1));
  return {
    dir,
    secret,
    ...(required ? { keys: required } : {}),
    ...(optional?.length ? { optionalKeys: optional } : {}),
  };
}
