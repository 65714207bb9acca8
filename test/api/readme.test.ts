// The README's resource reference lists every field of the schema, so it cannot fall behind it.
import { readFileSync } from 'node:fs';
import { renderCrd } from '../../src/render/crd.js';

type Schema = { properties?: Record<string, Schema>; additionalProperties?: Schema; items?: Schema; type?: string };

function leafPaths(schema: Schema, path: string): string[] {
  if (schema.properties) return Object.entries(schema.properties).flatMap(([k, v]) => leafPaths(v, `${path}.${k}`));
  if (schema.additionalProperties?.properties) return leafPaths(schema.additionalProperties, `${path}.<name>`);
  if (schema.type === 'array' && schema.items?.properties) return leafPaths(schema.items, `${path}[]`);
  return [path.slice(1)];
}

test('every spec field is in the README reference table', () => {
  const spec = renderCrd().spec.versions[0]!.schema.openAPIV3Schema.properties.spec as Schema;
  const readme = readFileSync('README.md', 'utf8');
  const missing = leafPaths(spec, '').filter((field) => !readme.includes(`| \`${field}\` |`));
  expect(missing).toEqual([]);
});
