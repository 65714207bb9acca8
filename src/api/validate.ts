// Schema validation without an API server (for `render` and as the operator's safety net):
// the same TypeBox schema the CRD is rendered from, its defaults applied the way the API server
// applies them, and errors reported with Kubernetes field paths and messages a user can act on.
import type { TSchema } from '@sinclair/typebox';
import { ValueErrorType } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import {
  CookieSettings,
  DNS_LABEL,
  DNS_SUBDOMAIN,
  DURATION,
  LOWER_CASE_MESSAGE,
  SIZE,
  Wso2FrontendSpec,
  type DefaultedCookie,
} from './schema.js';

export interface Problem {
  /** Field path as the API server writes it, for example spec.sites.portal.host or spec.backends.external.nodes[0]. */
  path: string;
  message: string;
}

export const formatProblem = (p: Problem) => `${p.path}: ${p.message}`;

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const SHORT_ESCAPES: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '"': '\\"',
  '\\': '\\\\',
};

/**
 * A user's string in double quotes, escaped exactly as the API server quotes values in its
 * messages (Go's strconv.Quote): whatever is not a printable character (controls, bidirectional
 * overrides such as U+202E, line and paragraph separators, NEL) is written as an escape, so a
 * message can neither reorder nor break the line it is shown on.
 */
export function quote(text: string): string {
  return `"${escaped(text)}"`;
}

/** `text` escaped as quote() escapes it, without the quotes (a map key in a field path). */
function escaped(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    const hex = (digits: number) => code.toString(16).padStart(digits, '0');
    if (SHORT_ESCAPES[ch]) out += SHORT_ESCAPES[ch];
    else if (PRINTABLE.test(ch)) out += ch;
    else if (code < 0x80) out += `\\x${hex(2)}`;
    else if (code <= 0xffff) out += `\\u${hex(4)}`;
    else out += `\\U${hex(8)}`;
  }
  return out;
}

const shown = (value: unknown) => (typeof value === 'string' ? quote(value) : JSON.stringify(value));

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Fills in `default` values the way the API server defaults a structural schema: a property
 * that is null (no field of this schema is nullable) is dropped first, a missing property gets
 * its default, then defaulting goes on inside objects, map values and list items.
 */
function applyDefaults(schema: Json, value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = schema.items as Json | undefined;
    return items ? value.map((item) => applyDefaults(items, item)) : value;
  }
  if (!isObject(value)) return value;
  const out: Json = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null));
  const properties = (schema.properties ?? {}) as Record<string, Json>;
  for (const [key, property] of Object.entries(properties)) {
    if (out[key] === undefined && property.default !== undefined) out[key] = structuredClone(property.default);
    if (out[key] !== undefined) out[key] = applyDefaults(property, out[key]);
  }
  const mapValues = schema.patternProperties
    ? Object.values(schema.patternProperties as Record<string, Json>)[0]
    : undefined;
  if (mapValues) {
    for (const key of Object.keys(out)) out[key] = applyDefaults(mapValues, out[key]);
  }
  return out;
}

/** A copy of the spec with the schema's defaults filled in. */
export function withDefaults(spec: unknown): unknown {
  return applyDefaults(Wso2FrontendSpec, structuredClone(spec));
}

/** The affinity cookie's settings when the spec gives none (the schema's defaults). */
export const defaultCookie = (): DefaultedCookie => applyDefaults(CookieSettings, {}) as DefaultedCookie;

const PATTERN_MEANINGS: Record<string, string> = {
  [DNS_SUBDOMAIN]:
    'must be a lower-case RFC 1123 host name (letters, digits, "-" and ".", each label at most 63 characters)',
  [DNS_LABEL]: 'must be a lower-case RFC 1123 name (letters, digits and "-", at most 63 characters)',
  [DURATION]: 'must be a number with one unit, ms, s, m, h or d (for example 5m)',
  [SIZE]: 'must be a size in bytes with an optional k, m or g (for example 16k)',
};

/** Turns a JSON pointer (/sites/portal/host) into the field path the API server reports (spec.sites.portal.host). */
function fieldPath(pointer: string, root: TSchema): string {
  let schema = root as Json | undefined;
  let path = 'spec';
  for (const raw of pointer.split('/').slice(1)) {
    const segment = escaped(raw.replace(/~1/g, '/').replace(/~0/g, '~'));
    const properties = schema?.properties as Record<string, Json> | undefined;
    if (properties && segment in properties) {
      path += `.${segment}`;
      schema = properties[segment];
    } else if (schema?.patternProperties) {
      path += `.${segment}`;
      schema = Object.values(schema.patternProperties as Record<string, Json>)[0];
    } else if (schema?.type === 'array') {
      path += `[${segment}]`;
      schema = schema.items as Json;
    } else {
      path += `.${segment}`;
      schema = undefined;
    }
  }
  return path;
}

/** Edit distance (insertions, deletions, substitutions, swaps of neighbours), for suggesting a field name. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  return d[a.length]![b.length]!;
}

/** The known name closest to a misspelt one (case aside, at most a third of it changed), if any. */
function nearestName(name: string, known: string[]): string | undefined {
  if (name.length > 64) return undefined; // no field name is that long; and the cost grows with it
  const limit = Math.max(1, Math.floor(name.length / 3));
  const scored = known
    .map((k) => ({ k, d: distance(name.toLowerCase(), k.toLowerCase()) }))
    .filter(({ d }) => d <= limit)
    .sort((x, y) => x.d - y.d);
  return scored[0]?.k;
}

function describe(error: {
  type: ValueErrorType;
  schema: TSchema;
  value: unknown;
  message: string;
  path: string;
}): string {
  const schema = error.schema as Json;
  const literals = (schema.anyOf as Json[] | undefined)?.filter((s) => 'const' in s).map((s) => `"${String(s.const)}"`);
  switch (error.type) {
    case ValueErrorType.Union:
      return literals
        ? `Unsupported value: ${shown(error.value)}: supported values: ${literals.join(', ')}`
        : error.message;
    case ValueErrorType.StringPattern: {
      const pattern = schema.pattern as string;
      const meaning = PATTERN_MEANINGS[pattern] ?? `must match ${pattern}`;
      const lower = typeof error.value === 'string' ? error.value.toLowerCase() : undefined;
      return lower !== undefined && lower !== error.value && new RegExp(pattern).test(lower)
        ? `Invalid value: ${shown(error.value)}: ${LOWER_CASE_MESSAGE} (${shown(lower)}): ${meaning}`
        : `Invalid value: ${shown(error.value)}: ${meaning}`;
    }
    case ValueErrorType.ObjectRequiredProperty:
      return 'Required value';
    case ValueErrorType.ObjectAdditionalProperties: {
      const field = error.path.split('/').pop()!.replace(/~1/g, '/').replace(/~0/g, '~');
      const nearest = nearestName(field, Object.keys(schema.properties ?? {}));
      return nearest ? `unknown field; did you mean ${nearest}?` : 'unknown field';
    }
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.IntegerMinimum:
      return `Invalid value: ${String(error.value)}: must be greater than or equal to ${String(schema.minimum)}`;
    case ValueErrorType.NumberMaximum:
    case ValueErrorType.IntegerMaximum:
      return `Invalid value: ${String(error.value)}: must be less than or equal to ${String(schema.maximum)}`;
    case ValueErrorType.StringMaxLength:
      return `Too long: may not be more than ${String(schema.maxLength)} characters`;
    case ValueErrorType.StringMinLength:
      return `Invalid value: must be at least ${String(schema.minLength)} characters`;
    case ValueErrorType.ArrayMinItems:
      return `Invalid value: must have at least ${String(schema.minItems)} items`;
    case ValueErrorType.ArrayMaxItems:
      return `Too many: must have at most ${String(schema.maxItems)} items`;
    case ValueErrorType.ArrayUniqueItems:
      return 'Duplicate value: items must be unique';
    case ValueErrorType.ObjectMaxProperties:
      return `Too many: must have at most ${String(schema.maxProperties)} entries`;
    default:
      return error.message;
  }
}

/**
 * TypeBox measures strings in UTF-16 code units, the API server in characters (an emoji is two
 * units and one character): a length error TypeBox reports that the characters do not confirm is
 * not one the API server would report.
 */
function measuredInUtf16(error: { type: ValueErrorType; schema: TSchema; value: unknown }): boolean {
  if (typeof error.value !== 'string') return false;
  const characters = [...error.value].length;
  const schema = error.schema as Json;
  if (error.type === ValueErrorType.StringMaxLength) return characters <= (schema.maxLength as number);
  if (error.type === ValueErrorType.StringMinLength) return characters >= (schema.minLength as number);
  return false;
}

/** Every schema violation of a (defaulted) spec. */
export function schemaProblems(spec: unknown): Problem[] {
  const seen = new Set<string>();
  const problems: Problem[] = [];
  for (const error of Value.Errors(Wso2FrontendSpec, spec)) {
    if (measuredInUtf16(error)) continue;
    const problem = { path: fieldPath(error.path, Wso2FrontendSpec), message: describe(error) };
    const key = formatProblem(problem);
    if (!seen.has(key)) {
      seen.add(key);
      problems.push(problem);
    }
  }
  return problems;
}
