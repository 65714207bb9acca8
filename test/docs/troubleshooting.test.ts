// Every reason a condition of a Wso2Frontend can carry has an entry in docs/troubleshooting.md.
// The reasons come from the code: the status code takes only reasons of CONDITION_REASONS (a
// typed list, so the compiler refuses any other), and the Pod-condition reasons of the agent.
import { readFileSync } from 'node:fs';
import { CONDITION_REASONS } from '../../src/controller/status.js';

const doc = readFileSync('docs/troubleshooting.md', 'utf8');
/** Reasons named in the reason column of a table row. */
const documented = new Set(
  doc
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| condition'))
    .flatMap((line) => [...(line.split('|')[2] ?? '').matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1]!)),
);

test.each([...CONDITION_REASONS])('%s has an entry', (reason) => {
  expect(documented).toContain(reason);
});

test('every reason with an entry is one the operator writes', () => {
  expect([...documented].filter((r) => !(CONDITION_REASONS as readonly string[]).includes(r))).toEqual([]);
});
