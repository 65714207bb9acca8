// `wso2-frontend crd`: prints the Wso2Frontend CRD, as crds/ holds it.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { crdYaml } from '../render/crd.js';
import { withFieldReference } from '../render/reference.js';

export const usage = `wso2-frontend crd [--update-reference FILE]

Prints the Wso2Frontend CustomResourceDefinition as YAML (the file in crds/). With
--update-reference, rewrites the field reference in FILE (docs/reference.md) instead.`;

export function runCrd(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { 'update-reference': { type: 'string' } }, strict: true });
  const file = values['update-reference'];
  if (file !== undefined) {
    writeFileSync(file, withFieldReference(readFileSync(file, 'utf8')));
    return 0;
  }
  process.stdout.write(crdYaml());
  return 0;
}
