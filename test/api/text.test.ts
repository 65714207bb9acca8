// Text from pods, Secrets, ConfigMaps, webhooks and cert-manager on its way to the status and Events.
import { cut, cutUtf8, oneLine } from '../../src/api/text.js';

test('oneLine: control, format and line-separator characters become one space; cut at a character', () => {
  expect(oneLine('a\nb\r\n\tc\u202ed\u200be\u2028f  g ', 100)).toBe('a b c d e f g');
  expect(oneLine('🙂'.repeat(5), 3)).toBe('🙂🙂…');
  expect(oneLine('short', 5)).toBe('short');
  expect(oneLine('  a  ', 1)).toBe('a');
  expect(oneLine(`${'x'.repeat(1 << 20)}\n`, 200)).toBe(`${'x'.repeat(199)}…`); // a whole file's value
});

test('cut: at most the limit in code points, text otherwise untouched', () => {
  expect(cut('a\nb', 10)).toBe('a\nb');
  expect(cut('🙂'.repeat(4), 4)).toBe('🙂'.repeat(4)); // 8 UTF-16 units, 4 characters
  expect(cut('🙂'.repeat(5), 4)).toBe('🙂🙂🙂…');
  expect([...cut('x'.repeat(40_000), 32_768)]).toHaveLength(32_768);
});

test('cutUtf8: at most the limit in bytes of UTF-8, at a character boundary', () => {
  expect(cutUtf8('abc', 3)).toBe('abc');
  expect(cutUtf8('abcd', 3)).toBe('…'); // the ellipsis alone takes 3 bytes
  expect(cutUtf8('ü'.repeat(10), 10)).toBe('üüü…'); // 6 + 3 bytes; a fourth ü would make 11
  const emoji = cutUtf8('🙂'.repeat(300), 1024);
  expect(Buffer.byteLength(emoji)).toBe(1023);
  expect(emoji).toBe(`${'🙂'.repeat(255)}…`);
});
