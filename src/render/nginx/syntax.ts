// A small builder for NGINX configuration text, and the one place where a value that came
// from a user becomes part of it. The renderer writes fixed text (directive names, variables,
// quoted header values) as plain strings; anything taken from a resource is wrapped with
// `value(kind, text)` and checked again here against its kind, so an unvalidated string can
// never reach NGINX even if an upstream check were missed.
import { isIP } from 'node:net';
import { CONFIG_HASH_PATTERN } from '../../api/agent.js';

export type ValueKind =
  | 'host'
  | 'address'
  | 'port'
  | 'duration'
  | 'size'
  | 'cookie-name'
  | 'cookie-path'
  | 'file-name'
  | 'integer'
  | 'config-hash'
  | 'route';

const KIND_PATTERNS: Record<Exclude<ValueKind, 'address'>, RegExp> = {
  host: /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/,
  port: /^[0-9]{1,5}$/,
  duration: /^[0-9]{1,6}(ms|s|m|h|d)$/,
  size: /^[0-9]{1,7}[kmg]?$/, // 7 digits: proxy_busy_buffers_size is twice a 6-digit buffer size
  // The spec allows 64; the HTTP listener's cookie adds _HTTP.
  'cookie-name': /^[A-Za-z0-9_]{1,69}$/,
  'cookie-path': /^\/[A-Za-z0-9._~/-]{0,255}$/,
  'file-name': /^[a-z0-9]([-a-z0-9.]{0,120}[a-z0-9])?$/,
  integer: /^[0-9]{1,12}$/,
  'config-hash': CONFIG_HASH_PATTERN,
  route: /^[0-9a-f]{1,32}$/,
};

/** A user-derived value, checked against its kind when the text is written. */
export class UserValue {
  constructor(
    readonly kind: ValueKind,
    readonly text: string,
  ) {}
}

export const value = (kind: ValueKind, text: string | number) => new UserValue(kind, String(text));

function checked(v: UserValue): string {
  if (v.kind === 'address') {
    if (isIP(v.text) === 6) return `[${v.text}]`;
    if (isIP(v.text) === 4 || KIND_PATTERNS.host.test(v.text)) return v.text;
  } else if (KIND_PATTERNS[v.kind].test(v.text)) {
    return v.text;
  }
  throw new Error(`refusing to write ${JSON.stringify(v.text)} into NGINX configuration: not a valid ${v.kind}`);
}

/** A piece of an argument: fixed renderer text, or a checked user value. */
export type Part = string | UserValue;
/** One argument, possibly built from several parts (for example "https://", host, "$request_uri"). */
export type Arg = Part | Part[];

export type Node =
  | { kind: 'directive'; name: string; args: Arg[]; comment?: string }
  | { kind: 'block'; name: string; args: Arg[]; children: Node[]; comment?: string }
  | { kind: 'comment'; text: string }
  | { kind: 'blank' };

export const directive = (name: string, ...args: Arg[]): Node => ({ kind: 'directive', name, args });
/** A `map` entry: its key, checked like any argument, where a directive has its name. */
export const entry = (key: Arg, ...args: Arg[]): Node => ({ kind: 'directive', name: argText(key), args });
export const block = (name: string, args: Arg[], children: Node[]): Node => ({ kind: 'block', name, args, children });
export const comment = (text: string): Node => ({ kind: 'comment', text });
export const blank: Node = { kind: 'blank' };
/** The same node with an end-of-line comment saying where it comes from. */
export const because = (node: Node, why: string): Node => ({ ...node, comment: why }) as Node;

function argText(arg: Arg): string {
  const parts = Array.isArray(arg) ? arg : [arg];
  return parts.map((p) => (p instanceof UserValue ? checked(p) : p)).join('');
}

function lines(node: Node, depth: number): string[] {
  const indent = '    '.repeat(depth);
  // A comment can name things from the cluster (a pod's name): control characters, a newline
  // above all, would end the comment and start a directive, so they become '?'.
  const safe = (text: string) => text.replace(/[\x00-\x1f\x7f]/g, '?');
  const suffix = (c?: string) => (c ? `  # ${safe(c)}` : '');
  switch (node.kind) {
    case 'blank':
      return [''];
    case 'comment':
      return node.text.split('\n').map((l) => `${indent}# ${safe(l)}`.trimEnd());
    case 'directive':
      return [`${indent}${[node.name, ...node.args.map(argText)].join(' ')};${suffix(node.comment)}`];
    case 'block':
      return [
        `${indent}${[node.name, ...node.args.map(argText)].join(' ')} {${suffix(node.comment)}`,
        ...node.children.flatMap((child) => lines(child, depth + 1)),
        `${indent}}`,
      ];
  }
}

/** Serializes nodes; the output ends with one newline and never has trailing spaces. */
export function toText(nodes: Node[]): string {
  return `${nodes.flatMap((n) => lines(n, 0)).join('\n')}\n`;
}
