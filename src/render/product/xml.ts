// Carbon 4 XML files (carbon.xml, catalina-server.xml, api-manager.xml, axis2.xml). Serializing a
// DOM would rewrite quoting, entities and whitespace, so @xmldom/xmldom only locates: it parses the
// file and gives each node's line and column; the edit is then a range-exact replacement of one
// attribute value or one element's text, or an insertion of one attribute or element, and the
// result is re-parsed and checked.
import { DOMParser, type Element, type Node } from '@xmldom/xmldom';
import type { XmlAttributeSetting, XmlStep, XmlTextSetting } from '../../model/product-config.js';
import { lineEnding, ProductConfigError, type FilePatch, type Override } from './errors.js';

type XmlSetting = XmlTextSetting | XmlAttributeSetting;

const ELEMENT_NODE = 1;

const describeStep = (s: XmlStep) =>
  s.name +
  Object.entries(s.attributes ?? {})
    .map(([k, v]) => `[@${k}="${v}"]`)
    .join('');

/** The key as a path of elements: `Server/Service/Connector[@port="9443"]/@proxyPort`. */
export function xmlKeyName(setting: XmlSetting): string {
  const path = setting.element.map(describeStep).join('/');
  return setting.kind === 'xml-attribute' ? `${path}/@${setting.attribute}` : path;
}

function parse(file: string, text: string) {
  const problems: { message: string; line: number | undefined }[] = [];
  const parser = new DOMParser({
    onError: (level, message, context) => {
      if (level === 'warning') return;
      const locator = (context as { locator?: { lineNumber?: number } } | undefined)?.locator;
      problems.push({ message: message.split('\n')[0]!.trim(), line: locator?.lineNumber });
    },
  });
  try {
    const document = parser.parseFromString(text, 'text/xml');
    const problem = problems[0];
    if (problem) throw new ProductConfigError(file, problem.line || undefined, problem.message);
    if (!document.documentElement) throw new ProductConfigError(file, 1, 'no root element');
    return document;
  } catch (e) {
    if (e instanceof ProductConfigError) throw e;
    const error = e as Error & { locator?: { lineNumber?: number } };
    const problem = problems[0];
    throw new ProductConfigError(
      file,
      problem?.line ?? (error.locator?.lineNumber || undefined),
      problem?.message ?? error.message,
    );
  }
}

const localName = (n: Node) => (n as Element).localName ?? n.nodeName;

const childElements = (parent: Element): Element[] => {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) if (n.nodeType === ELEMENT_NODE) out.push(n as Element);
  return out;
};

const matches = (e: Element, step: XmlStep) =>
  localName(e) === step.name && Object.entries(step.attributes ?? {}).every(([k, v]) => e.getAttribute(k) === v);

/** Offsets of line starts, for xmldom's 1-based line and column. */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\n') starts.push(i + 1);
    else if (text[i] === '\r' && text[i + 1] !== '\n') starts.push(i + 1);
  }
  return starts;
}

function offsetOf(starts: number[], node: Node): number {
  const { lineNumber, columnNumber } = node as Node & { lineNumber: number; columnNumber: number };
  return starts[lineNumber - 1]! + columnNumber - 1;
}

/** End of the start tag that opens at `open` (just past its `>`), skipping quoted attribute values. */
function startTagEnd(text: string, open: number): number {
  let quote: string | undefined;
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '>') return i + 1;
  }
  return text.length;
}

/** End of an element: where the node after it starts, else past its own end tag. */
function elementEnd(text: string, starts: number[], element: Element): number {
  if (element.nextSibling) return offsetOf(starts, element.nextSibling);
  const open = offsetOf(starts, element);
  const tagEnd = startTagEnd(text, open);
  if (text[tagEnd - 2] === '/') return tagEnd;
  const close = text.indexOf('</', tagEnd);
  return text.indexOf('>', close) + 1;
}

const indentBefore = (text: string, offset: number): string => {
  const lineStart = Math.max(text.lastIndexOf('\n', offset - 1) + 1, 0);
  const prefix = text.slice(lineStart, offset);
  return /^[ \t]*$/.test(prefix) ? prefix : '';
};

const escapeText = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeAttribute = (v: string) => escapeText(v).replace(/"/g, '&quot;');

const ATTRIBUTE = /(\s+)([A-Za-z_:][-\w.:]*)(\s*=\s*)("([^"]*)"|'([^']*)')/g;

function attributesIn(tag: string) {
  return [...tag.matchAll(ATTRIBUTE)].map((m) => ({
    name: m[2]!,
    separator: m[1]!,
    valueStart: m.index + m[1]!.length + m[2]!.length + m[3]!.length + 1,
    valueEnd: m.index + m[0].length - 1,
    end: m.index + m[0].length,
  }));
}

/** Resolves the element path; the last step may be missing (returned as undefined with its parent). */
function resolve(file: string, root: Element, setting: XmlSetting): { parent: Element; element?: Element } {
  const [first, ...rest] = setting.element;
  if (!first || !matches(root, first))
    throw new ProductConfigError(file, undefined, `expected root element <${first?.name}>, found <${localName(root)}>`);
  let parent = root;
  for (const [i, step] of rest.entries()) {
    const found = childElements(parent).find((e) => matches(e, step));
    if (found) {
      if (i === rest.length - 1) return { parent, element: found };
      parent = found;
      continue;
    }
    if (i === rest.length - 1 && setting.kind === 'xml-text') return { parent };
    throw new ProductConfigError(
      file,
      undefined,
      `no ${setting.element
        .slice(0, i + 2)
        .map(describeStep)
        .join('/')} element, needed to set ${xmlKeyName(setting)}`,
    );
  }
  return { parent: root, element: root };
}

function elementText(element: Element): string | undefined {
  if (childElements(element).length) return undefined;
  return element.textContent ?? '';
}

function applySetting(file: string, text: string, setting: XmlSetting): { text: string; override?: Override } {
  const document = parse(file, text);
  const starts = lineStarts(text);
  const { parent, element } = resolve(file, document.documentElement!, setting);
  const key = xmlKeyName(setting);

  if (setting.kind === 'xml-attribute') {
    const target = element!;
    const open = offsetOf(starts, target);
    const tag = text.slice(open, startTagEnd(text, open));
    const attributes = attributesIn(tag);
    const existing = attributes.find((a) => a.name === setting.attribute);
    if (existing) {
      if (target.getAttribute(setting.attribute) === setting.value) return { text };
      const found = tag.slice(existing.valueStart, existing.valueEnd);
      return {
        text:
          text.slice(0, open + existing.valueStart) +
          escapeAttribute(setting.value) +
          text.slice(open + existing.valueEnd),
        override: { file, key, found, value: setting.value },
      };
    }
    // After the attribute the element was found by, with the spacing before it (one per line in Carbon's files).
    const anchorName = Object.keys(setting.element[setting.element.length - 1]!.attributes ?? {})[0];
    const anchor = attributes.find((a) => a.name === anchorName) ?? attributes[attributes.length - 1];
    const at = open + (anchor ? anchor.end : localName(target).length + 1);
    const separator = anchor?.separator ?? ' ';
    return {
      text: text.slice(0, at) + `${separator}${setting.attribute}="${escapeAttribute(setting.value)}"` + text.slice(at),
    };
  }

  const step = setting.element[setting.element.length - 1]!;
  if (element) {
    const current = elementText(element);
    if (current === undefined)
      throw new ProductConfigError(
        file,
        (element as unknown as { lineNumber: number }).lineNumber,
        `${key} has child elements; expected text`,
      );
    if (current.trim() === setting.value) return { text };
    const open = offsetOf(starts, element);
    const tagEnd = startTagEnd(text, open);
    const override: Override | undefined =
      current.trim() === setting.stock ? undefined : { file, key, found: current.trim(), value: setting.value };
    if (text[tagEnd - 2] === '/') {
      const tag = text.slice(open, tagEnd - 2).replace(/\s+$/, '');
      return {
        text: text.slice(0, open) + `${tag}>${escapeText(setting.value)}</${element.nodeName}>` + text.slice(tagEnd),
        ...(override ? { override } : {}),
      };
    }
    const close = text.indexOf('</', tagEnd);
    return {
      text: text.slice(0, tagEnd) + escapeText(setting.value) + text.slice(close),
      ...(override ? { override } : {}),
    };
  }

  const attributes = Object.entries(step.attributes ?? {})
    .map(([k, v]) => ` ${k}="${escapeAttribute(v)}"`)
    .join('');
  const created = `<${step.name}${attributes}>${escapeText(setting.value)}</${step.name}>`;
  const eol = lineEnding(text);
  const anchor = setting.insertAfter
    ? childElements(parent).find((e) => localName(e) === setting.insertAfter)
    : undefined;
  if (anchor) {
    const at = elementEnd(text, starts, anchor);
    const indent = indentBefore(text, offsetOf(starts, anchor));
    return { text: text.slice(0, at) + eol + indent + created + text.slice(at) };
  }
  const parentOpen = offsetOf(starts, parent);
  const at = startTagEnd(text, parentOpen);
  const firstChild = childElements(parent)[0];
  const indent = firstChild
    ? indentBefore(text, offsetOf(starts, firstChild))
    : indentBefore(text, parentOpen) + '    ';
  return { text: text.slice(0, at) + eol + indent + created + text.slice(at) };
}

/** The value a setting has in a parsed document, for the check after patching. */
function valueIn(file: string, root: Element, setting: XmlSetting): string | undefined {
  const { element } = resolve(file, root, setting);
  if (!element) return undefined;
  return setting.kind === 'xml-attribute'
    ? (element.getAttribute(setting.attribute) ?? undefined)
    : elementText(element)?.trim();
}

/** Sets exactly the owned attributes and element texts of a Carbon 4 XML file and keeps every other byte. */
export function patchXml(file: string, base: string, settings: readonly XmlSetting[]): FilePatch {
  let text = base;
  const overrides: Override[] = [];
  for (const setting of settings) {
    const result = applySetting(file, text, setting);
    text = result.text;
    if (result.override) overrides.push(result.override);
  }
  const root = parse(file, text).documentElement!;
  for (const setting of settings) {
    if (valueIn(file, root, setting) !== setting.value)
      throw new ProductConfigError(file, undefined, `patching did not set ${xmlKeyName(setting)}`);
  }
  return { text, overrides };
}
