// Kubernetes resource quantities (500m, 2, 1.5Gi) compared exactly, as the API server's CEL
// quantity library compares them, for the offline twin of the requests-within-limits rule.
import { QUANTITY } from './schema.js';

const DECIMAL_EXPONENT: Record<string, number> = { m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_EXPONENT: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const quantity = new RegExp(QUANTITY);

export const isQuantity = (text: string) => quantity.test(text);

/** The quantity as an integer count of 10^-SCALE units (the pattern's digits are bounded by its maxLength). */
const SCALE = 80;
function units(text: string): bigint {
  const [, whole = '', fraction = '', suffix = ''] = /^([0-9]+)(?:\.([0-9]+))?([a-zA-Z]*)$/.exec(text)!;
  let value = BigInt(whole + fraction) * 10n ** BigInt(SCALE - fraction.length);
  if (suffix in BINARY_EXPONENT) value *= 2n ** BigInt(BINARY_EXPONENT[suffix]!);
  else value = scaleByTen(value, DECIMAL_EXPONENT[suffix]!);
  return value;
}

const scaleByTen = (value: bigint, exponent: number) =>
  exponent >= 0 ? value * 10n ** BigInt(exponent) : value / 10n ** BigInt(-exponent);

/** Negative, zero or positive as a is less than, equal to or greater than b. */
export function compareQuantities(a: string, b: string): number {
  const [x, y] = [units(a), units(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}
