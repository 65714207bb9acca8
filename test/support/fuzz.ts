// Seeded fuzzing of validate -> topology -> render. Valid specs from spec-generator.ts are
// mutated (hostile and huge strings, out-of-range and non-finite numbers, wrong types, missing,
// extra and prototype-named keys, other enum values, repeated list items) and sent through the
// pipeline the operator and `wso2-frontend render` run. Anything thrown is a finding: bad input
// must come back as validation problems. Jazzer.js was tried first: @jazzer.js/core 4.0.0
// installs, but its prebuilt libFuzzer addon needs glibc 2.38 (Debian bookworm has 2.36).
import type { Wso2Frontend } from '../../src/api/schema.js';
import { AFFINITY_MODES, HTTP_MODES, PATTERNS, PRODUCTS, ROLES } from '../../src/api/vocabulary.js';
import { buildTopology, type Topology } from '../../src/model/topology.js';
import { validateSpec } from '../../src/model/validate.js';
import { renderCrd } from '../../src/render/crd.js';
import { containerLayout, renderNginx } from '../../src/render/nginx/config.js';
import { desiredObjects } from '../../src/render/objects.js';
import { generator, random } from './spec-generator.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
type Random = () => number;

const HOSTILE = [
  ';',
  '{',
  '}',
  '$host',
  '"',
  "'",
  '\\',
  '\n',
  '\r\n',
  '\0',
  '\t',
  '#',
  ' ',
  '\u202e',
  '\u200b',
  '\ufeff',
  '\u0430',
  '*',
  '..',
  '%00',
  '${jndi:ldap://x}',
  '../../etc/passwd',
  '\ud800',
  '😀',
];
const NUMBERS = [0, -1, 1, 2, 63, 64, 65535, 65536, 2 ** 31, 2 ** 53, -0, 0.5, 1e308, NaN, Infinity, -Infinity];
const SPECIAL_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', ''];
const VOCABULARY = [
  ...PRODUCTS,
  ...PATTERNS,
  ...ROLES,
  ...AFFINITY_MODES,
  ...HTTP_MODES,
  'self-signed',
  'secret',
  'community',
  'plus',
  'ClusterIP',
  'NodePort',
  'LoadBalancer',
  'Strict',
  'Lax',
  'None',
  '16k',
  '1k',
  '1m',
  '0',
  '5m',
  '60s',
  '1ms',
  'localhost',
  '127.0.0.1',
  '::1',
  '*.example.com',
  'api.example.com',
  'node-0',
  'node-1',
  '4.5.0',
  '3.2.0',
  '/',
  'ROUTE',
  '500m',
  '2Gi',
];

/** Every property name of the spec's schema: the keys an added field is drawn from. */
function schemaKeys(): string[] {
  const keys = new Set<string>();
  const walk = (schema: unknown) => {
    if (typeof schema !== 'object' || schema === null) return;
    for (const [key, value] of Object.entries(schema)) {
      if (key === 'properties') for (const name of Object.keys(value as object)) keys.add(name);
      walk(value);
    }
  };
  walk(renderCrd().spec.versions[0]!.schema.openAPIV3Schema.properties.spec);
  return [...keys];
}

type Path = (string | number)[];

function paths(value: Json, prefix: Path = []): Path[] {
  const here = [prefix];
  if (Array.isArray(value)) return [...here, ...value.flatMap((item, i) => paths(item, [...prefix, i]))];
  if (value !== null && typeof value === 'object')
    return [...here, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...prefix, k]))];
  return here;
}

function get(root: Json, path: Path): Json {
  return path.reduce<Json>((node, key) => (node as Record<string | number, Json>)[key]!, root);
}

/** Mutates specs; every choice comes from `rand`, so a seed replays the same inputs. */
export function mutator(rand: Random): (spec: JsonObject) => Json {
  const keys = schemaKeys();
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;

  const scalar = (): Json =>
    pick<() => Json>([
      () => pick(HOSTILE),
      () => `ok${pick(HOSTILE)}x`,
      () => pick(NUMBERS),
      () => pick(VOCABULARY),
      () => pick(VOCABULARY),
      () => rand() < 0.5,
      () => null,
      () => 'x'.repeat(pick([63, 64, 253, 254, 4096, 70_000])),
      () => String(pick(NUMBERS)),
    ])();

  const replace = (root: Json, path: Path, value: Json | undefined): Json => {
    if (path.length === 0) return value ?? null;
    const parent = get(root, path.slice(0, -1)) as Record<string | number, Json> & Json[];
    const key = path[path.length - 1]!;
    if (value !== undefined) parent[key] = value;
    else if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
    return root;
  };

  const mutateOnce = (root: Json): Json => {
    const path = pick(paths(root));
    const node = get(root, path);
    switch (int(9)) {
      case 0:
        return replace(root, path, scalar());
      case 1:
        if (typeof node === 'string') {
          const at = int(node.length + 1);
          return replace(root, path, `${node.slice(0, at)}${pick(HOSTILE)}${node.slice(at)}`);
        }
        return replace(root, path, scalar());
      case 2:
        return path.length ? replace(root, path, undefined) : root;
      case 3:
        if (node !== null && typeof node === 'object' && !Array.isArray(node)) {
          // defineProperty: `node[key] = v` with key __proto__ would set the prototype, not a key (JSON.parse makes a key).
          Object.defineProperty(node, rand() < 0.8 ? pick(keys) : pick(SPECIAL_KEYS), {
            value: rand() < 0.5 ? scalar() : {},
            enumerable: true,
            writable: true,
            configurable: true,
          });
          return root;
        }
        return replace(root, path, scalar());
      case 4:
        if (Array.isArray(node) && node.length) {
          const copies = rand() < 0.9 ? 1 : 70;
          for (let i = 0; i < copies; i++) node.push(structuredClone(node[int(node.length)]!));
          return root;
        }
        return replace(root, path, [structuredClone(node)]);
      case 5:
        return replace(root, path, rand() < 0.5 ? {} : []);
      case 6:
        return replace(root, path, typeof node === 'number' ? String(node) : Number(node));
      case 7:
        return replace(root, path, pick(VOCABULARY));
      default:
        return replace(root, path, pick(NUMBERS));
    }
  };

  return (spec) => {
    let root: Json = structuredClone(spec);
    const mutations = 1 + int(3);
    for (let i = 0; i < mutations; i++) root = mutateOnce(root);
    return root;
  };
}

export type Outcome =
  | { kind: 'rejected'; problems: number }
  | { kind: 'accepted'; topology: Topology; files: Record<string, string> }
  | { kind: 'finding'; stage: string; error: string };

const frontendOf = (spec: unknown): Wso2Frontend => ({
  apiVersion: 'wso2-frontend.dev/v1alpha1',
  kind: 'Wso2Frontend',
  metadata: { name: 'fuzz', namespace: 'fuzz' },
  spec: spec as Wso2Frontend['spec'],
});

/** One spec through the pipeline; `checkDeterminism` renders twice and compares. */
export function runPipeline(spec: unknown, checkDeterminism = false): Outcome {
  let stage = 'validate';
  try {
    const result = validateSpec(spec);
    if (!result.ok) {
      const unnamed = result.problems.filter((p) => !p.path.startsWith('spec') || p.message.trim() === '');
      if (result.problems.length === 0 || unnamed.length)
        return {
          kind: 'finding',
          stage,
          error: `problems without a field or message: ${JSON.stringify(result.problems)}`,
        };
      return { kind: 'rejected', problems: result.problems.length };
    }
    stage = 'topology';
    const topology = buildTopology(result.spec);
    stage = 'render';
    const files = renderNginx(topology, containerLayout(topology));
    desiredObjects(frontendOf(result.spec), topology);
    if (checkDeterminism) {
      const again = renderNginx(buildTopology(result.spec), containerLayout(topology));
      if (JSON.stringify(again) !== JSON.stringify(files))
        return { kind: 'finding', stage, error: 'the same spec rendered two different configurations' };
    }
    return { kind: 'accepted', topology, files };
  } catch (error) {
    return { kind: 'finding', stage, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
}

export interface FuzzReport {
  specs: number;
  accepted: number;
  /** Accepted after a mutation (the rest are generated valid specs sent unchanged). */
  acceptedMutated: number;
  rejected: number;
  findings: { index: number; stage: string; error: string; spec: string }[];
}

export interface AcceptedSpec {
  index: number;
  mutated: boolean;
  topology: Topology;
}

/**
 * A seeded uniform sample of `size` accepted specs, the mutated ones first (they are the ones a
 * generator of valid specs would never produce), for `nginx -t`.
 */
export class AcceptedSample {
  private readonly rand: Random;
  private readonly mutated: AcceptedSpec[] = [];
  private readonly unmutated: AcceptedSpec[] = [];
  private seen = { mutated: 0, unmutated: 0 };

  constructor(
    private readonly size: number,
    seed: number,
  ) {
    this.rand = random(seed);
  }

  add(spec: AcceptedSpec): void {
    const kind = spec.mutated ? 'mutated' : 'unmutated';
    const reservoir = this[kind];
    const seen = ++this.seen[kind];
    if (reservoir.length < this.size) reservoir.push(spec);
    else {
      const slot = Math.floor(this.rand() * seen);
      if (slot < this.size) reservoir[slot] = spec;
    }
  }

  specs(): AcceptedSpec[] {
    return [...this.mutated, ...this.unmutated].slice(0, this.size);
  }
}

/**
 * Runs `count` specs from `seed` through the pipeline, adding the accepted ones to `sample`. Two
 * thirds are mutated; a third are generated valid specs sent unchanged, so that every pattern
 * also reaches render without a mutation in the way.
 */
export function fuzz(seed: number, count: number, sample?: AcceptedSample): FuzzReport {
  const rand = random(seed);
  const valid = generator(rand);
  const mutate = mutator(rand);
  const report: FuzzReport = { specs: 0, accepted: 0, acceptedMutated: 0, rejected: 0, findings: [] };
  for (let index = 0; index < count; index++) {
    const base = valid() as JsonObject;
    const mutated = rand() >= 1 / 3;
    const spec = mutated ? mutate(base) : base;
    const outcome = runPipeline(spec, index % 10 === 0);
    report.specs++;
    if (outcome.kind === 'rejected') report.rejected++;
    else if (outcome.kind === 'accepted') {
      report.accepted++;
      if (mutated) report.acceptedMutated++;
      sample?.add({ index, mutated, topology: outcome.topology });
    } else report.findings.push({ index, stage: outcome.stage, error: outcome.error, spec: JSON.stringify(spec) });
  }
  return report;
}
