// The applier's rules, on a recording client and a cache the test controls (no API server):
// an apply that would change nothing is skipped, anyone else's write is put back, pruning
// deletes only what the owner no longer wants, and reads never decide on the cache's stale copy
// of the applier's own write.
import * as k8s from '@kubernetes/client-node';
import { Applier, holds, type ClusterClient, type Owner, type WatchedCache } from '../../src/controller/applier.js';
import { APPLIED_HASH_ANNOTATION, OWNED_KINDS } from '../../src/render/ownership.js';

const owner: Owner = {
  apiVersion: 'wso2-frontend.dev/v1alpha1',
  kind: 'Wso2Frontend',
  metadata: { name: 'shop', namespace: 'team', uid: 'uid-1' },
};
const ownerRef = { apiVersion: owner.apiVersion, kind: owner.kind, name: 'shop', uid: 'uid-1', controller: true };

const configMap = (name: string, data: Record<string, string> = { a: '1' }): k8s.V1ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'team' },
  data,
});

/** An API server in memory: every apply bumps a resourceVersion; the cache sees a write only when told to sync. */
class FakeCluster implements ClusterClient {
  readonly requests: string[] = [];
  readonly stored = new Map<string, k8s.KubernetesObject>();
  private readonly cachedObjects = new Map<string, k8s.KubernetesObject>();
  private version = 0;
  refuse?: { kind: string; error: Error };

  apply<T extends k8s.KubernetesObject>(object: T): Promise<T> {
    this.requests.push(`apply ${object.kind}/${object.metadata!.name}`);
    const refuse = this.refuse;
    if (refuse && refuse.kind === object.kind) return Promise.reject(refuse.error);
    const stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(++this.version) } };
    this.stored.set(`${object.kind}/${object.metadata!.name}`, stored);
    return Promise.resolve(stored);
  }
  create<T extends k8s.KubernetesObject>(object: T): Promise<T> {
    this.requests.push(`create ${object.kind}/${object.metadata!.name}`);
    if (this.stored.has(`${object.kind}/${object.metadata!.name}`))
      return Promise.reject(new k8s.ApiException(409, 'AlreadyExists', '{"reason":"AlreadyExists"}', {}));
    return this.apply(object);
  }
  read(_apiVersion: string, kind: string, _namespace: string, name: string) {
    this.requests.push(`read ${kind}/${name}`);
    return Promise.resolve(this.stored.get(`${kind}/${name}`));
  }
  list(_apiVersion: string, kind: string) {
    this.requests.push(`list ${kind}`);
    return Promise.resolve([...this.stored.values()].filter((o) => o.kind === kind));
  }
  delete(_apiVersion: string, kind: string, _namespace: string, name: string) {
    this.requests.push(`delete ${kind}/${name}`);
    this.stored.delete(`${kind}/${name}`);
    return Promise.resolve();
  }

  /** Someone else writes the object (a user's kubectl edit). */
  editByOthers(id: string): void {
    const object = this.stored.get(id)!;
    this.stored.set(id, { ...object, metadata: { ...object.metadata, resourceVersion: String(++this.version) } });
  }
  /** The informers catch up with the API server (and trim what they cache, as the controller's do). */
  sync(): void {
    this.cachedObjects.clear();
    for (const [id, object] of this.stored) {
      const trim = OWNED_KINDS.find((k) => k.kind === object.kind)?.trim;
      this.cachedObjects.set(id, trim ? trim(structuredClone(object)) : object);
    }
  }
  /** The informer caches, as the controller offers them. */
  readonly cache: WatchedCache = {
    get: <T extends k8s.KubernetesObject>(kind: string, _namespace: string, name: string) =>
      this.cachedObjects.get(`${kind}/${name}`) as T | undefined,
    list: <T extends k8s.KubernetesObject>(kind: string) =>
      [...this.cachedObjects.values()].filter((o) => o.kind === kind) as T[],
    watches: () => true,
  };
}

function setUp() {
  const cluster = new FakeCluster();
  const pruned: string[] = [];
  const debug: Record<string, unknown>[] = [];
  const applier = new Applier({
    client: cluster,
    cache: cluster.cache,
    kinds: OWNED_KINDS,
    log: (level, message, fields) =>
      level === 'debug'
        ? debug.push({ message, ...fields })
        : pruned.push(`${message} ${String(fields.kind)}/${String(fields.name)}`),
  });
  return { cluster, applier, pruned, debug };
}

describe('createOnce', () => {
  test('creates what does not exist, with a controller owner reference', async () => {
    const { cluster, applier } = setUp();
    const created = await applier.createOnce(owner, configMap('shop-ca', { a: 'mine' }));
    expect(created?.metadata?.ownerReferences).toEqual([{ ...ownerRef, blockOwnerDeletion: true }]);
    expect(cluster.requests).toEqual(['create ConfigMap/shop-ca', 'apply ConfigMap/shop-ca']);
  });

  test('what another writer created first (409) is returned as stored, never overwritten', async () => {
    const { cluster, applier } = setUp();
    await cluster.apply(configMap('shop-ca', { a: 'theirs' }));
    const kept = (await applier.createOnce(owner, configMap('shop-ca', { a: 'mine' }))) as k8s.V1ConfigMap;
    expect(kept.data).toEqual({ a: 'theirs' });
    expect((cluster.stored.get('ConfigMap/shop-ca') as k8s.V1ConfigMap).data).toEqual({ a: 'theirs' });
    expect(cluster.requests).toEqual(['apply ConfigMap/shop-ca', 'create ConfigMap/shop-ca', 'read ConfigMap/shop-ca']);
  });
});

describe('apply', () => {
  test('applies with a controller owner reference and returns what the server holds', async () => {
    const { cluster, applier } = setUp();
    const result = await applier.apply(owner, [configMap('shop-nginx')]);
    expect(result.refused).toBeUndefined();
    expect(result.applied.get('ConfigMap/shop-nginx')?.metadata?.resourceVersion).toBe('1');
    expect(cluster.stored.get('ConfigMap/shop-nginx')?.metadata?.ownerReferences).toEqual([
      { ...ownerRef, blockOwnerDeletion: true },
    ]);
  });

  test('the same content again, with the cache at the version it got back, sends nothing', async () => {
    const { cluster, applier } = setUp();
    await applier.apply(owner, [configMap('shop-nginx')]);
    cluster.sync();
    const result = await applier.apply(owner, [configMap('shop-nginx')]);
    expect(cluster.requests).toEqual(['apply ConfigMap/shop-nginx']);
    expect(result.applied.get('ConfigMap/shop-nginx')?.metadata?.resourceVersion).toBe('1');
  });

  test('the same content is applied again while the cache has not seen the last apply', async () => {
    const { cluster, applier } = setUp();
    await applier.apply(owner, [configMap('shop-nginx')]);
    await applier.apply(owner, [configMap('shop-nginx')]);
    expect(cluster.requests).toEqual(['apply ConfigMap/shop-nginx', 'apply ConfigMap/shop-nginx']);
  });

  test('changed content is applied', async () => {
    const { cluster, applier } = setUp();
    await applier.apply(owner, [configMap('shop-nginx')]);
    cluster.sync();
    await applier.apply(owner, [configMap('shop-nginx', { a: '2' })]);
    expect(cluster.requests).toEqual(['apply ConfigMap/shop-nginx', 'apply ConfigMap/shop-nginx']);
  });

  test("someone else's write is put back: the cached version differs from the one the apply got", async () => {
    const { cluster, applier } = setUp();
    await applier.apply(owner, [configMap('shop-nginx')]);
    cluster.editByOthers('ConfigMap/shop-nginx');
    cluster.sync();
    await applier.apply(owner, [configMap('shop-nginx')]);
    expect(cluster.requests).toEqual(['apply ConfigMap/shop-nginx', 'apply ConfigMap/shop-nginx']);
  });

  test('a new owner with the same name (another uid) gets its objects applied', async () => {
    const { cluster, applier } = setUp();
    await applier.apply(owner, [configMap('shop-nginx')]);
    cluster.sync();
    await applier.apply({ ...owner, metadata: { ...owner.metadata, uid: 'uid-2' } }, [configMap('shop-nginx')]);
    expect(cluster.requests).toHaveLength(2);
  });

  test('a refused write stops the apply there and names the object and the reason', async () => {
    const { cluster, applier } = setUp();
    cluster.refuse = { kind: 'Service', error: new Error('provided port is already allocated') };
    const service: k8s.V1Service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'shop-nginx' } };
    const result = await applier.apply(owner, [configMap('shop-nginx'), service, configMap('after')]);
    expect([...result.applied.keys()]).toEqual(['ConfigMap/shop-nginx']);
    expect(result.refused).toMatchObject({
      id: 'Service/shop-nginx',
      message: 'Service shop-nginx: provided port is already allocated',
    });
    expect(cluster.requests).toEqual(['apply ConfigMap/shop-nginx', 'apply Service/shop-nginx']);
    expect(result.refused?.permanent).toBe(false);
  });

  test('a 422 from the API server (the object is invalid) is a permanent refusal; a 409 is not', async () => {
    const service: k8s.V1Service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'shop-nginx' } };
    for (const [code, permanent] of [
      [422, true],
      [400, true],
      [409, false],
      [403, false],
    ] as const) {
      const { cluster, applier } = setUp();
      cluster.refuse = { kind: 'Service', error: new k8s.ApiException(code, 'refused', '{}', {}) };
      expect((await applier.apply(owner, [service])).refused?.permanent).toBe(permanent);
    }
  });
});

describe('apply by a restarted operator (a new applier, no memo)', () => {
  /** The cluster as the last process left it: the object applied and seen by the cache. */
  async function settled(data: Record<string, string> = { a: '1' }) {
    const { cluster, applier } = setUp();
    await applier.apply(owner, [configMap('shop-nginx', data)]);
    cluster.sync();
    const restarted = new Applier({ client: cluster, cache: cluster.cache, kinds: OWNED_KINDS, log: () => undefined });
    cluster.requests.length = 0;
    return { cluster, restarted };
  }

  test('every applied object says which content it was applied with', async () => {
    const { cluster } = await settled();
    expect(cluster.stored.get('ConfigMap/shop-nginx')?.metadata?.annotations?.[APPLIED_HASH_ANNOTATION]).toMatch(
      /^[0-9a-f]{64}$/,
    );
  });

  test('an object that says it holds this content and does sends nothing, then or on the next reconcile', async () => {
    const { cluster, restarted } = await settled();
    const result = await restarted.apply(owner, [configMap('shop-nginx')]);
    await restarted.apply(owner, [configMap('shop-nginx')]);
    expect(cluster.requests).toEqual([]);
    expect(result.applied.get('ConfigMap/shop-nginx')?.metadata?.resourceVersion).toBe('1');
  });

  test('other content is applied', async () => {
    const { cluster, restarted } = await settled();
    await restarted.apply(owner, [configMap('shop-nginx', { a: '2' })]);
    expect(cluster.requests).toEqual(['apply ConfigMap/shop-nginx']);
  });

  test('an object edited while no operator ran (a value changed or removed, the annotation kept) is put back', async () => {
    for (const data of [{ a: 'edited' }, {}] as Record<string, string>[]) {
      const { cluster, restarted } = await settled({ a: '1', b: '2' });
      const stored = cluster.stored.get('ConfigMap/shop-nginx') as k8s.V1ConfigMap;
      const edited: k8s.V1ConfigMap = { ...stored, data: { ...data, b: '2' } };
      cluster.stored.set('ConfigMap/shop-nginx', edited);
      cluster.sync();
      await restarted.apply(owner, [configMap('shop-nginx', { a: '1', b: '2' })]);
      expect(cluster.requests).toEqual(['apply ConfigMap/shop-nginx']);
    }
  });
});

test('holds: every field of the desired object with the same value; extra fields, defaults and other owners are fine', () => {
  const desired = { spec: { ports: [{ port: 443 }], selector: { a: '1' } } };
  expect(
    holds({ spec: { ports: [{ port: 443, protocol: 'TCP' }], selector: { a: '1' }, clusterIP: 'x' } }, desired),
  ).toBe(true);
  expect(holds({ spec: { ports: [{ port: 8443 }], selector: { a: '1' } } }, desired)).toBe(false);
  expect(holds({ spec: { ports: [{ port: 443 }, { port: 80 }], selector: { a: '1' } } }, desired)).toBe(false);
  expect(holds({ spec: { ports: [{ port: 443 }] } }, desired)).toBe(false);
  expect(holds({ spec: { ports: { port: 443 }, selector: { a: '1' } } }, desired)).toBe(false);
});

test('each apply sent is logged at debug level, saying whether it changed the object; a skipped one is not', async () => {
  const { cluster, applier, debug } = setUp();
  await applier.apply(owner, [configMap('shop-nginx')]);
  cluster.sync();
  await applier.apply(owner, [configMap('shop-nginx')]);
  expect(debug).toEqual([
    { message: 'applied', frontend: owner.metadata.name, object: 'ConfigMap/shop-nginx', changed: true },
  ]);
});

describe('prune', () => {
  test('deletes owned objects no longer wanted, spares the kept ones and objects of other owners', async () => {
    const { cluster, applier, pruned } = setUp();
    await applier.apply(owner, [configMap('keep'), configMap('old')]);
    cluster.stored.set('ConfigMap/foreign', {
      ...configMap('foreign'),
      metadata: { name: 'foreign', ownerReferences: [{ ...ownerRef, uid: 'other' }] },
    });
    cluster.sync();
    await applier.prune(owner, new Set(['ConfigMap/keep']));
    expect(cluster.requests.filter((r) => r.startsWith('delete'))).toEqual(['delete ConfigMap/old']);
    expect(pruned).toEqual(['pruned ConfigMap/old']);
    expect([...cluster.stored.keys()].sort()).toEqual(['ConfigMap/foreign', 'ConfigMap/keep']);
  });

  test('also deletes what it applied before the cache saw it', async () => {
    const { cluster, applier } = setUp();
    await applier.apply(owner, [configMap('keep'), configMap('unseen')]);
    await applier.prune(owner, new Set(['ConfigMap/keep']));
    expect(cluster.requests).toContain('delete ConfigMap/unseen');
  });

  test('the same kept set is not scanned twice; a changed one is', async () => {
    const { cluster, applier } = setUp();
    await applier.apply(owner, [configMap('a'), configMap('b')]);
    cluster.sync();
    await applier.prune(owner, new Set(['ConfigMap/a', 'ConfigMap/b']));
    cluster.stored.set('ConfigMap/c', { ...configMap('c'), metadata: { name: 'c', ownerReferences: [ownerRef] } });
    cluster.sync();
    await applier.prune(owner, new Set(['ConfigMap/a', 'ConfigMap/b']));
    expect(cluster.requests.filter((r) => r.startsWith('delete'))).toEqual([]);
    await applier.prune(owner, new Set(['ConfigMap/a']));
    expect(cluster.requests.filter((r) => r.startsWith('delete')).sort()).toEqual([
      'delete ConfigMap/b',
      'delete ConfigMap/c',
    ]);
  });

  test('after forget() (the owner is gone) the next prune scans again', async () => {
    const { cluster, applier } = setUp();
    await applier.apply(owner, [configMap('a')]);
    cluster.sync();
    await applier.prune(owner, new Set(['ConfigMap/a']));
    cluster.stored.set('ConfigMap/b', { ...configMap('b'), metadata: { name: 'b', ownerReferences: [ownerRef] } });
    cluster.sync();
    applier.forget('team', 'shop');
    await applier.prune(owner, new Set(['ConfigMap/a']));
    expect(cluster.requests).toContain('delete ConfigMap/b');
  });
});

describe('read', () => {
  const secret = (name: string): k8s.V1Secret => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name },
    data: { x: 'eA==' },
  });

  test('from the cache when it holds the object', async () => {
    const { cluster, applier } = setUp();
    cluster.stored.set('Secret/s', { ...secret('s'), metadata: { name: 's', resourceVersion: '7' } });
    cluster.sync();
    expect(await applier.read(owner, 'v1', 'Secret', 's')).toMatchObject({
      fresh: false,
      object: { metadata: { name: 's' } },
    });
    expect(cluster.requests).toEqual([]);
  });

  test('from the API server when the cache does not hold it, or when asked for a fresh copy', async () => {
    const { cluster, applier } = setUp();
    expect(await applier.read(owner, 'v1', 'Secret', 'missing')).toEqual({ object: undefined, fresh: true });
    cluster.stored.set('Secret/s', secret('s'));
    cluster.sync();
    expect((await applier.read(owner, 'v1', 'Secret', 's', true)).fresh).toBe(true);
    expect(cluster.requests).toEqual(['read Secret/missing', 'read Secret/s']);
  });

  test("from the API server while the cache has not seen the applier's own last write", async () => {
    const { cluster, applier } = setUp();
    await applier.apply(owner, [secret('s')]);
    cluster.sync();
    const changed: k8s.V1Secret = { ...secret('s'), data: { x: 'eQ==' } };
    await applier.apply(owner, [changed]);
    const read = await applier.read<k8s.V1Secret>(owner, 'v1', 'Secret', 's');
    expect(read.fresh).toBe(true);
    expect(read.object?.data).toEqual({ x: 'eQ==' });
    cluster.sync();
    expect((await applier.read(owner, 'v1', 'Secret', 's')).fresh).toBe(false);
  });
});
