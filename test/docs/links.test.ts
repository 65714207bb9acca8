// Every link between README.md and docs/ leads somewhere: the file exists and, for a link with
// #anchor, the file has a heading with that anchor as GitHub makes it (lower case, punctuation
// but "-" and "_" dropped, spaces to "-").
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { markdownFiles } from './markdown.js';

const slug = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

function anchors(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```/gm, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));
}

const links = markdownFiles().flatMap((file) =>
  // Code (fenced blocks and spans) holds regular expressions, not links.
  [
    ...readFileSync(file, 'utf8')
      .replace(/^```[\s\S]*?^```/gm, '')
      .replace(/`[^`\n]*`/g, '')
      .matchAll(/\]\(([^)\s]+)\)/g),
  ]
    .map((m) => m[1]!)
    .filter((target) => !/^[a-z]+:/.test(target))
    .map((target) => ({ file, target })),
);

test('README.md and docs/ link to each other', () => {
  expect(links.length).toBeGreaterThan(30);
});

test('every relative link leads to an existing file and heading', () => {
  const broken = links.filter(({ file, target }) => {
    const [path = '', anchor] = target.split('#');
    const to = path ? normalize(join(dirname(file), path)) : file;
    if (!existsSync(to)) return true;
    return anchor !== undefined && to.endsWith('.md') && !anchors(to).has(anchor);
  });
  expect(broken).toEqual([]);
});
