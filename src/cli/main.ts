#!/usr/bin/env node
// The `wso2-frontend` command: one binary, one subcommand per job. A subcommand's module is
// loaded only when it runs, so the agent in every NGINX pod never loads the operator, the
// renderer or the certificate code, and `operator` never loads the development tools (`start`,
// `local-cluster`).
import { printable } from '../api/text.js';
import { UsageError } from './usage-error.js';

interface Subcommand {
  summary: string;
  /** Development tools: not in the product image, which leaves out `dist/localcluster`. */
  development?: boolean;
  load: () => Promise<{ run: (argv: string[]) => number | Promise<number>; usage: string }>;
}

const subcommands: Record<string, Subcommand> = {
  agent: {
    summary: 'serve each new NGINX configuration in place (runs in every NGINX pod)',
    load: async () => {
      const { runAgent, usage } = await import('./agent.js');
      return { run: runAgent, usage };
    },
  },
  crd: {
    summary: 'print the CustomResourceDefinition',
    load: async () => {
      const { runCrd, usage } = await import('./crd.js');
      return { run: runCrd, usage };
    },
  },
  'local-cluster': {
    summary: 'run a local control plane on loopback (development)',
    development: true,
    load: async () => {
      const { runLocalCluster, usage } = await import('./local-cluster.js');
      return { run: runLocalCluster, usage };
    },
  },
  operator: {
    summary: 'reconcile Wso2Frontends',
    load: async () => {
      const { runOperator, usage } = await import('./operator.js');
      return { run: runOperator, usage };
    },
  },
  'patch-product-config': {
    summary: "patch a WSO2 node's configuration files (the init container's job)",
    load: async () => {
      const { runPatchProductConfig, usage } = await import('./product-config.js');
      return { run: runPatchProductConfig, usage };
    },
  },
  render: {
    summary: 'render a Wso2Frontend offline',
    load: async () => {
      const { runRender, usage } = await import('./render.js');
      return { run: runRender, usage };
    },
  },
  start: {
    summary: 'run the operator, on a local control plane when no cluster answers (development)',
    development: true,
    load: async () => {
      const { runStart, usage } = await import('./start.js');
      return { run: runStart, usage };
    },
  },
};

function help(): string {
  const width = Math.max(...Object.keys(subcommands).map((name) => name.length));
  return `Usage: wso2-frontend <command> [options]

Commands:
${Object.entries(subcommands)
  .map(([name, s]) => `  wso2-frontend ${name.padEnd(width)}  ${s.summary}`)
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
  const { run, usage } = await subcommand.load().catch((error: unknown) => {
    if (subcommand.development && (error as NodeJS.ErrnoException | undefined)?.code === 'ERR_MODULE_NOT_FOUND')
      throw new UsageError(
        `'${name}' is a development command, not installed here; run it from a clone of the repository`,
      );
    throw error;
  });
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(usage);
    return 0;
  }
  return run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`wso2-frontend: ${printable(error instanceof Error ? error.message : String(error))}`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);
