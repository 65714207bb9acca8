// The CRD in crds/ is exactly what the code renders, the API server accepts it, and kubectl
// documents and lists the resource with it.
import { readFileSync } from 'node:fs';
import * as yaml from 'js-yaml';
import { crdYaml } from '../../src/render/crd.js';
import { renderCrd } from '../../src/render/crd.js';
import { createNamespace, kubectl } from '../support/cluster.js';
import { CRD_FILE, example, installCrd } from '../support/resources.js';

beforeAll(installCrd);

test('crds/ holds exactly the CRD rendered from the TypeBox schema and the rules (run npm run generate after changing them)', () => {
  expect(readFileSync(CRD_FILE, 'utf8')).toBe(crdYaml());
});

test('the CRD schema is structural: every enum has a type and no JSON-Schema-only keywords remain', () => {
  const text = JSON.stringify(renderCrd());
  for (const keyword of ['"anyOf"', '"patternProperties"', '"const"', '"additionalProperties":false']) {
    expect(text).not.toContain(keyword);
  }
});

test('kubectl explain documents the spec fields with their allowed values', async () => {
  const explained = await kubectl(['explain', 'wso2frontend.spec.sites.sessionAffinity']);
  expect(explained).toContain('enum: none, client-ip, cookie, nginx-plus-sticky');
  expect(explained).toMatch(/naming the node that\s+served the session last, the same in every replica/);
  const spec = await kubectl(['explain', 'wso2frontend.spec']);
  for (const field of ['product', 'version', 'pattern', 'sites', 'ports', 'backends', 'tls', 'backendTLS', 'nginx']) {
    expect(spec).toMatch(new RegExp(`^  ${field}\\t`, 'm'));
  }
});

test('the short name and category list resources with the product, pattern, ready, serving and URL columns', async () => {
  const namespace = await createNamespace('columns');
  const resource = example('apim-single.yaml');
  await kubectl(['apply', '-n', namespace, '-f', '-'], yaml.dump(resource));

  const byShortName = await kubectl(['get', 'w2fe', '-n', namespace]);
  expect(byShortName.split('\n')[0]).toMatch(/^NAME\s+PRODUCT\s+PATTERN\s+READY\s+SERVING\s+URLS\s+AGE$/);
  expect(byShortName).toMatch(/apim-single\s+api-manager\s+apim-single\s+/);
  const byCategory = await kubectl(['get', 'wso2', '-n', namespace, '-o', 'name']);
  expect(byCategory.trim()).toBe('wso2frontend.wso2-frontend.dev/apim-single');
});
