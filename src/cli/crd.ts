// `wso2-frontend crd`: prints the Wso2Frontend CRD, as crds/ holds it.
import { parseArgs } from 'node:util';
import { crdYaml } from '../render/crd.js';

export const usage = `wso2-frontend crd

Prints the Wso2Frontend CustomResourceDefinition as YAML (the file in crds/).`;

export function runCrd(argv: string[]): number {
  parseArgs({ args: argv, options: {}, strict: true });
  process.stdout.write(crdYaml());
  return 0;
}
