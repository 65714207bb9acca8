// Parses Mermaid diagrams with Mermaid's own parser, in a plain Node process (Jest's module loader
// cannot load jsdom's ES modules). Reads a JSON array of diagram texts on stdin, prints a JSON array
// of { type } or { error }. Parsing needs only a DOM for the label sanitiser: DOMPurify binds to the
// global window when it is loaded, so jsdom's window is set before Mermaid is imported.
import { JSDOM } from 'jsdom';

const { window } = new JSDOM('<!doctype html><html><body></body></html>');
Object.assign(globalThis, { window, document: window.document });
const { default: mermaid } = await import('mermaid');

let input = '';
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const text of JSON.parse(input)) {
  try {
    const parsed = await mermaid.parse(text);
    results.push({ type: parsed ? parsed.diagramType : 'none' });
  } catch (error) {
    results.push({ error: String(error instanceof Error ? error.message : error) });
  }
}
process.stdout.write(JSON.stringify(results));
