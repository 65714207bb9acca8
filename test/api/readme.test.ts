// The README's field reference is exactly what the schema says (npm run generate writes it).
import { readFileSync } from 'node:fs';
import { withFieldReference } from '../../src/render/reference.js';

test('the README field reference matches the schema (run npm run generate after changing the API)', () => {
  const readme = readFileSync('README.md', 'utf8');
  expect(readme).toBe(withFieldReference(readme));
});

test('the reference lists every spec field, including map and list entries', () => {
  const readme = readFileSync('README.md', 'utf8');
  for (const field of [
    'product',
    'sites.<name>.sessionAffinity.cookie.sameSite',
    'backends.external.nodes[].address',
    'backends.managed.components.<name>.replicas',
    'nginx.hsts.maxAgeSeconds',
  ]) {
    expect(readme).toContain(`| \`${field}\` |`);
  }
});
