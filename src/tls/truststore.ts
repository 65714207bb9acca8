// The frontend's CA in the form WSO2 nodes (Java) load as a truststore: PKCS#12 with each CA as a
// trustedCertEntry. Java treats a certificate in PKCS#12 as trusted only when its bag carries
// Oracle's trusted-key-usage attribute; without it keytool drops a certificate that has no key.
import { createHash, X509Certificate } from 'node:crypto';
import forge from 'node-forge';

export interface TrustedCertificate {
  /** The keystore alias (PKCS#12 friendlyName). */
  alias: string;
  certificatePem: string;
}

/** Oracle's trusted-key-usage bag attribute (what `keytool -importcert` writes) and the usage it grants: any. */
const ORACLE_TRUSTED_KEY_USAGE = '2.16.840.1.113894.746875.1.1';
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';
/** The count `keytool` itself uses for the MAC. */
const MAC_ITERATIONS = 10_000;

const { asn1 } = forge;
const sequence = (...values: forge.asn1.Asn1[]) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, values);
const set = (...values: forge.asn1.Asn1[]) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, values);
const oid = (value: string) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(value).getBytes());
const octets = (bytes: string) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, bytes);
const explicit0 = (value: forge.asn1.Asn1) => asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [value]);
const der = (value: forge.asn1.Asn1) => asn1.toDer(value).getBytes();
/** PKCS#7 ContentInfo of type data: how PKCS#12 wraps each layer. */
const dataContent = (value: forge.asn1.Asn1) => sequence(oid(forge.pki.oids.data!), explicit0(octets(der(value))));

function certificateBag({ alias, certificatePem }: TrustedCertificate): forge.asn1.Asn1 {
  // Node reads the DER of any certificate; forge's parser takes only RSA keys, not an ECDSA CA.
  const certificateDer = new X509Certificate(certificatePem).raw.toString('binary');
  return sequence(
    oid(forge.pki.oids.certBag!),
    explicit0(sequence(oid(forge.pki.oids.x509Certificate!), explicit0(octets(certificateDer)))),
    set(
      sequence(
        oid(forge.pki.oids.friendlyName!),
        set(asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BMPSTRING, false, alias)),
      ),
      sequence(oid(ORACLE_TRUSTED_KEY_USAGE), set(oid(ANY_EXTENDED_KEY_USAGE))),
    ),
  );
}

/**
 * A PKCS#12 truststore (DER) holding each certificate as a trustedCertEntry under its alias, with an
 * integrity MAC keyed by `password`. Certificates are public, so they are stored unencrypted, and
 * the MAC salt is a hash of the content (never of the password): the same certificates and
 * password always give the same bytes, so re-rendering never rewrites the truststore.
 */
export function pkcs12Truststore(certificates: readonly TrustedCertificate[], password: string): Buffer {
  if (certificates.length === 0) throw new RangeError('a truststore needs at least one certificate');
  const aliases = certificates.map((c) => c.alias.toLowerCase());
  if (new Set(aliases).size !== aliases.length)
    throw new RangeError(`truststore aliases must be unique (case-insensitively): ${aliases.join(', ')}`);

  const authenticatedSafe = sequence(dataContent(sequence(...certificates.map(certificateBag))));
  const safeDer = der(authenticatedSafe);
  const salt = createHash('sha256').update(Buffer.from(safeDer, 'binary')).digest().subarray(0, 20).toString('binary');
  const macKey = forge.pkcs12.generateKey(password, forge.util.createBuffer(salt), 3, MAC_ITERATIONS, 20);
  const hmac = forge.hmac.create();
  hmac.start('sha1', macKey.getBytes());
  hmac.update(safeDer);
  const macData = sequence(
    sequence(
      sequence(oid(forge.pki.oids.sha1!), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, '')),
      octets(hmac.digest().getBytes()),
    ),
    octets(salt),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(MAC_ITERATIONS).getBytes()),
  );
  const pfx = sequence(
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(3).getBytes()),
    dataContent(authenticatedSafe),
    macData,
  );
  return Buffer.from(der(pfx), 'binary');
}
