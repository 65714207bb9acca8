// What status and metrics report about certificate lifetimes.

/** The first expiry among the certificates a frontend serves (status.certificateNotAfter). */
export function earliestNotAfter(certificates: readonly { notAfter: Date }[]): Date | undefined {
  return certificates.reduce<Date | undefined>(
    (earliest, { notAfter }) => (earliest === undefined || notAfter < earliest ? notAfter : earliest),
    undefined,
  );
}

/** Whole seconds left before a certificate expires; negative once it has (for a gauge metric). */
export function secondsUntilExpiry(notAfter: Date, now: Date): number {
  return Math.floor((notAfter.getTime() - now.getTime()) / 1000);
}
