// User-provided mode: the frontend serves a certificate from a Secret the user names (often one
// cert-manager manages). The operator never changes that Secret; it checks it and reports, in a
// condition and an Event, everything that would make clients fail.
import {
  coversName,
  describeCertificate,
  keyMatches,
  readCertificateChain,
  readPrivateKey,
  subjectAltNames,
  validityOf,
  type CertificateProblem,
  type CertificateReason,
  type SecretStringData,
} from './certificate.js';

export interface ProvidedCertificateCheck {
  /** CertificateValid when there is no problem, else the first problem's reason. */
  reason: CertificateReason;
  message: string;
  /** Every problem found, in the order a user would fix them. */
  problems: CertificateProblem[];
  /** The validity of the certificate in tls.crt when it parses (for status.certificateNotAfter). */
  notBefore?: Date;
  notAfter?: Date;
}

/** Checks a kubernetes.io/tls Secret against the host names the frontend serves with it, at `now`. */
export function checkProvidedCertificate(
  secretData: SecretStringData,
  hostNames: readonly string[],
  now: Date,
): ProvidedCertificateCheck {
  const chain = readCertificateChain(secretData['tls.crt']);
  const key = readPrivateKey(secretData['tls.key']);
  const problems: CertificateProblem[] = [chain, key].flatMap((read) => (read.ok ? [] : [read.problem]));
  if (!chain.ok) return failed(problems);

  const { leaf } = chain.value;
  const certificate = describeCertificate(leaf);
  if (key.ok && !keyMatches(leaf, key.value)) {
    // The key of a later certificate that the first one issued: a chain written CA (or
    // intermediate) first, as some tools export it, rather than a wrong key.
    const owner = chain.value.certificates.findIndex((c) => keyMatches(c, key.value));
    const reversed = owner > 0 && chain.value.certificates[owner]!.checkIssued(leaf);
    problems.push({
      reason: 'KeyMismatch',
      message: reversed
        ? `tls.crt lists its certificates in the wrong order: tls.key belongs to certificate ${owner + 1} of ${chain.value.certificates.length} (${describeCertificate(chain.value.certificates[owner]!)}), which must come first, then the intermediates; the first is the ${certificate}`
        : `tls.key is not the private key of the ${certificate} in tls.crt`,
    });
  }
  const { notBefore, notAfter } = validityOf(leaf);
  if (now < notBefore) {
    problems.push({
      reason: 'CertificateNotYetValid',
      message: `the ${certificate} is valid only from ${notBefore.toISOString()}`,
    });
  }
  if (now > notAfter) {
    problems.push({ reason: 'CertificateExpired', message: `the ${certificate} expired at ${notAfter.toISOString()}` });
  }
  const names = subjectAltNames(leaf);
  for (const host of hostNames.filter((name) => !coversName(leaf, name))) {
    const has =
      names.length > 0 ? `its names are ${names.join(', ')}` : 'it has no DNS or IP subject alternative names';
    problems.push({ reason: 'HostNotCovered', message: `the ${certificate} does not cover host ${host}: ${has}` });
  }
  if (problems.length > 0) return { ...failed(problems), notBefore, notAfter };
  const message = `the ${certificate} is valid until ${notAfter.toISOString()} and covers ${hostNames.join(', ')}`;
  return { reason: 'CertificateValid', message, problems, notBefore, notAfter };
}

function failed(problems: CertificateProblem[]): Pick<ProvidedCertificateCheck, 'reason' | 'message' | 'problems'> {
  return { reason: problems[0]!.reason, message: problems.map((p) => p.message).join('; '), problems };
}
