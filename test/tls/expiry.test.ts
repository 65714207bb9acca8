// What status and metrics report about certificate lifetimes.
import { earliest, secondsUntilExpiry } from '../../src/tls/expiry.js';
import { DAY, T0, at } from './tools.js';

test('the earliest notAfter of the certificates a frontend serves is the one status reports', () => {
  expect(earliest([at(90 * DAY), at(30 * DAY), at(60 * DAY)])).toEqual(at(30 * DAY));
});

test('there is no earliest notAfter without certificates', () => {
  expect(earliest([])).toBeUndefined();
});

test('seconds until expiry count whole seconds left, zero at notAfter, negative after', () => {
  expect(secondsUntilExpiry(at(DAY), T0)).toBe(86_400);
  expect(secondsUntilExpiry(at(DAY), at(DAY - 1500))).toBe(1);
  expect(secondsUntilExpiry(at(DAY), at(DAY))).toBe(0);
  expect(secondsUntilExpiry(at(DAY), at(DAY + 1000))).toBe(-1);
});
