// Text that comes from a pod (a termination message, a probe's error) and goes onto the
// frontend's status and into Events: whoever can write a pod's status or annotations writes it.

/** One line of printable text of at most `limit` characters (code points), ending in … when cut. */
export function oneLine(text: string, limit: number): string {
  const clean = text
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const chars = [...clean];
  return chars.length > limit ? `${chars.slice(0, limit - 1).join('')}…` : clean;
}
