#!/usr/bin/env node
// The `wso2-frontend` command: one binary, one subcommand per job.
import { runCrd, usage as crdUsage } from './crd.js';
import { runLocalCluster, usage as localClusterUsage } from './local-cluster.js';
import { runOperator, usage as operatorUsage } from './operator.js';
import { runPatchProductConfig, usage as patchProductConfigUsage } from './product-config.js';
import { runRender, usage as renderUsage, UsageError } from './render.js';
import { runStart, usage as startUsage } from './start.js';

type Subcommand = { run: (argv: string[]) => Promise<number>; usage: string };

const subcommands: Record<string, Subcommand> = {
  crd: { run: runCrd, usage: crdUsage },
  'local-cluster': { run: runLocalCluster, usage: localClusterUsage },
  operator: { run: runOperator, usage: operatorUsage },
  'patch-product-config': { run: runPatchProductConfig, usage: patchProductConfigUsage },
  render: { run: runRender, usage: renderUsage },
  start: { run: runStart, usage: startUsage },
};

function help(): string {
  return `Usage: wso2-frontend <command> [options]

Commands:
${Object.values(subcommands)
  .map((s) => `  ${s.usage.split('\n')[0]}`)
  .join('\n')}

Run 'wso2-frontend <command> --help' for a command's options.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name ? 0 : 2;
  }
  const subcommand = subcommands[name];
  if (!subcommand) {
    console.error(`wso2-frontend: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(subcommand.usage);
    return 0;
  }
  return subcommand.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`wso2-frontend: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);
