// The Argo CD health check in deploy/argocd/, in the layout of Argo CD's
// resource_customizations/<group>/<kind>/, run by gopher-lua as Argo CD runs an argocd-cm health
// script: only the package, base, table and reduced os libraries opened, `obj` set, one second.
// Statuses the real operator writes are judged in live-status.test.ts.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { argoCdHealth } from '../support/go-tools.js';

const DIR = 'deploy/argocd/resource_customizations/wso2-frontend.dev/Wso2Frontend';
const SCRIPT = join(DIR, 'health.lua');

interface HealthTest {
  healthStatus: { status: string; message: string };
  inputPath: string;
}
const cases = (yaml.load(readFileSync(join(DIR, 'health_test.yaml'), 'utf8')) as { tests: HealthTest[] }).tests;

test.each(cases)('$inputPath is $healthStatus.status', ({ inputPath, healthStatus }) => {
  const object = yaml.load(readFileSync(join(DIR, inputPath), 'utf8')) as object;
  expect(argoCdHealth(SCRIPT, [object])).toEqual([healthStatus]);
});

test('every file in testdata/ has a case in health_test.yaml', () => {
  const files = readFileSync(join(DIR, 'health_test.yaml'), 'utf8').match(/testdata\/[\w.-]+\.yaml/g) ?? [];
  expect(
    readdirSync(join(DIR, 'testdata'))
      .map((f) => `testdata/${f}`)
      .sort(),
  ).toEqual([...new Set(files)].sort());
});

test('the argocd-cm patch carries health.lua verbatim under resource.customizations.health.wso2-frontend.dev_Wso2Frontend', () => {
  const patch = yaml.load(readFileSync('deploy/argocd/argocd-cm-patch.yaml', 'utf8')) as {
    data: Record<string, string>;
  };
  expect(Object.keys(patch.data)).toEqual(['resource.customizations.health.wso2-frontend.dev_Wso2Frontend']);
  expect(patch.data['resource.customizations.health.wso2-frontend.dev_Wso2Frontend']).toBe(
    readFileSync(SCRIPT, 'utf8'),
  );
});

test('the runner opens only what Argo CD opens: no string or math library, and os without execute', () => {
  const dir = mkdtempSync(join(tmpdir(), 'argocd-health-'));
  try {
    const script = (body: string) => {
      const file = join(dir, `${Math.random().toString(36).slice(2)}.lua`);
      writeFileSync(file, body);
      return file;
    };
    expect(() => argoCdHealth(script('return { status = string.format("%s", "Healthy") }'), [{}])).toThrow(
      /non-table object\(nil\) with key 'format'/,
    );
    expect(() => argoCdHealth(script('return { status = tostring(math.floor(1)) }'), [{}])).toThrow(/'floor'/);
    expect(
      argoCdHealth(script('return { status = "Healthy", message = type(os.execute) .. " " .. type(os.time()) }'), [{}]),
    ).toEqual([{ status: 'Healthy', message: 'nil number' }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
