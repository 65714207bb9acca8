// The `wso2-frontend` entry point (package bin) dispatches subcommands and explains itself.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const packageJson = JSON.parse(readFileSync('package.json', 'utf8')) as { bin: Record<string, string> };
const cli = join(process.cwd(), packageJson.bin['wso2-frontend']!);
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

test('--help lists the subcommands and exits 0', () => {
  const result = run('--help');
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/^Usage: wso2-frontend <command>/);
  expect(result.stdout).toContain('wso2-frontend local-cluster');
});

test('an unknown subcommand is named in the error and exits 2', () => {
  const result = run('frobnicate');
  expect(result.status).toBe(2);
  expect(result.stderr).toContain("unknown command 'frobnicate'");
});

test('a subcommand option it does not know is rejected with a non-zero exit', () => {
  const result = run('local-cluster', '--no-such-flag');
  expect(result.status).toBe(1);
  expect(result.stderr).toContain("Unknown option '--no-such-flag'");
});
