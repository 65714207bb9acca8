// Seeded fuzzing of validate -> topology -> render at scale (`npm run fuzz`, or part of
// `npm run bench`): FUZZ_SPECS specs (default 100,000) from FUZZ_SEED, then a sample of
// FUZZ_NGINX_SAMPLE accepted ones (default 1000, mutated ones first) through real `nginx -t`,
// four at a time. Prints the counts and every distinct finding; exits 1 when there is one.
import { AcceptedSample, fuzz } from '../test/support/fuzz.js';
import { RenderedConfigurationChecker } from '../test/support/nginx.js';

const envNumber = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

export async function benchFuzz(): Promise<void> {
  const seed = envNumber('FUZZ_SEED', 20261127);
  const count = envNumber('FUZZ_SPECS', 100_000);
  const sampleSize = envNumber('FUZZ_NGINX_SAMPLE', 1000);
  console.log(`\nFuzzing validate -> topology -> render: ${count} specs from seed ${seed}:`);
  const sample = new AcceptedSample(sampleSize, seed);
  const started = process.hrtime.bigint();
  const report = fuzz(seed, count, sample);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(
    `  ${report.specs} specs in ${seconds.toFixed(1)} s: ${report.rejected} refused with problems, ` +
      `${report.accepted} accepted (${report.acceptedMutated} of them mutated), ${report.findings.length} findings`,
  );
  const distinct = new Map<string, (typeof report.findings)[number]>();
  for (const f of report.findings) {
    const what = `${f.stage}: ${f.error.split('\n')[0]}`;
    if (!distinct.has(what)) distinct.set(what, f);
  }
  for (const [what, f] of distinct) console.log(`  finding (spec ${f.index}) ${what}\n    ${f.spec.slice(0, 400)}`);

  const checker = new RenderedConfigurationChecker();
  const specs = sample.specs();
  const failures: string[] = [];
  const nginxStarted = process.hrtime.bigint();
  try {
    for (let i = 0; i < specs.length; i += 4) {
      await Promise.all(
        specs.slice(i, i + 4).map(async ({ index, topology }) => {
          const verdict = await checker.check(topology);
          if (!verdict.ok) failures.push(`spec ${index}: ${verdict.output.trim()}`);
        }),
      );
    }
  } finally {
    checker.remove();
  }
  const nginxSeconds = Number(process.hrtime.bigint() - nginxStarted) / 1e9;
  const mutated = specs.filter((s) => s.mutated).length;
  console.log(
    `  nginx -t on ${specs.length} accepted specs (${mutated} mutated) in ${nginxSeconds.toFixed(1)} s: ` +
      `${specs.length - failures.length} accepted, ${failures.length} refused`,
  );
  for (const failure of failures.slice(0, 5)) console.log(`  ${failure}`);
  if (report.findings.length || failures.length) process.exitCode = 1;
}
