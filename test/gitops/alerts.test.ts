// The alert rules (deploy/prometheus/wso2-frontend.rules.yaml) with Prometheus's own promtool
// (scripts/go-tools.sh builds it): `check rules` accepts them, and `test rules` runs the unit
// tests of test/gitops/alerts/, one file a group, where each alert fires in a case and stays
// silent in a healthy one. The Helm chart's and kustomize's PrometheusRule hold the same rules,
// and every runbook_url leads to an entry of docs/troubleshooting.md#alerts.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import * as yaml from 'js-yaml';
import { ALERT_RULES_FILE, alertGroups } from '../../src/controller/metrics-reference.js';
import { goTool } from '../support/go-tools.js';

const execFileAsync = promisify(execFile);
const TESTS_DIR = 'test/gitops/alerts';
const CHART = 'deploy/helm/wso2-frontend-operator';

interface Outcome {
  code: number;
  output: string;
}

async function run(command: string, args: string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, { maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

interface RuleTest {
  name: string;
  alert_rule_test: { eval_time: string; alertname: string; exp_alerts: unknown[] }[];
}

const testFiles = readdirSync(TESTS_DIR)
  .filter((f) => f.endsWith('.test.yaml'))
  .sort();
const ruleTests = (file: string) =>
  yaml.load(readFileSync(join(TESTS_DIR, file), 'utf8')) as { rule_files: string[]; tests: RuleTest[] };
const groups = alertGroups();
const alerts = groups.flatMap((g) => g.rules.map((r) => r.alert));

interface Manifest {
  kind: string;
  metadata: { namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
}
const parseAll = (text: string) => (yaml.loadAll(text) as (Manifest | null)[]).filter((m): m is Manifest => !!m);
const rulesFile = () => yaml.load(readFileSync(ALERT_RULES_FILE, 'utf8'));

test('promtool check rules accepts the rules file', async () => {
  const outcome = await run(goTool('promtool'), ['check', 'rules', ALERT_RULES_FILE]);
  expect(outcome).toMatchObject({ code: 0 });
  expect(outcome.output).toContain(`SUCCESS: ${alerts.length} rules found`);
});

test('every group has a file of unit tests, and every alert fires in a case and is silent in another', () => {
  expect(testFiles).toEqual(groups.map((g) => `${g.name.replace(/^wso2-frontend-/, '')}.test.yaml`).sort());
  for (const file of testFiles) {
    const { rule_files: ruleFiles, tests } = ruleTests(file);
    expect(ruleFiles.map((f) => resolve(TESTS_DIR, f))).toEqual([resolve(ALERT_RULES_FILE)]);
    const group = groups.find((g) => file === `${g.name.replace(/^wso2-frontend-/, '')}.test.yaml`)!;
    const checks = tests.flatMap((t) => t.alert_rule_test);
    for (const rule of group.rules) {
      const own = checks.filter((c) => c.alertname === rule.alert);
      expect({ alert: rule.alert, fires: own.some((c) => c.exp_alerts.length > 0) }).toEqual({
        alert: rule.alert,
        fires: true,
      });
      expect({ alert: rule.alert, silent: own.some((c) => c.exp_alerts.length === 0) }).toEqual({
        alert: rule.alert,
        silent: true,
      });
    }
    // Each group's healthy case: a test in which every alert of the group is checked and none fires.
    expect(
      tests.some((t) =>
        group.rules.every((r) => t.alert_rule_test.some((c) => c.alertname === r.alert && c.exp_alerts.length === 0)),
      ),
    ).toBe(true);
  }
});

test('promtool test rules passes every unit test', async () => {
  const outcome = await run(goTool('promtool'), ['test', 'rules', ...testFiles.map((f) => join(TESTS_DIR, f))]);
  expect(outcome.output).not.toContain('FAILED');
  expect(outcome).toMatchObject({ code: 0 });
  expect(outcome.output.match(/SUCCESS/g)).toHaveLength(testFiles.length);
});

test('promtool test rules fails a case that expects an alert the rules do not fire (the tests can fail)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'alerts-'));
  try {
    const file = join(dir, 'wrong.test.yaml');
    writeFileSync(
      file,
      yaml.dump({
        rule_files: [resolve(ALERT_RULES_FILE)],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: [
              {
                series: 'wso2_frontend_status_condition{namespace="shop", name="apim", type="Stalled", status="True"}',
                values: '1x10',
              },
            ],
            // Stalled waits 5 minutes: at 3 minutes it is pending, not firing.
            alert_rule_test: [
              {
                eval_time: '3m',
                alertname: 'Wso2FrontendStalled',
                exp_alerts: [{ exp_labels: { severity: 'warning' } }],
              },
            ],
          },
        ],
      }),
    );
    const outcome = await run(goTool('promtool'), ['test', 'rules', file]);
    expect(outcome.code).not.toBe(0);
    expect(outcome.output).toContain('FAILED');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the Helm chart's PrometheusRule (alerts.prometheusRule.enabled) holds the rules file's groups, off by default", async () => {
  const helm = goTool('helm');
  const template = async (...set: string[]) => {
    const outcome = await run(helm, [
      'template',
      'wso2-frontend-operator',
      CHART,
      '--namespace',
      'monitoring',
      ...set.flatMap((s) => ['--set', s]),
    ]);
    expect(outcome.code).toBe(0);
    return parseAll(outcome.output);
  };
  expect((await template()).map((m) => m.kind)).not.toContain('PrometheusRule');
  const rendered = (
    await template('alerts.prometheusRule.enabled=true', 'alerts.prometheusRule.labels.release=kube-prometheus-stack')
  ).filter((m) => m.kind === 'PrometheusRule');
  expect(rendered).toHaveLength(1);
  expect(rendered[0]!.metadata.namespace).toBe('monitoring');
  expect(rendered[0]!.metadata.labels?.release).toBe('kube-prometheus-stack');
  expect(rendered[0]!.spec).toEqual(rulesFile());
  // The job the rules read the operator under is the one the chart's ServiceMonitor gives: the
  // value of the metrics Service's label jobLabel names, the same whatever the release's name.
  const other = await template('metrics.serviceMonitor.enabled=true', 'alerts.prometheusRule.enabled=true');
  const jobLabel = other.find((m) => m.kind === 'ServiceMonitor')!.spec!.jobLabel as string;
  const service = other.find((m) => m.kind === 'Service')!;
  expect(service.metadata.labels?.[jobLabel]).toBe('wso2-frontend-operator');
  expect(JSON.stringify(rulesFile())).toContain('up{job=\\"wso2-frontend-operator\\"}');
  // The chart's copy is the file itself (npm run generate copies it).
  expect(readFileSync(`${CHART}/files/wso2-frontend.rules.yaml`, 'utf8')).toBe(readFileSync(ALERT_RULES_FILE, 'utf8'));
});

test("kustomize's PrometheusRule (kubectl apply -k deploy/prometheus/) holds the rules file's groups, and deploy/ leaves it out", async () => {
  const outcome = await run('kubectl', ['kustomize', 'deploy/prometheus/']);
  expect(outcome.code).toBe(0);
  const manifests = parseAll(outcome.output);
  expect(manifests.map((m) => m.kind)).toEqual(['PrometheusRule']);
  expect(manifests[0]!.metadata.namespace).toBe('wso2-frontend-system');
  expect(manifests[0]!.spec).toEqual(rulesFile());
  const operator = await run('kubectl', ['kustomize', 'deploy/']);
  expect(operator.code).toBe(0);
  expect(parseAll(operator.output).map((m) => m.kind)).not.toContain('PrometheusRule');
});

test('every alert has a severity, a summary, a description and a runbook_url to its entry in docs/troubleshooting.md#alerts', () => {
  const doc = readFileSync('docs/troubleshooting.md', 'utf8');
  const section = doc.slice(doc.indexOf('\n## Alerts\n'));
  const entries = [...section.matchAll(/^### (\S+)$/gm)].map((m) => m[1]!);
  expect(entries).toEqual(alerts);
  for (const rule of groups.flatMap((g) => g.rules)) {
    expect(['critical', 'warning']).toContain(rule.labels.severity);
    expect(rule.annotations.summary).toBeTruthy();
    expect(rule.annotations.description).toBeTruthy();
    expect(rule.annotations.runbook_url).toMatch(/\/docs\/troubleshooting\.md#[a-z0-9]+$/);
    // GitHub's anchor of a heading: lower case, without what is not a letter, digit, - or _.
    expect(rule.annotations.runbook_url.split('#')[1]).toBe(rule.alert.toLowerCase());
  }
});
