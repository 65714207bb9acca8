#!/usr/bin/env node
// The `wso2-frontend` command: one binary, one subcommand per job. A subcommand's module is
// loaded only when it runs, so the agent in every NGINX pod never loads the operator, the
// renderer or the certificate code.
import { UsageError } from './usage-error.js';

type Subcommand = { run: (argv: string[]) => Promise<number>; usage: string };

const subcommands: Record<string, () => Promise<Subcommand>> = {
  agent: async () => {
    const m = await import('./agent.js');
    return { run: m.runAgent, usage: m.usage };
  },
  crd: async () => {
    const m = await import('./crd.js');
    return { run: m.runCrd, usage: m.usage };
  },
  'local-cluster': async () => {
    const m = await import('./local-cluster.js');
    return { run: m.runLocalCluster, usage: m.usage };
  },
  operator: async () => {
    const m = await import('./operator.js');
    return { run: m.runOperator, usage: m.usage };
  },
  'patch-product-config': async () => {
    const m = await import('./product-config.js');
    return { run: m.runPatchProductConfig, usage: m.usage };
  },
  render: async () => {
    const m = await import('./render.js');
    return { run: m.runRender, usage: m.usage };
  },
  start: async () => {
    const m = await import('./start.js');
    return { run: m.runStart, usage: m.usage };
  },
};

async function help(): Promise<string> {
  const loaded = await Promise.all(Object.values(subcommands).map((load) => load()));
  return `Usage: wso2-frontend <command> [options]

Commands:
${loaded.map((s) => `  ${s.usage.split('\n')[0]}`).join('\n')}

Run 'wso2-frontend <command> --help' for a command's options.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await help());
    return name ? 0 : 2;
  }
  const load = subcommands[name];
  if (!load) {
    console.error(`wso2-frontend: unknown command '${name}'\n\n${await help()}`);
    return 2;
  }
  const subcommand = await load();
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
