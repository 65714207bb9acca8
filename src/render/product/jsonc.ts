// site.json of the Carbon 4 jaggery apps: JSON with `//` comments. jsonc-parser's `modify` computes
// range edits for exactly the owned members (inserting missing ones in the file's indentation), so
// comments and layout elsewhere stay; the result is re-parsed and must equal the base document with
// only those members set.
import { isDeepStrictEqual } from 'node:util';
import jsonc from 'jsonc-parser';
import type { JsonSetting } from '../../model/product-config.js';
import { lineEnding, lineOf, ProductConfigError, type FilePatch, type Override } from './errors.js';

const PARSE_OPTIONS = { allowTrailingComma: true, disallowComments: false } as const;

export const jsonKeyName = (setting: JsonSetting): string => setting.path.join('.');

function parse(file: string, text: string): unknown {
  const errors: jsonc.ParseError[] = [];
  const value: unknown = jsonc.parse(text, errors, PARSE_OPTIONS);
  const first = errors[0];
  if (first) throw new ProductConfigError(file, lineOf(text, first.offset), jsonc.printParseErrorCode(first.error));
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ProductConfigError(file, 1, 'expected a JSON object');
  return value;
}

/** The indentation the file uses (its first indented line), so inserted members line up. */
function indentation(text: string): { insertSpaces: boolean; tabSize: number } {
  const indent = /\n([ \t]+)\S/.exec(text)?.[1];
  if (indent?.startsWith('\t')) return { insertSpaces: false, tabSize: 1 };
  return { insertSpaces: true, tabSize: indent?.length ?? 2 };
}

function setIn(document: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = document;
  for (const step of path.slice(0, -1)) {
    if (typeof node[step] !== 'object' || node[step] === null) node[step] = {};
    node = node[step] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

/** Sets exactly the owned members of a JSON-with-comments file and keeps every other byte. */
export function patchJsonc(file: string, base: string, settings: readonly JsonSetting[]): FilePatch {
  const expected = parse(file, base) as Record<string, unknown>;
  const formattingOptions = { ...indentation(base), eol: lineEnding(base) };
  let text = base;
  const overrides: Override[] = [];
  for (const setting of settings) {
    const tree = jsonc.parseTree(text, [], PARSE_OPTIONS);
    const node = tree && jsonc.findNodeAtLocation(tree, setting.path);
    setIn(expected, setting.path, setting.value);
    if (node && isDeepStrictEqual(jsonc.getNodeValue(node), setting.value)) continue;
    if (node && !(setting.stock !== undefined && isDeepStrictEqual(jsonc.getNodeValue(node), setting.stock)))
      overrides.push({
        file,
        key: jsonKeyName(setting),
        found: text.slice(node.offset, node.offset + node.length),
        value: JSON.stringify(setting.value),
      });
    text = jsonc.applyEdits(text, jsonc.modify(text, setting.path, setting.value, { formattingOptions }));
  }
  if (!isDeepStrictEqual(parse(file, text), expected))
    throw new ProductConfigError(file, undefined, 'patching changed more than the owned members');
  return { text, overrides };
}
