// Serial numbers: whatever random bytes a certificate's serial is made of, the certificate reads
// back and a decision an hour later keeps it. bench/tls.ts once stopped with "expected keep":
// forge drops only one leading zero byte of an INTEGER, OpenSSL refuses more ("illegal padding"),
// so a serial starting 00 00 then a byte below 0x80 (one in 65,536) gave a certificate Node could
// not parse, and the decision was to issue again.
import { X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { caSecretData, issueCa, tlsSecretData, type KeyAndCertificate } from '../../src/tls/issuer.js';
import { decideCa, decideServerCertificate } from '../../src/tls/renewal.js';
import { createCertificate, generateRsaKeyPair, serialNumberHex, type KeyPair } from '../../src/tls/x509.js';
import { DAY, T0, at } from './tools.js';

const NAMES = ['api.am.wso2.com'];
const HOUR_LATER = at(3600_000);

/** 16 bytes starting with `prefix`, the rest 0xab. */
function serialBytes(...prefix: number[]): Uint8Array {
  return Uint8Array.from([...prefix, ...Array<number>(16 - prefix.length).fill(0xab)]);
}

let ca: KeyAndCertificate;
let keyPair: KeyPair;

beforeAll(() => {
  ca = issueCa('wso2-frontend default/serial', { now: T0 });
  keyPair = generateRsaKeyPair();
});

function leafWithSerial(bytes: Uint8Array): KeyAndCertificate {
  const notAfter = at(90 * DAY);
  const certificatePem = createCertificate(
    {
      subject: { commonName: NAMES[0]! },
      keyPair,
      notBefore: T0,
      notAfter,
      isCA: false,
      serverAuth: true,
      subjectAltNames: NAMES.map((dns) => ({ dns })),
      serialNumberBytes: bytes,
    },
    { certificatePem: ca.certificatePem, keyPair: { privateKeyPem: ca.privateKeyPem } },
  );
  return { certificatePem, privateKeyPem: keyPair.privateKeyPem, notBefore: T0, notAfter };
}

/** The content octets of a DER INTEGER as forge writes it into the certificate. */
function derIntegerContent(hex: string): Buffer {
  const integer = forge.asn1.create(
    forge.asn1.Class.UNIVERSAL,
    forge.asn1.Type.INTEGER,
    false,
    forge.util.hexToBytes(hex),
  );
  const der = Buffer.from(forge.asn1.toDer(integer).getBytes(), 'binary');
  return der.subarray(2);
}

describe('a server certificate whose random serial bytes start with zeros', () => {
  test.each([
    ['00 00 00 (the case that stopped the benchmark)', serialBytes(0x00, 0x00, 0x00)],
    ['00 00 7f', serialBytes(0x00, 0x00, 0x7f)],
    ['00 00 80', serialBytes(0x00, 0x00, 0x80)],
    ['00 05', serialBytes(0x00, 0x05)],
    ['all zero', new Uint8Array(16)],
    ['all 0xff', new Uint8Array(16).fill(0xff)],
  ])('%s reads back and is kept an hour later', (_, bytes) => {
    const leaf = leafWithSerial(bytes);
    expect(() => new X509Certificate(leaf.certificatePem)).not.toThrow();
    const decision = decideServerCertificate(HOUR_LATER, tlsSecretData(leaf, ca), NAMES, {
      caCertificatePem: ca.certificatePem,
    });
    expect(decision).toMatchObject({ action: 'keep', reason: 'CertificateValid' });
  });
});

describe('a CA whose random serial bytes start with zeros', () => {
  test('reads back and is kept: a needless new CA would break every client that trusts the old one', () => {
    const certificatePem = createCertificate({
      subject: { commonName: 'wso2-frontend default/serial' },
      keyPair,
      notBefore: T0,
      notAfter: at(3650 * DAY),
      isCA: true,
      serialNumberBytes: serialBytes(0x00, 0x00, 0x00),
    });
    const stored = caSecretData({
      certificatePem,
      privateKeyPem: keyPair.privateKeyPem,
      notBefore: T0,
      notAfter: at(3650 * DAY),
    });
    expect(decideCa(HOUR_LATER, stored)).toMatchObject({ action: 'keep', reason: 'CertificateValid' });
  });
});

describe('serialNumberHex', () => {
  test('gives a positive, minimally encoded DER INTEGER of 16 octets for every value of the first two bytes', () => {
    const bad: string[] = [];
    for (let first = 0; first < 256; first++) {
      for (let second = 0; second < 256; second++) {
        for (const third of [0x00, 0x7f, 0x80, 0xff]) {
          const hex = serialNumberHex(serialBytes(first, second, third));
          const content = derIntegerContent(hex);
          const minimal = content[0] !== 0x00 || (content[1]! & 0x80) !== 0;
          const positive = (content[0]! & 0x80) === 0;
          if (!minimal || !positive || content.length !== 16) bad.push(hex);
        }
      }
    }
    expect(bad).toEqual([]);
  });

  test('keeps the random bytes after the first as they are', () => {
    const bytes = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
    expect(serialNumberHex(bytes).slice(2)).toBe(Buffer.from(bytes).toString('hex').slice(2));
  });

  test('does not change the bytes it is given', () => {
    const bytes = serialBytes(0x00, 0x00, 0x00);
    serialNumberHex(bytes);
    expect(bytes[0]).toBe(0x00);
  });
});
