// docs/reference.md's field reference is exactly what the schema says (npm run generate writes it).
import { readFileSync } from 'node:fs';
import { withFieldReference } from '../../src/render/reference.js';

test('the field reference in docs/reference.md matches the schema (run npm run generate after changing the API)', () => {
  const doc = readFileSync('docs/reference.md', 'utf8');
  expect(doc).toBe(withFieldReference(doc));
});

test('the reference lists every spec field, including map and list entries', () => {
  const doc = readFileSync('docs/reference.md', 'utf8');
  for (const field of [
    'product',
    'sites.<name>.sessionAffinity.cookie.sameSite',
    'backends.external.nodes[].address',
    'backends.managed.components.<name>.replicas',
    'nginx.hsts.maxAgeSeconds',
  ]) {
    expect(doc).toContain(`| \`${field}\` |`);
  }
});
