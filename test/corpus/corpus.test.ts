// The invalid-resource corpus (corpus.ts) against the real API server and the operator: every
// resource is refused by offline validation naming the field; `kubectl apply --server-side`
// of all of them at once stores none of those the schema or CEL can tell, each error naming the
// field; the rest are reported by the operator on the status (Accepted=False, Stalled) and as a
// Warning Event naming the field; and nothing owned is created for any of them. The values just
// inside each bound pass both validations.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { formatProblem } from '../../src/api/validate.js';
import { createOperator } from '../../src/controller/setup.js';
import type { Controller } from '../../src/controller/runtime/controller.js';
import { validateSpec } from '../../src/model/validate.js';
import { MANAGED_SELECTOR, OWNED_KINDS } from '../../src/render/ownership.js';
import {
  createNamespace,
  eventsWith,
  eventually,
  kubeConfig,
  kubectl,
  kubectlOutcome,
  type RecordedEvent,
} from '../support/cluster.js';
import { conditionOf, installCrd } from '../support/resources.js';
import { acceptedResources, invalidResources, type CorpusCase, type Spec } from './corpus.js';

const invalid = invalidResources();
const accepted = acceptedResources();
const byApiServer = invalid.filter((c) => c.by === 'api-server');
const byOperator = invalid.filter((c) => c.by === 'operator');
const nameOf = (c: CorpusCase) => `corpus-${invalid.indexOf(c)}`;

let namespace: string;
let controller: Controller<Wso2Frontend> | undefined;
const scratch = mkdtempSync(join(tmpdir(), 'corpus-'));

function resource(name: string, spec: Spec, annotations?: Record<string, string>) {
  return {
    apiVersion: 'wso2-frontend.dev/v1alpha1',
    kind: 'Wso2Frontend',
    metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
    spec,
  };
}

async function frontends(): Promise<Map<string, Wso2Frontend>> {
  const text = await kubectl(['get', 'wso2frontends', '-n', namespace, '-o', 'json']);
  const items = (JSON.parse(text) as { items: Wso2Frontend[] }).items;
  return new Map(items.map((f) => [f.metadata.name, f]));
}

beforeAll(async () => {
  await installCrd();
  namespace = await createNamespace('corpus');
  ({ controller } = createOperator({ kubeConfig: kubeConfig(), namespaces: [namespace], identity: 'corpus' }));
  await controller.start();
});

afterAll(async () => {
  await controller?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

test('the corpus has at least 150 invalid resources, each described once', () => {
  expect(invalid.length).toBeGreaterThanOrEqual(150);
  expect(new Set(invalid.map((c) => c.name)).size).toBe(invalid.length);
});

describe('offline validation (wso2-frontend render, the operator)', () => {
  test.each(invalid.map((c) => [c.name, c] as const))('refuses %s, naming the field', (_name, c) => {
    const result = validateSpec(c.spec);
    if (c.field.startsWith('metadata.')) {
      // Only the API server's limits on the object's metadata make it invalid.
      expect(result.ok).toBe(true);
      return;
    }
    const problems = result.ok ? [] : result.problems.map(formatProblem);
    expect(problems).toContainEqual(expect.stringMatching(new RegExp(`^${escape(c.field)}: `)));
  });

  test.each(accepted.map((c) => [c.name, c] as const))('accepts %s', (_name, c) => {
    const result = validateSpec(c.spec);
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([]);
  });
});

describe('kubectl apply --server-side of the whole corpus at once', () => {
  /** The API server's error for each refused resource, by name. */
  const errors = new Map<string, string>();
  let stored: Map<string, Wso2Frontend>;

  beforeAll(async () => {
    const items = invalid.map((c) => resource(nameOf(c), c.spec, c.annotations));
    const outcome = await kubectlOutcome(['apply', '--server-side', '-f', writeList(items)]);
    // `... "corpus-7" is invalid: <field>: ...` (validation), or `(<namespace>/corpus-7; ...): .<field>: ...`
    // (a value server-side apply cannot even type: an unknown field, a string for a number).
    for (const line of outcome.stderr.split('\n')) {
      const refused = /"(corpus-\d+)" is invalid: (.*)$/.exec(line) ?? /\/(corpus-\d+); [^)]*\): (.*)$/.exec(line);
      if (refused) errors.set(refused[1]!, refused[2]!);
    }
    stored = await frontends();
  });

  test.each(byApiServer.map((c) => [c.name, c] as const))('refuses %s, naming the field', (_name, c) => {
    expect(errors.get(nameOf(c))).toMatch(new RegExp(`(^|[ [.])${escape(c.serverField ?? c.field)}: `));
    expect(stored.has(nameOf(c))).toBe(false);
  });

  test.each(byOperator.map((c) => [c.name, c] as const))(
    'stores %s (only the presets can tell it is wrong)',
    (_name, c) => {
      expect(errors.get(nameOf(c))).toBeUndefined();
      expect(stored.has(nameOf(c))).toBe(true);
    },
  );

  test('accepts every value just inside a bound (server dry run)', async () => {
    const items = accepted.map((c, i) => resource(`accepted-${i}`, c.spec));
    const output = await kubectl(['apply', '--server-side', '--dry-run=server', '-f', writeList(items)]);
    expect(output.trim().split('\n')).toHaveLength(accepted.length);
    expect(output).not.toContain('invalid');
  });
});

describe('the operator, for what the API server stores', () => {
  let reported: Map<string, Wso2Frontend>;
  let warnings: RecordedEvent[];

  beforeAll(async () => {
    reported = await eventually('every stored corpus resource to be reported Accepted=False', async () => {
      const current = await frontends();
      const all = byOperator.every((c) => {
        const f = current.get(nameOf(c));
        return f && conditionOf(f, 'Accepted')?.status === 'False';
      });
      return all ? current : undefined;
    });
    warnings = await eventually('an InvalidSpec Event for each', async () => {
      const items = await eventsWith(namespace, 'InvalidSpec');
      const named = new Set(items.map((e) => e.regarding.name));
      return byOperator.every((c) => named.has(nameOf(c))) ? items : undefined;
    });
  });

  test.each(byOperator.map((c) => [c.name, c] as const))(
    'reports %s on the status and as a Warning Event, naming the field',
    (_name, c) => {
      const f = reported.get(nameOf(c))!;
      expect(conditionOf(f, 'Accepted')).toMatchObject({
        reason: 'InvalidSpec',
        message: expect.stringMatching(new RegExp(`(^|; |\\n)${escape(c.field)}: `)),
      });
      expect(conditionOf(f, 'Stalled')?.status).toBe('True');
      expect(conditionOf(f, 'Ready')?.status).toBe('False');
      const events = warnings.filter((e) => e.regarding.name === nameOf(c));
      expect(events).toContainEqual(
        expect.objectContaining({ type: 'Warning', note: expect.stringContaining(c.field) }),
      );
    },
  );

  test('creates nothing for any of them', async () => {
    // Kinds of another project's CRD (cert-manager's Certificate) are not served here: nothing of them can exist.
    const kinds = OWNED_KINDS.filter((k) => !k.optional)
      .map((k) => (k.group ? `${k.plural}.${k.group}` : k.plural))
      .join(',');
    const owned = await kubectl(['get', kinds, '-n', namespace, '-l', MANAGED_SELECTOR, '-o', 'name']);
    expect(owned.trim()).toBe('');
  });
});

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Many resources in one file of JSON documents: one kubectl run for the whole corpus (several MiB,
 * so not through a pipe). Not a List: kubectl checks a List against the OpenAPI schema itself and
 * sends nothing when one item is wrong, where separate documents each reach the API server.
 */
function writeList(items: object[]): string {
  const file = join(scratch, `resources-${items.length}.json`);
  writeFileSync(file, items.map((item) => JSON.stringify(item)).join('\n'));
  return file;
}
