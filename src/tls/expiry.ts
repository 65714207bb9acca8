// What status and metrics report about certificate lifetimes.

/** The first of some certificate times: the earliest expiry (status.certificateNotAfter), the next renewal. */
export function earliest(times: Iterable<Date>): Date | undefined {
  let first: Date | undefined;
  for (const time of times) if (first === undefined || time < first) first = time;
  return first;
}

/** Whole seconds left before a certificate expires; negative once it has (for a gauge metric). */
export function secondsUntilExpiry(notAfter: Date, now: Date): number {
  return Math.floor((notAfter.getTime() - now.getTime()) / 1000);
}
