// The Dockerfile's supply chain: every image it builds from is pinned by digest (a rebuild gets
// the same bytes, and a changed base is a reviewed change of this file), the Node major is the one
// package.json's engines name, and NGINX is the generation the data-plane tests run.
import { readFileSync } from 'node:fs';
import { nginxVersion } from '../support/nginx.js';

const dockerfile = readFileSync('Dockerfile', 'utf8');
const args = new Map([...dockerfile.matchAll(/^ARG (\w+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
const stages = [...dockerfile.matchAll(/^FROM (\S+)(?: AS (\S+))?$/gm)].map((m) => ({ from: m[1]!, name: m[2] }));

const image = (reference: string) => {
  const match = /^(?<repository>[\w./-]+):(?<tag>[\w.-]+)@sha256:(?<digest>[0-9a-f]{64})$/.exec(reference);
  if (!match) throw new Error(`${reference} is not pinned as repository:tag@sha256:<64 hex digits>`);
  return match.groups as { repository: string; tag: string; digest: string };
};

test('every stage builds from an earlier stage or from a base image pinned by digest', () => {
  expect(stages.length).toBeGreaterThan(3);
  const seen = new Set<string>();
  for (const { from, name } of stages) {
    const argument = /^\$\{(\w+)\}$/.exec(from)?.[1];
    if (argument) expect(() => image(args.get(argument) ?? `ARG ${argument} without a default`)).not.toThrow();
    else expect(seen).toContain(from);
    if (name) seen.add(name);
  }
  expect([...args.keys()]).toEqual(['NODE_IMAGE', 'NGINX_IMAGE']);
});

test("Node is package.json's major, NGINX the generation the data-plane tests run", () => {
  const engines = (JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } }).engines.node;
  const node = image(args.get('NODE_IMAGE')!);
  expect(node.repository).toBe('node');
  expect(engines).toBe(`>=${node.tag.split(/[.-]/)[0]} <${Number(node.tag.split(/[.-]/)[0]) + 1}`);
  const nginx = image(args.get('NGINX_IMAGE')!);
  expect(nginx.repository).toBe('nginxinc/nginx-unprivileged');
  expect(nginx.tag.split('.').slice(0, 2)).toEqual(nginxVersion().split('.').slice(0, 2));
});

test('an unpinned or malformed reference is refused', () => {
  expect(() => image('node:24-bookworm-slim')).toThrow(/not pinned/);
  expect(() => image('node@sha256:abc')).toThrow(/not pinned/);
});
