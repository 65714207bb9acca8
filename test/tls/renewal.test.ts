// When self-signed certificates are kept, renewed or reissued, decided from a fixed clock and the
// stored Secret data. A restart or re-render must never reissue anything.
import { parseTlsSecretData, type SecretStringData } from '../../src/tls/certificate.js';
import {
  caSecretData,
  issueCa,
  issueServerCertificate,
  tlsSecretData,
  type KeyAndCertificate,
  type TlsSecretData,
} from '../../src/tls/issuer.js';
import { decideCa, decideServerCertificate, renewalTime } from '../../src/tls/renewal.js';
import { DAY, T0, at, issuedAtT0 } from './tools.js';

const NAMES = ['api.am.wso2.com', 'gw.am.wso2.com', 'localhost', '127.0.0.1'];

let ca: KeyAndCertificate;
let leaf: KeyAndCertificate;
let stored: TlsSecretData;

beforeAll(() => {
  ({ ca, leaf, secret: stored } = issuedAtT0('wso2-frontend default/apim', NAMES));
});

const decide = (now: Date, data: SecretStringData | undefined, names = NAMES, renewBefore?: number) =>
  decideServerCertificate(now, data, names, { caCertificatePem: ca.certificatePem, renewBefore });

describe('renewalTime', () => {
  test('is at two thirds of the lifetime by default', () => {
    expect(renewalTime(T0, at(90 * DAY))).toEqual(at(60 * DAY));
  });

  test('is renewBefore ahead of notAfter when given', () => {
    expect(renewalTime(T0, at(90 * DAY), 7 * DAY)).toEqual(at(83 * DAY));
  });

  test('is notAfter itself when renewBefore is zero', () => {
    expect(renewalTime(T0, at(90 * DAY), 0)).toEqual(at(90 * DAY));
  });

  test('falls back to two thirds when renewBefore is not shorter than the lifetime', () => {
    expect(renewalTime(T0, at(90 * DAY), 90 * DAY)).toEqual(at(60 * DAY));
    expect(renewalTime(T0, at(90 * DAY), 365 * DAY)).toEqual(at(60 * DAY));
  });

  test('rejects a negative renewBefore', () => {
    expect(() => renewalTime(T0, at(90 * DAY), -1)).toThrow(
      'renewBefore must be a duration of zero or more milliseconds, got -1',
    );
  });
});

describe('a stored server certificate', () => {
  test('is kept before its renewal time, with notAfter and renewAt for status', () => {
    expect(decide(at(DAY), stored)).toEqual({
      action: 'keep',
      reason: 'CertificateValid',
      message: 'the server certificate is valid until 2026-04-01T00:00:00.000Z, renewal at 2026-03-02T00:00:00.000Z',
      notAfter: at(90 * DAY),
      renewAt: at(60 * DAY),
    });
  });

  test('is kept one millisecond before its renewal time', () => {
    expect(decide(at(60 * DAY - 1), stored).action).toBe('keep');
  });

  test('is renewed exactly at its renewal time', () => {
    expect(decide(at(60 * DAY), stored)).toEqual({
      action: 'renew',
      reason: 'RenewalDue',
      message:
        'the server certificate was due for renewal at 2026-03-02T00:00:00.000Z; it expires at 2026-04-01T00:00:00.000Z',
      notAfter: at(90 * DAY),
      renewAt: at(60 * DAY),
    });
  });

  test('is due, not yet expired, exactly at notAfter (the last valid instant, RFC 5280)', () => {
    expect(decide(at(90 * DAY), stored).reason).toBe('RenewalDue');
  });

  test('is renewed as expired one millisecond after notAfter', () => {
    expect(decide(at(90 * DAY + 1), stored)).toMatchObject({
      action: 'renew',
      reason: 'CertificateExpired',
      message: 'the server certificate expired at 2026-04-01T00:00:00.000Z',
    });
  });

  test('follows renewBefore when given', () => {
    expect(decide(at(83 * DAY - 1), stored, NAMES, 7 * DAY).action).toBe('keep');
    expect(decide(at(83 * DAY), stored, NAMES, 7 * DAY)).toMatchObject({
      action: 'renew',
      reason: 'RenewalDue',
      renewAt: at(83 * DAY),
    });
  });

  test('is kept when the same names come in another order, case or spelling of an IP address', () => {
    const v6 = tlsSecretData(issueServerCertificate(ca, ['a.example.com', '::1'], { now: T0 }), ca);
    expect(decide(at(DAY), stored, ['LocalHost', '127.0.0.1', 'GW.am.wso2.com', 'api.am.wso2.com']).action).toBe(
      'keep',
    );
    expect(decide(at(DAY), v6, ['0:0::1', 'a.example.com']).action).toBe('keep');
  });

  test('is reissued when host names were added and removed, reporting which', () => {
    expect(decide(at(DAY), stored, ['api.am.wso2.com', 'store.am.wso2.com', 'localhost', '127.0.0.1'])).toEqual({
      action: 'issue',
      reason: 'HostsChanged',
      message: 'the host names changed: added store.am.wso2.com; removed gw.am.wso2.com',
      added: ['store.am.wso2.com'],
      removed: ['gw.am.wso2.com'],
    });
  });

  test('is reissued when an extra IP SAN is dropped', () => {
    expect(decide(at(DAY), stored, ['api.am.wso2.com', 'gw.am.wso2.com', 'localhost'])).toMatchObject({
      reason: 'HostsChanged',
      added: [],
      removed: ['127.0.0.1'],
    });
  });

  test('is reissued when it was signed by another CA', () => {
    const otherCa = issueCa('another CA', { now: T0 });
    const foreign = tlsSecretData(issueServerCertificate(otherCa, NAMES, { now: T0 }), otherCa);
    expect(decide(at(DAY), foreign)).toEqual({
      action: 'issue',
      reason: 'IssuerChanged',
      message: `the stored certificate "CN=api.am.wso2.com" (serial ${serialOf(foreign)}) or its ca.crt is not from the current CA "CN=wso2-frontend default/apim" (serial ${serialOf(stored, 'ca.crt')})`,
    });
  });

  test('is reissued when its ca.crt is not the current CA, even though the leaf is', () => {
    const otherCa = issueCa('another CA', { now: T0 });
    expect(decide(at(DAY), { ...stored, 'ca.crt': otherCa.certificatePem }).reason).toBe('IssuerChanged');
  });

  test('is issued when nothing is stored', () => {
    expect(decide(T0, undefined)).toEqual({
      action: 'issue',
      reason: 'CertificateMissing',
      message: 'no server certificate is stored yet',
    });
  });

  test('is issued when tls.crt is missing, naming every missing key', () => {
    expect(decide(T0, {})).toEqual({
      action: 'issue',
      reason: 'CertificateMissing',
      message: 'the stored server certificate is unusable: tls.crt is missing or empty; tls.key is missing or empty',
    });
  });

  test('is issued when only tls.key is missing', () => {
    expect(decide(T0, { ...stored, 'tls.key': '' }).reason).toBe('KeyMissing');
  });

  test('is issued when tls.crt holds no certificate', () => {
    expect(decide(T0, { ...stored, 'tls.crt': 'not a certificate' })).toEqual({
      action: 'issue',
      reason: 'CertificateUnparseable',
      message:
        'the stored server certificate is unusable: tls.crt does not hold PEM X.509 certificates ("-----BEGIN CERTIFICATE-----" blocks, leaf first)',
    });
  });

  test('is issued when tls.crt holds a damaged certificate', () => {
    const damaged = stored['tls.crt'].replace(/^(-----BEGIN CERTIFICATE-----\n)MII/, '$1AAA');
    expect(decide(T0, { ...stored, 'tls.crt': damaged }).reason).toBe('CertificateUnparseable');
  });

  test('is issued when tls.key holds no key', () => {
    expect(
      decide(T0, { ...stored, 'tls.key': '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' }),
    ).toEqual({
      action: 'issue',
      reason: 'KeyUnparseable',
      message:
        'the stored server certificate is unusable: tls.key does not hold an unencrypted PEM private key (PKCS#8, PKCS#1 or SEC1)',
    });
  });

  test('is issued when tls.key belongs to another certificate', () => {
    const other = issueServerCertificate(ca, NAMES, { now: T0 });
    expect(decide(at(DAY), { ...stored, 'tls.key': other.privateKeyPem })).toEqual({
      action: 'issue',
      reason: 'KeyMismatch',
      message: `the stored server certificate is unusable: tls.key is not the private key of the certificate "CN=api.am.wso2.com" (serial ${serialOf(stored)}) in tls.crt`,
    });
  });

  test('is issued when it is not valid yet because the clock went back', () => {
    expect(decide(at(-1), stored)).toEqual({
      action: 'issue',
      reason: 'CertificateNotYetValid',
      message:
        'the stored server certificate is valid only from 2026-01-01T00:00:00.000Z, after now (2025-12-31T23:59:59.999Z): the clock went back',
    });
  });
});

describe('a restart', () => {
  test('re-running the decision on the stored Secret keeps it, and the data stays byte for byte the same', () => {
    const before = JSON.stringify(stored);
    const first = decide(at(DAY), stored);
    const again = decide(at(DAY), stored);
    expect(first.action).toBe('keep');
    expect(again).toEqual(first);
    expect(JSON.stringify(stored)).toBe(before);
  });

  test('the stored Secret parses back to the certificate and key it was made from, and renders to the same bytes', () => {
    const parsed = parseTlsSecretData(stored);
    if (!parsed.ok) throw new Error(parsed.problems.map((p) => p.message).join('; '));
    expect(parsed.stored.certificate).toEqual(leaf);
    expect(tlsSecretData(parsed.stored.certificate, ca)).toEqual(stored);
  });

  test('the stored CA is kept and handed back as issued, so leaves stay signed by the same key', () => {
    const decision = decideCa(at(DAY), caSecretData(ca));
    if (decision.action !== 'keep') throw new Error(decision.message);
    expect(decision.ca).toEqual(ca);
    expect(caSecretData(decision.ca)).toEqual(caSecretData(ca));
  });
});

describe('the stored CA', () => {
  const renewAt = () => renewalTime(ca.notBefore, ca.notAfter);

  test('renews at two thirds of its 10 years', () => {
    expect(renewAt()).toEqual(at((3650 * DAY * 2) / 3));
    expect(renewAt().toISOString()).toBe('2032-08-30T08:00:00.000Z');
  });

  test('is kept one millisecond before its renewal time, with notAfter and renewAt', () => {
    expect(decideCa(new Date(renewAt().getTime() - 1), caSecretData(ca))).toMatchObject({
      action: 'keep',
      reason: 'CertificateValid',
      message: 'the CA certificate is valid until 2035-12-30T00:00:00.000Z, renewal at 2032-08-30T08:00:00.000Z',
      notAfter: ca.notAfter,
      renewAt: renewAt(),
    });
  });

  test('is renewed exactly at its renewal time', () => {
    expect(decideCa(renewAt(), caSecretData(ca))).toEqual({
      action: 'renew',
      reason: 'RenewalDue',
      message:
        'the CA certificate was due for renewal at 2032-08-30T08:00:00.000Z; it expires at 2035-12-30T00:00:00.000Z',
      notAfter: ca.notAfter,
      renewAt: renewAt(),
    });
  });

  test('is renewed as expired one millisecond after notAfter', () => {
    expect(decideCa(new Date(ca.notAfter.getTime() + 1), caSecretData(ca)).reason).toBe('CertificateExpired');
  });

  test('is issued when nothing is stored', () => {
    expect(decideCa(T0, undefined)).toEqual({
      action: 'issue',
      reason: 'CertificateMissing',
      message: 'no CA certificate is stored yet',
    });
  });

  test('is issued when the stored certificate does not parse', () => {
    expect(decideCa(T0, { ...caSecretData(ca), 'tls.crt': 'garbage' }).reason).toBe('CertificateUnparseable');
  });

  test('is issued when the stored key is not the CA key', () => {
    expect(decideCa(T0, { ...caSecretData(ca), 'tls.key': leaf.privateKeyPem }).reason).toBe('KeyMismatch');
  });

  test('is issued when the stored certificate is not a CA', () => {
    expect(decideCa(T0, { 'tls.crt': leaf.certificatePem, 'tls.key': leaf.privateKeyPem })).toEqual({
      action: 'issue',
      reason: 'NotACertificateAuthority',
      message: `the stored certificate "CN=api.am.wso2.com" (serial ${serialOf(stored)}) is not a CA (basicConstraints CA:TRUE is missing)`,
    });
  });

  test('once renewed, has every server certificate reissued under the new CA, which then keeps them', () => {
    const renewedAt = renewAt();
    expect(decideCa(renewedAt, caSecretData(ca)).action).toBe('renew');
    const next = issueCa('wso2-frontend default/apim', { now: renewedAt });
    const options = { caCertificatePem: next.certificatePem };
    expect(decideServerCertificate(renewedAt, stored, NAMES, options).reason).toBe('IssuerChanged');
    const reissued = tlsSecretData(issueServerCertificate(next, NAMES, { now: renewedAt }), next);
    expect(decideServerCertificate(renewedAt, reissued, NAMES, options).action).toBe('keep');
  });
});

function serialOf(data: SecretStringData, key = 'tls.crt'): string {
  const parsed = parseTlsSecretData({
    'tls.crt': data[key],
    'tls.key': key === 'tls.crt' ? data['tls.key'] : ca.privateKeyPem,
  });
  if (!parsed.ok) throw new Error('fixture does not parse');
  return parsed.stored.leaf.serialNumber;
}
