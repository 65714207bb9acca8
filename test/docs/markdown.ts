// The user-facing Markdown (README.md and docs/) and its fenced blocks, for the docs tests.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Block {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  language: string;
  text: string;
}

export function markdownFiles(): string[] {
  return [
    'README.md',
    ...readdirSync('docs', { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.md'))
      .map((f) => join('docs', f))
      .sort(),
  ];
}

export function blocks(file: string): Block[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const found: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    found.push({ file, line: start + 1, language: open[1] ?? '', text: body.join('\n') });
  }
  return found;
}

export function allBlocks(language: string): Block[] {
  return markdownFiles().flatMap((f) => blocks(f).filter((b) => b.language === language));
}
