// deployment.toml: minimal text edits located with toml-eslint-parser's exact source ranges, so
// every byte outside the owned values (comments, spacing, quoting, key order) stays. An owned key
// that exists gets its value replaced in place; a missing one goes after the last key of the
// table that holds it (dotted, when the file defines that table with dotted keys), or into a new
// `[table]` header at the end of the file. smol-toml re-parses every result, which must equal the
// base document with exactly the owned keys set.
import { isDeepStrictEqual } from 'node:util';
import { getStaticTOMLValue, parseTOML, ParseError, type AST } from 'toml-eslint-parser';
import { parse as parseStrict, TomlError } from 'smol-toml';
import type { TomlSetting, TomlValue } from '../../model/product-config.js';
import { lineEnding, ProductConfigError, type FilePatch, type Override } from './errors.js';

type Path = (string | number)[];
type Container = AST.TOMLTable | AST.TOMLTopLevelTable;

const keyName = (k: AST.TOMLBare | AST.TOMLQuoted): string => (k.type === 'TOMLBare' ? k.name : k.value);
const tablePath = (t: Container): Path => (t.type === 'TOMLTable' ? t.resolvedKey : []);
const isPrefix = (prefix: Path, path: Path) => prefix.length <= path.length && prefix.every((p, i) => p === path[i]);

/** The key as the WSO2 docs write it: `[transport.https.properties] proxyPort`. */
export function tomlKeyName(setting: TomlSetting): string {
  const table = setting.table.join('.');
  return `${setting.entry ? `[[${table}]]` : `[${table}]`} ${setting.key.join('.')}`;
}

function renderString(value: string): string {
  // TOML basic strings share JSON's escapes for what can occur here; control characters cannot.
  if (/[\u0000-\u001f\u007f]/.test(value))
    throw new RangeError(`control character in TOML value ${JSON.stringify(value)}`);
  return JSON.stringify(value);
}

export function renderTomlValue(value: TomlValue): string {
  if (typeof value === 'string') return renderString(value);
  if (Array.isArray(value)) return `[${value.map(renderString).join(', ')}]`;
  return String(value);
}

const renderKey = (key: readonly string[]) =>
  key.map((k) => (/^[A-Za-z0-9_-]+$/.test(k) ? k : renderString(k))).join('.');

/** Parses strictly: smol-toml rejects what the TOML spec forbids (redefined tables and keys). */
function parseDocument(file: string, text: string): Record<string, unknown> {
  try {
    return parseStrict(text);
  } catch (e) {
    if (e instanceof TomlError) throw new ProductConfigError(file, e.line, e.message.split('\n')[0]!);
    throw e;
  }
}

/** Parses with source ranges (for a text already checked by parseDocument). */
function parseRanges(file: string, text: string): AST.TOMLProgram {
  try {
    return parseTOML(text);
  } catch (e) {
    if (e instanceof ParseError) throw new ProductConfigError(file, e.lineNumber, e.message);
    throw e;
  }
}

function containers(ast: AST.TOMLProgram): Container[] {
  const top = ast.body[0];
  return [top, ...top.body.filter((n): n is AST.TOMLTable => n.type === 'TOMLTable')];
}

const keyValues = (c: Container): AST.TOMLKeyValue[] =>
  (c.body as (AST.TOMLKeyValue | AST.TOMLTable)[]).filter((n): n is AST.TOMLKeyValue => n.type === 'TOMLKeyValue');

/** The entries of an array of tables, in order. */
function entriesOf(ast: AST.TOMLProgram, table: readonly string[]): AST.TOMLTable[] {
  return containers(ast).filter(
    (c): c is AST.TOMLTable =>
      c.type === 'TOMLTable' &&
      c.kind === 'array' &&
      c.resolvedKey.length === table.length + 1 &&
      isPrefix([...table], c.resolvedKey),
  );
}

/** The entry a setting belongs to: the one whose match key has the match value, or the one at its index, else the first. */
function selectEntry(ast: AST.TOMLProgram, setting: TomlSetting): AST.TOMLTable | undefined {
  const entries = entriesOf(ast, setting.table);
  if (setting.entry?.index !== undefined) return entries[setting.entry.index];
  const match = setting.entry?.match;
  if (!match) return entries[0];
  const named = entries.find((e) =>
    keyValues(e).some(
      (kv) =>
        kv.key.keys.length === 1 &&
        keyName(kv.key.keys[0]!) === match.key &&
        getStaticTOMLValue(kv.value) === match.value,
    ),
  );
  return named ?? entries[0];
}

function findKeyValue(ast: AST.TOMLProgram, path: Path): AST.TOMLKeyValue | undefined {
  for (const c of containers(ast)) {
    const base = tablePath(c);
    if (!isPrefix(base, path)) continue;
    for (const kv of keyValues(c)) {
      if (isDeepStrictEqual([...base, ...kv.key.keys.map(keyName)], path)) return kv;
    }
  }
  return undefined;
}

/** Offset of the end of the line holding `offset` (before its line break), so a trailing comment stays on its line. */
function lineEnd(text: string, offset: number): number {
  const newline = text.indexOf('\n', offset);
  if (newline === -1) return text.length;
  return text[newline - 1] === '\r' ? newline - 1 : newline;
}

/** Where new keys of a container go: after its last key, else after its header. */
function insertionPoint(text: string, c: AST.TOMLTable): number {
  const kvs = keyValues(c);
  const last = kvs[kvs.length - 1];
  return lineEnd(text, last ? last.range[1] : c.key.range[1]);
}

function appendAtEnd(text: string, block: string[], eol: string): string {
  if (text.length === 0) return block.join(eol) + eol;
  const separator = text.endsWith('\n') ? eol : eol + eol;
  return text + separator + block.join(eol) + eol;
}

/** Sets `value` at `path` in a plain document, creating tables on the way (the expected result). */
function setIn(document: Record<string, unknown>, path: Path, value: unknown): void {
  let node: Record<string | number, unknown> = document;
  for (const step of path.slice(0, -1)) {
    node[step] ??= {};
    node = node[step] as Record<string | number, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function getIn(document: Record<string, unknown>, path: Path): unknown {
  let node: unknown = document;
  for (const step of path) node = (node as Record<string | number, unknown> | undefined)?.[step];
  return node;
}

const plain = (value: TomlValue): unknown => (Array.isArray(value) ? [...value] : value);

/** Sets one owned key; returns the new text, the key's resolved path and any differing base value. */
function applySetting(
  file: string,
  text: string,
  setting: TomlSetting,
  expected: Record<string, unknown>,
): { text: string; override?: Override } {
  const eol = lineEnding(text);
  const ast = parseRanges(file, text);
  const rendered = renderTomlValue(setting.value);
  const line = `${renderKey(setting.key)} = ${rendered}`;

  let fullPath: Path;
  let entry: AST.TOMLTable | undefined;
  if (setting.entry) {
    entry = selectEntry(ast, setting);
    if (!entry) {
      // No such array of tables yet: a new entry with the keys the product ships in it, then this key.
      const create = Object.entries(setting.entry.create).filter(([k]) => k !== setting.key.join('.'));
      const block = [
        `[[${renderKey(setting.table)}]]`,
        ...create.map(([k, v]) => `${renderKey([k])} = ${renderTomlValue(v)}`),
        line,
      ];
      const list = (getIn(expected, setting.table) as unknown[] | undefined) ?? [];
      list.push(Object.fromEntries(create.map(([k, v]) => [k, plain(v)])));
      setIn(expected, setting.table, list);
      setIn(expected, [...setting.table, list.length - 1, ...setting.key], plain(setting.value));
      return { text: appendAtEnd(text, block, eol) };
    }
    fullPath = [...entry.resolvedKey, ...setting.key];
  } else {
    fullPath = [...setting.table, ...setting.key];
  }

  const existing = findKeyValue(ast, fullPath);
  if (existing) {
    const found = getStaticTOMLValue(existing.value);
    const [start, end] = existing.value.range;
    if (setting.include && Array.isArray(found) && found.every((v) => typeof v === 'string')) {
      // The user's entries first, as they wrote them; ours after, when missing. Nothing of theirs is overridden.
      const merged = [...found, ...(setting.value as string[]).filter((v) => !found.includes(v))];
      setIn(expected, fullPath, merged);
      if (merged.length === found.length) return { text };
      return { text: text.slice(0, start) + renderTomlValue(merged) + text.slice(end) };
    }
    setIn(expected, fullPath, plain(setting.value));
    if (isDeepStrictEqual(found, plain(setting.value))) return { text };
    const patched = text.slice(0, start) + rendered + text.slice(end);
    // The product's own value (hostname = "localhost") is replaced without being called an override.
    if (setting.stock !== undefined && isDeepStrictEqual(found, plain(setting.stock))) return { text: patched };
    return {
      text: patched,
      override: { file, key: tomlKeyName(setting), found: text.slice(start, end), value: rendered },
    };
  }
  setIn(expected, fullPath, plain(setting.value));

  if (entry) {
    const at = insertionPoint(text, entry);
    return { text: text.slice(0, at) + eol + line + text.slice(at) };
  }

  // The deepest table header on the key's path; the key goes there, dotted for the rest of the path,
  // when that is the docs' table (or deeper) or the file already defines the next table with dotted keys.
  const declared = setting.table.length;
  const holder = containers(ast)
    .filter((c) => c.type === 'TOMLTopLevelTable' || (c.kind === 'standard' && isPrefix(c.resolvedKey, fullPath)))
    .reduce((a, b) => (tablePath(b).length > tablePath(a).length ? b : a));
  const depth = tablePath(holder).length;
  const next = fullPath[depth];
  const dottedThere = keyValues(holder).some((kv) => kv.key.keys.length > 1 && keyName(kv.key.keys[0]!) === next);
  if ((depth >= declared || dottedThere) && depth < fullPath.length) {
    const dotted = `${renderKey(fullPath.slice(depth) as string[])} = ${rendered}`;
    const kvs = keyValues(holder);
    const at =
      holder.type === 'TOMLTable'
        ? insertionPoint(text, holder)
        : kvs.length
          ? lineEnd(text, kvs[kvs.length - 1]!.range[1])
          : 0;
    return { text: at === 0 ? dotted + eol + text : text.slice(0, at) + eol + dotted + text.slice(at) };
  }
  return { text: appendAtEnd(text, [`[${renderKey(setting.table)}]`, line], eol) };
}

/** Sets exactly the owned keys in a deployment.toml and keeps every other byte. */
export function patchToml(file: string, base: string, settings: readonly TomlSetting[]): FilePatch {
  const expected = parseDocument(file, base);
  parseRanges(file, base);
  let text = base;
  const overrides: Override[] = [];
  for (const setting of settings) {
    const result = applySetting(file, text, setting, expected);
    text = result.text;
    if (result.override) overrides.push(result.override);
  }
  let reparsed: Record<string, unknown>;
  try {
    reparsed = parseStrict(text);
  } catch (e) {
    throw new ProductConfigError(
      file,
      undefined,
      `the patched file does not parse (${(e as Error).message.split('\n')[0]}); set the owned keys in [table] form in the base file`,
    );
  }
  // Plain data on both sides: smol-toml builds tables without a prototype, dates as TomlDate.
  const plainData = (value: unknown): unknown => JSON.parse(JSON.stringify(value));
  if (!isDeepStrictEqual(plainData(reparsed), plainData(expected)))
    throw new ProductConfigError(
      file,
      undefined,
      'patching changed more than the owned keys (an owned key sits in an inline table?)',
    );
  return { text, overrides };
}
