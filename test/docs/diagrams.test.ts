// Every Mermaid diagram in README.md and docs/ parses with Mermaid's own parser (the one the code
// host renders with), so none shows as an error box. Layout and SVG rendering are not checked.
import { spawnSync } from 'node:child_process';
import { allBlocks } from './markdown.js';

function parse(texts: string[]): ({ type: string } | { error: string })[] {
  const result = spawnSync(process.execPath, ['test/support/mermaid-parse.js'], {
    input: JSON.stringify(texts),
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`mermaid-parse.js failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as ({ type: string } | { error: string })[];
}

const diagrams = allBlocks('mermaid');

test('the README has the architecture diagram, and the docs have diagrams', () => {
  expect(diagrams.filter((d) => d.file === 'README.md').length).toBeGreaterThanOrEqual(1);
  expect(new Set(diagrams.map((d) => d.file)).size).toBeGreaterThanOrEqual(3);
});

test('every diagram parses as a flowchart or a sequence diagram', () => {
  const results = parse(diagrams.map((d) => d.text));
  const outcome = diagrams.map((d, i) => [`${d.file}:${d.line}`, results[i]]);
  expect(outcome).toEqual(
    diagrams.map((d) => [`${d.file}:${d.line}`, { type: expect.stringMatching(/^(flowchart-v2|sequence)$/) }]),
  );
});

test('a broken diagram is refused, so the check can fail', () => {
  const [sequence, flowchart] = parse(['sequenceDiagram\n  operator->>: no target', 'flowchart LR\n  a -->']);
  expect(sequence).toEqual({ error: expect.stringMatching(/Parse error on line 2/) });
  expect(flowchart).toEqual({ error: expect.stringMatching(/Parse error/) });
});
