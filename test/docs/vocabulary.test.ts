// What users read names WSO2's documents by their titles, never by our internal word for them
// ("seed"): the README, docs/, the examples, the CRD (its descriptions are `kubectl explain`'s
// text) and the benchmarks' printed lines. A fuzzer's random seed is the ordinary word.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { markdownFiles } from './markdown.js';

const INTERNAL = /\bseeds?\b/i;
const ORDINARY = /random seed|FUZZ_SEED|seeded/gi;

function userFacing(): string[] {
  const dir = (d: string, ext: string) =>
    readdirSync(d)
      .filter((f) => f.endsWith(ext))
      .map((f) => join(d, f));
  return [...markdownFiles(), ...dir('examples', '.yaml'), ...dir('crds', '.yaml')];
}

test.each(userFacing().map((f) => [f]))('%s names WSO2 documents by title', (file) => {
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .map((line, i) => [`${file}:${i + 1}`, line.replace(ORDINARY, '')] as const)
    .filter(([, line]) => INTERNAL.test(line));
  expect(lines).toEqual([]);
});

test("the throughput benchmark's printed lines name the hand-written configuration, not a seed", () => {
  const printed = readFileSync('bench/throughput.ts', 'utf8')
    .split('\n')
    .filter((line) => line.includes('console.log'));
  expect(printed.filter((line) => INTERNAL.test(line))).toEqual([]);
});
