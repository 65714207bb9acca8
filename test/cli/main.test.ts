// The `wso2-frontend` entry point (package bin) dispatches subcommands and explains itself.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

test('start, operator and agent each take --log-level and refuse a level they do not know', () => {
  const env = { ...process.env, POD_NAME: 'p', POD_NAMESPACE: 'n' };
  for (const command of [['start'], ['operator'], ['agent', '--config-map', 'x']]) {
    expect(run(command[0]!, '--help').stdout).toContain('--log-level');
    const result = spawnSync(process.execPath, [cli, ...command, '--log-level', 'verbose'], { encoding: 'utf8', env });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--log-level must be debug');
  }
});

test('without the development tools, as in the product image, start names itself a development command and operator still loads', () => {
  // The Dockerfile's build stage removes exactly these from dist/.
  const app = mkdtempSync(join(tmpdir(), 'wso2-frontend-image-'));
  try {
    cpSync('dist', join(app, 'dist'), {
      recursive: true,
      filter: (source) => !/^dist\/(localcluster|cli\/start\.js|cli\/local-cluster\.js)/.test(source),
    });
    cpSync('package.json', join(app, 'package.json'));
    symlinkSync(join(process.cwd(), 'node_modules'), join(app, 'node_modules'));
    const image = (...args: string[]) =>
      spawnSync(process.execPath, [join(app, 'dist/cli/main.js'), ...args], { encoding: 'utf8' });

    const start = image('start');
    expect(start.stderr).toContain("'start' is a development command, not installed here");
    expect(start.status).toBe(2);
    expect(image('local-cluster').stderr).toContain("'local-cluster' is a development command");
    const operator = image('operator', '--help');
    expect(operator.stdout).toMatch(/^wso2-frontend operator/);
    expect(operator.status).toBe(0);
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
});
