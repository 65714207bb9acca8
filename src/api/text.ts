// Text that comes from a pod (a termination message, a probe's error) and goes onto the
// frontend's status and into Events: whoever can write a pod's status or annotations writes it.

/** Control, format and line or paragraph separator characters, and white space: each run becomes one space. */
const SEPARATOR = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\s]/u;

/**
 * One line of printable text of at most `limit` characters (code points), ending in … when cut.
 * Reads only as far as it needs: the text may be a whole file a user wrote.
 */
export function oneLine(text: string, limit: number): string {
  const kept: string[] = [];
  let space = false;
  for (const char of text) {
    if (SEPARATOR.test(char)) {
      space = kept.length > 0; // none at the start; one at the end is never written
      continue;
    }
    if (space) kept.push(' ');
    space = false;
    kept.push(char);
    if (kept.length > limit) break;
  }
  return kept.length > limit ? `${kept.slice(0, limit - 1).join('')}…` : kept.join('');
}

/** `text` cut to at most `limit` characters (code points), ending in … when cut; nothing else changed. */
export function cut(text: string, limit: number): string {
  if (text.length <= limit) return text; // UTF-16 units: never fewer than code points
  const chars = [...text];
  return chars.length > limit ? `${chars.slice(0, limit - 1).join('')}…` : text;
}

/** `text` cut to at most `maxBytes` bytes of UTF-8 at a character boundary, ending in … when cut. */
export function cutUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  let bytes = 3; // the … itself
  let kept = '';
  for (const char of text) {
    bytes += Buffer.byteLength(char, 'utf8');
    if (bytes > maxBytes) break;
    kept += char;
  }
  return `${kept}…`;
}

/**
 * `text` with every control, format, line or paragraph separator character but the newline and
 * the tab written as an escape (\x1b, \u202e): a message that echoes a user's input (a YAML
 * parser's excerpt of it, a file name) can then neither drive the terminal nor reorder its line.
 */
export function printable(text: string): string {
  return text.replace(/(?![\n\t])[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, (char) => {
    const code = char.codePointAt(0)!;
    return code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
