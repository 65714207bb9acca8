// `wso2-frontend crd`: prints the Wso2Frontend CRD, as crds/ holds it.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { crdYaml } from '../render/crd.js';
import { withFieldReference } from '../render/reference.js';

export const usage = `wso2-frontend crd [--update-readme FILE]

Prints the Wso2Frontend CustomResourceDefinition as YAML (the file in crds/). With
--update-readme, rewrites the field reference in FILE instead.`;

export function runCrd(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { 'update-readme': { type: 'string' } }, strict: true });
  const readme = values['update-readme'];
  if (readme !== undefined) {
    writeFileSync(readme, withFieldReference(readFileSync(readme, 'utf8')));
    return 0;
  }
  process.stdout.write(crdYaml());
  return 0;
}
