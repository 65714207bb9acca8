// Seeded fuzzing of validate -> topology -> render (test/support/fuzz.ts), a sample of what
// `npm run fuzz` runs at 100,000 specs: mutated specs come back as validation problems naming a
// field, never as an exception, and what is accepted renders deterministically into a
// configuration that a real `nginx -t` accepts.
import { AcceptedSample, fuzz } from '../support/fuzz.js';
import { RenderedConfigurationChecker } from '../support/nginx.js';

const SEED = 20261127;
const SPECS = 3000;
const NGINX_SAMPLE = 60;

const sample = new AcceptedSample(NGINX_SAMPLE, SEED);
const report = fuzz(SEED, SPECS, sample);

test(`${SPECS} fuzzed specs: nothing thrown, every refusal names a field, the same spec renders the same`, () => {
  expect(report.findings.slice(0, 3)).toEqual([]);
  expect(report.specs).toBe(SPECS);
  // Both sides are exercised: mutations that validation refuses, and ones it lets through.
  expect(report.rejected).toBeGreaterThan(SPECS / 3);
  expect(report.acceptedMutated).toBeGreaterThan(NGINX_SAMPLE);
});

test(`${NGINX_SAMPLE} accepted mutated specs render configurations that nginx -t accepts`, async () => {
  const checker = new RenderedConfigurationChecker();
  const failures: string[] = [];
  try {
    const specs = sample.specs();
    expect(specs.filter((s) => s.mutated)).toHaveLength(NGINX_SAMPLE);
    for (let i = 0; i < specs.length; i += 4) {
      await Promise.all(
        specs.slice(i, i + 4).map(async ({ index, topology }) => {
          const verdict = await checker.check(topology);
          if (!verdict.ok) failures.push(`spec ${index} (seed ${SEED}): ${verdict.output}`);
        }),
      );
    }
  } finally {
    checker.remove();
  }
  expect(failures.slice(0, 3)).toEqual([]);
}, 120_000);
