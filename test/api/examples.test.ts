// Every example is a valid resource: the real API server accepts it and applies the same
// defaults as offline validation, and the model accepts it.
import * as yaml from 'js-yaml';
import { withDefaults } from '../../src/api/validate.js';
import { validateSpec } from '../../src/model/validate.js';
import { createNamespace, kubectl } from '../support/cluster.js';
import { examples, installCrd } from '../support/resources.js';

let namespace: string;

beforeAll(async () => {
  await installCrd();
  namespace = await createNamespace('examples');
});

test('there is an example for every pattern', async () => {
  const { PATTERNS } = await import('../../src/api/vocabulary.js');
  const covered = new Set(examples().map((e) => e.resource.spec.pattern));
  expect([...PATTERNS].filter((p) => !covered.has(p))).toEqual([]);
  expect(examples().length).toBeGreaterThanOrEqual(10);
});

test.each(examples().map((e) => [e.file, e.resource] as const))('%s passes semantic validation', (_file, resource) => {
  const result = validateSpec(resource.spec);
  expect(result.ok ? [] : result.problems).toEqual([]);
});

test.each(examples().map((e) => [e.file, e.resource] as const))(
  '%s is accepted by the API server, which applies the same defaults',
  async (_file, resource) => {
    await kubectl(['apply', '-n', namespace, '-f', '-'], yaml.dump(resource));
    const stored = JSON.parse(
      await kubectl(['get', 'wso2frontend', resource.metadata.name, '-n', namespace, '-o', 'json']),
    ) as { spec: unknown };
    expect(stored.spec).toEqual(withDefaults(resource.spec));
  },
);

test.each(examples().map((e) => [e.file] as const))(
  '%s names the WSO2 document or layout it reproduces in its opening comment, never our word seed',
  async (file) => {
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(`examples/${file}`, 'utf8');
    expect(text).toMatch(/^# (WSO2 (API-M|API-M 2\.x|IS|EI) "|API Manager 4\.x|Identity Server 7|Micro Integrator)/);
    expect(text).not.toMatch(/\bseeds?\b/i);
    const body = text.split('\n').filter((l) => !l.startsWith('#') && l.trim() !== '');
    expect(body.length).toBeLessThanOrEqual(22);
  },
);
