// Writes what a plan wants with server-side apply, and owns the three memos that make a resync of
// unchanged resources cost nothing: which content each object was last applied with (to skip an
// apply that would change nothing), which desired set was last pruned, and which of its own
// writes the cache may not have seen yet (so a read never decides on stale data). The first memo
// is also written on each object (APPLIED_HASH_ANNOTATION), so a restarted operator skips the
// applies that would change nothing too.
import { createHash } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import {
  APPLIED_HASH_ANNOTATION,
  apiVersionOf,
  instanceSelector,
  objectId,
  type OwnedKind,
} from '../render/ownership.js';
import { RawApplyApi } from './runtime/apply.js';
import { oneLine } from '../api/text.js';
import type { Logger } from './runtime/controller.js';

/** The requests the applier makes (a seam, so its rules are unit-tested without an API server). */
export interface ClusterClient {
  /** Server-side apply with the operator's field manager, forcing conflicts; returns what the server holds. */
  apply<T extends k8s.KubernetesObject>(object: T): Promise<T>;
  /** Creates `object` with the operator's field manager; rejects (409 AlreadyExists) when it exists. */
  create<T extends k8s.KubernetesObject>(object: T): Promise<T>;
  /** undefined when there is no such object. */
  read(apiVersion: string, kind: string, namespace: string, name: string): Promise<k8s.KubernetesObject | undefined>;
  list(apiVersion: string, kind: string, namespace: string, labelSelector: string): Promise<k8s.KubernetesObject[]>;
  /** Resolves also when the object is already gone. */
  delete(apiVersion: string, kind: string, namespace: string, name: string): Promise<void>;
}

const notFound = (error: unknown) => error instanceof k8s.ApiException && error.code === 404;
const alreadyExists = (error: unknown) => error instanceof k8s.ApiException && error.code === 409;

export function kubernetesClient(kubeConfig: k8s.KubeConfig, fieldManager: string): ClusterClient {
  // Raw JSON: client-node's typed patch would drop fields its model names differently or lacks.
  const objects = RawApplyApi.fromKubeConfig(kubeConfig);
  return {
    apply: (object) => objects.apply(object, fieldManager),
    create: (object) => objects.create(object, undefined, undefined, fieldManager),
    read: async (apiVersion, kind, namespace, name) => {
      try {
        return await objects.read({ apiVersion, kind, metadata: { name, namespace } });
      } catch (error) {
        if (notFound(error)) return undefined;
        throw error;
      }
    },
    list: async (apiVersion, kind, namespace, labelSelector) =>
      (await objects.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, labelSelector))
        .items,
    delete: async (apiVersion, kind, namespace, name) => {
      try {
        await objects.delete({ apiVersion, kind, metadata: { name, namespace } });
      } catch (error) {
        if (!notFound(error)) throw error;
      }
    },
  };
}

/** Reads of what the controller watches, served from its informer caches. */
export interface WatchedCache {
  get<T extends k8s.KubernetesObject>(kind: string, namespace: string, name: string): T | undefined;
  list<T extends k8s.KubernetesObject>(kind: string, namespace: string): T[];
  watches(kind: string, namespace: string): boolean;
}

/** The object everything applied is owned by (a Wso2Frontend). */
export interface Owner {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string };
}

export interface ApplyResult {
  /** What the server holds after each apply (or, for a skipped apply, what the cache holds), by objectId. */
  applied: Map<string, k8s.KubernetesObject>;
  /** The first write the API server refused; nothing after it was applied. */
  refused?: {
    id: string;
    message: string;
    error: unknown;
    /** The API server found the object itself invalid (400, 422): the same write can never succeed. */
    permanent: boolean;
  };
}

/** What the last apply of one object sent and got back. */
interface AppliedRecord {
  hash: string;
  resourceVersion: string;
}

export interface ApplierOptions {
  client: ClusterClient;
  cache?: WatchedCache;
  /** The kinds that are pruned (OWNED_KINDS). */
  kinds: readonly OwnedKind[];
  log: Logger;
  /** Told when a server-side apply has been issued, with its answer, which is awaited only after this returns. */
  onApplying?: (object: k8s.KubernetesObject, applying: Promise<unknown>) => void;
  /** Told after each server-side apply, and whether it changed the object. */
  onApplied?: (object: k8s.KubernetesObject, changed: boolean) => void;
}

const ownerKey = (owner: Owner) => `${owner.metadata.namespace}/${owner.metadata.name}`;

export class Applier {
  /** Per owner ("namespace/name"), per objectId: the last apply. */
  private readonly applied = new Map<string, Map<string, AppliedRecord>>();
  /** Per owner: the desired set its last prune left, so an unchanged set is not scanned again. */
  private readonly pruned = new Map<string, string>();

  constructor(private readonly options: ApplierOptions) {}

  /**
   * An object from the cache, or from the API server when the cache does not hold it, has not
   * yet seen this applier's last write of it, or `fresh` asks for what the server holds now.
   */
  async read<T extends k8s.KubernetesObject>(
    owner: Owner,
    apiVersion: string,
    kind: string,
    name: string,
    fresh = false,
  ): Promise<{ object: T | undefined; fresh: boolean }> {
    const namespace = owner.metadata.namespace!;
    if (!fresh) {
      const cached = this.options.cache?.get<T>(kind, namespace, name);
      const written = this.applied.get(ownerKey(owner))?.get(`${kind}/${name}`);
      if (cached && (!written || written.resourceVersion === cached.metadata?.resourceVersion))
        return { object: cached, fresh: false };
    }
    return {
      object: (await this.options.client.read(apiVersion, kind, namespace, name)) as T | undefined,
      fresh: true,
    };
  }

  /** Objects of a kind in the owner's namespace with the given labels, from the cache when it watches the kind (unless `fresh`). */
  async list<T extends k8s.KubernetesObject>(
    owner: Owner,
    apiVersion: string,
    kind: string,
    labels: Record<string, string>,
    fresh = false,
  ): Promise<T[]> {
    const namespace = owner.metadata.namespace!;
    if (!fresh && this.options.cache?.watches(kind, namespace))
      return this.options.cache
        .list<T>(kind, namespace)
        .filter((o) => Object.entries(labels).every(([k, v]) => o.metadata?.labels?.[k] === v));
    const selector = Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    return (await this.options.client.list(apiVersion, kind, namespace, selector)) as T[];
  }

  /** Applies each object in order, owned by `owner`, and stops at the first one the API server refuses. */
  async apply(owner: Owner, objects: readonly k8s.KubernetesObject[]): Promise<ApplyResult> {
    const applied = new Map<string, k8s.KubernetesObject>();
    for (const object of objects) {
      try {
        applied.set(objectId(object), await this.applyIfChanged(owner, object));
      } catch (error) {
        // Said on the resource (a full NodePort range, a quota, an admission webhook); retried with backoff.
        const message = `${object.kind} ${object.metadata?.name}: ${describeApiError(error)}`;
        const permanent = error instanceof k8s.ApiException && (error.code === 400 || error.code === 422);
        return { applied, refused: { id: objectId(object), message, error, permanent } };
      }
    }
    return { applied };
  }

  /**
   * Creates `object`, owned by `owner`, only if nothing of its name exists; when something does
   * (another writer created it first: 409), returns what the API server holds instead, untouched.
   * For what must never be replaced by a racing writer (the frontend CA).
   */
  async createOnce<T extends k8s.KubernetesObject>(owner: Owner, object: T): Promise<T | undefined> {
    const namespace = owner.metadata.namespace!;
    const id = objectId(object);
    let stored: T | undefined;
    try {
      stored = await this.options.client.create(withOwner(owner, object));
      this.options.log('debug', 'created', { frontend: owner.metadata.name, object: id });
    } catch (error) {
      if (!alreadyExists(error)) throw error;
      stored = (await this.options.client.read(object.apiVersion!, object.kind!, namespace, object.metadata!.name!)) as
        T | undefined;
      this.options.log('info', 'already created by another writer, kept', {
        frontend: owner.metadata.name,
        object: id,
      });
    }
    // A later read waits for the cache to see this version (no content hash: an apply is never skipped on it).
    if (stored?.metadata?.resourceVersion) {
      const records = this.applied.get(ownerKey(owner)) ?? new Map<string, AppliedRecord>();
      this.applied.set(ownerKey(owner), records);
      records.set(id, { hash: '', resourceVersion: stored.metadata.resourceVersion });
    }
    return stored;
  }

  /**
   * Applies `object` unless the last apply of exactly this content got back the resourceVersion
   * the cache holds now (for a kind that is not watched, the API server): then nobody has changed
   * it since, and the apply would change nothing. Any other writer (a user's edit, a controller's
   * status update) changes the resourceVersion, so drift is still put back on the next reconcile.
   * With no memo of this object (a restarted operator), the object's own annotation stands in for
   * it: the apply is skipped when the object says it was applied with exactly this content and
   * still holds every field of it that the cache keeps.
   */
  private async applyIfChanged(owner: Owner, object: k8s.KubernetesObject): Promise<k8s.KubernetesObject> {
    const namespace = owner.metadata.namespace!;
    const id = objectId(object);
    const hash = createHash('sha256')
      .update(JSON.stringify(object))
      .update(owner.metadata.uid ?? '')
      .digest('hex');
    const records = this.applied.get(ownerKey(owner)) ?? new Map<string, AppliedRecord>();
    this.applied.set(ownerKey(owner), records);
    const record = records.get(id);
    const kind = this.options.kinds.find((k) => k.kind === object.kind);
    const sent = withOwner(owner, withAnnotation(object, APPLIED_HASH_ANNOTATION, hash));
    const cached = kind?.optional
      ? // Not watched: read it (not write it) when this content may be there already.
        !record || record.hash === hash
        ? await this.options.client.read(object.apiVersion!, object.kind!, namespace, object.metadata!.name!)
        : undefined
      : this.options.cache?.get(object.kind!, namespace, object.metadata!.name!);
    if (record && cached && record.hash === hash && cached.metadata?.resourceVersion === record.resourceVersion)
      return cached;
    if (
      !record &&
      cached?.metadata?.annotations?.[APPLIED_HASH_ANNOTATION] === hash &&
      holds(cached, cachedPart(sent, kind))
    ) {
      records.set(id, { hash, resourceVersion: cached.metadata.resourceVersion ?? '' });
      return cached;
    }
    const applying = this.options.client.apply(sent);
    this.options.onApplying?.(object, applying);
    const result = await applying;
    const resourceVersion = result.metadata?.resourceVersion ?? '';
    records.set(id, { hash, resourceVersion });
    // A resourceVersion that did not move: the apply changed nothing (the memo was empty, or someone else wrote it).
    const changed = resourceVersion !== cached?.metadata?.resourceVersion;
    this.options.log('debug', 'applied', { frontend: owner.metadata.name, object: id, changed });
    this.options.onApplied?.(object, changed);
    return result;
  }

  /**
   * Deletes owned objects that are not in `keep` (a host removed, a pattern changed). Only the
   * operator creates objects it owns, so once a desired set has been pruned, nothing is left to
   * prune until the set changes; the first prune after a start always scans.
   */
  async prune(owner: Owner, keep: ReadonlySet<string>): Promise<void> {
    const keepKey = `${owner.metadata.uid} ${[...keep].sort().join(' ')}`;
    if (this.pruned.get(ownerKey(owner)) === keepKey) return;
    const namespace = owner.metadata.namespace!;
    for (const kind of this.options.kinds) {
      const items = this.options.cache?.watches(kind.kind, namespace)
        ? this.options.cache.list(kind.kind, namespace)
        : await this.options.client
            .list(apiVersionOf(kind), kind.kind, namespace, instanceSelector(owner.metadata.name))
            // A CRD that is not installed: nothing of its kind exists to prune.
            .catch((error: unknown) => {
              if (kind.optional && notFound(error)) return [];
              throw error;
            });
      const candidates = new Set(
        items
          .filter((o) => o.metadata?.ownerReferences?.some((r) => r.uid === owner.metadata.uid && r.controller))
          .map((o) => o.metadata!.name!),
      );
      // What this process applied counts too: the cache may not have seen it yet, and the prune
      // memo would otherwise skip it for good.
      for (const id of this.applied.get(ownerKey(owner))?.keys() ?? []) {
        if (id.startsWith(`${kind.kind}/`)) candidates.add(id.slice(kind.kind.length + 1));
      }
      for (const name of candidates) {
        if (keep.has(`${kind.kind}/${name}`)) continue;
        await this.options.client.delete(apiVersionOf(kind), kind.kind, namespace, name);
        this.applied.get(ownerKey(owner))?.delete(`${kind.kind}/${name}`);
        this.options.log('info', 'pruned', { frontend: owner.metadata.name, kind: kind.kind, name });
      }
    }
    this.pruned.set(ownerKey(owner), keepKey);
  }

  /** Drops the memos of an owner that is gone. */
  forget(namespace: string, name: string): void {
    this.applied.delete(`${namespace}/${name}`);
    this.pruned.delete(`${namespace}/${name}`);
  }
}

/** What of `object` the cache keeps, to compare with the cached copy: no kind and apiVersion (list items lack them), trimmed as the cache is. */
function cachedPart(object: k8s.KubernetesObject, kind: OwnedKind | undefined): object {
  const { apiVersion: _apiVersion, kind: _kind, ...content } = kind?.trim ? kind.trim(structuredClone(object)) : object;
  return content;
}

function withAnnotation<T extends k8s.KubernetesObject>(object: T, key: string, value: string): T {
  return {
    ...object,
    metadata: { ...object.metadata, annotations: { ...object.metadata?.annotations, [key]: value } },
  };
}

/**
 * Whether `live` holds every field `desired` sets, with the same value (what the API server adds,
 * defaults and other managers' fields may be there too). Lists must have the same length and hold
 * their items in order. Conservative: any difference means the apply is sent.
 */
export function holds(live: unknown, desired: unknown): boolean {
  if (desired === undefined) return true;
  if (Array.isArray(desired))
    return Array.isArray(live) && live.length === desired.length && desired.every((d, i) => holds(live[i], d));
  if (desired !== null && typeof desired === 'object') {
    if (live === null || typeof live !== 'object' || Array.isArray(live)) return false;
    const fields = live as Record<string, unknown>;
    return Object.entries(desired).every(([key, value]) => holds(fields[key], value));
  }
  return live === desired;
}

function withOwner<T extends k8s.KubernetesObject>(owner: Owner, object: T): T {
  return {
    ...object,
    metadata: {
      ...object.metadata,
      ownerReferences: [
        {
          apiVersion: owner.apiVersion,
          kind: owner.kind,
          name: owner.metadata.name,
          uid: owner.metadata.uid!,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
  };
}

/** The API server's own message for a refused request ("422 Service "x" is invalid: ..."), else the error's text. */
export function describeApiError(error: unknown): string {
  if (error instanceof k8s.ApiException) {
    try {
      const status = JSON.parse(error.body as string) as { message?: string };
      // An admission webhook's words may run to several lines: one bounded line of them.
      if (status.message) return `${error.code} ${oneLine(status.message, 1000)}`;
    } catch {
      // not a Status object
    }
    return `HTTP ${error.code}`;
  }
  return error instanceof Error ? error.message : String(error);
}
