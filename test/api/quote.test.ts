// Values in messages are quoted exactly as the API server quotes them, so that a message can
// neither reorder the text around it (U+202E) nor break its line (CR, U+2028, NEL).
import { quote } from '../../src/api/validate.js';

test("a value in a message is quoted as the API server quotes it (Go's strconv.Quote)", () => {
  expect(quote('api.\u202emoc.elpmaxe')).toBe('"api.\\u202emoc.elpmaxe"');
  expect(quote('a\u2028b\u2029c\u0085d\u00a0e')).toBe('"a\\u2028b\\u2029c\\u0085d\\u00a0e"');
  expect(quote('\x1b[31m\r\n\t\x00\x7f')).toBe('"\\x1b[31m\\r\\n\\t\\x00\\x7f"');
  expect(quote('say "hi" \\ 😀 é')).toBe('"say \\"hi\\" \\\\ 😀 é"');
  expect(quote('\u{e0001}')).toBe('"\\U000e0001"');
});
