// What the agent serves, decided from the ConfigMap and Secrets it watched (pure).
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import {
  CERTIFICATES_ANNOTATION,
  CONFIG_HASH_ANNOTATION,
  certificateFingerprint,
  formatSecretMount,
  parseSecretMount,
  type SecretMount,
} from '../../src/api/agent.js';
import { assemble } from '../../src/agent/configuration.js';

const HASH = '0123456789abcdef';
const b64 = (text: string) => Buffer.from(text).toString('base64');
const configMap = (annotations: Record<string, string>, data = { 'nginx.conf': 'events {}\n' }): V1ConfigMap => ({
  metadata: { name: 'fe-nginx', annotations },
  data,
});
const secret = (certificate: string): V1Secret => ({
  metadata: { name: 'fe-tls-portal' },
  data: { 'tls.crt': b64(certificate), 'tls.key': b64('KEY'), 'ca.crt': b64('CA') },
});
const mounts: SecretMount[] = [{ dir: 'tls/portal', secret: 'fe-tls-portal', keys: ['tls.crt', 'tls.key'] }];

test('--secret DIR=SECRET:KEYS lays a Secret out under a relative directory', () => {
  expect(parseSecretMount('tls/portal=fe-tls-portal:tls.crt,tls.key')).toEqual(mounts[0]);
  expect(parseSecretMount(formatSecretMount(mounts[0]!))).toEqual(mounts[0]);
  expect(parseSecretMount('tls/backend-ca=ca')).toEqual({ dir: 'tls/backend-ca', secret: 'ca' });
  expect(() => parseSecretMount('../etc=x')).toThrow(/DIR must be a relative path/);
  expect(() => parseSecretMount('/etc=x')).toThrow(/DIR must be a relative path/);
  expect(() => parseSecretMount('tls')).toThrow(/expected DIR=SECRET/);
});

test('the files are the ConfigMap keys plus the chosen Secret keys under their directory', () => {
  const assembly = assemble(
    configMap({ [CONFIG_HASH_ANNOTATION]: HASH, [CERTIFICATES_ANNOTATION]: certificateFingerprint('CERT') }),
    new Map([['fe-tls-portal', secret('CERT')]]),
    mounts,
  );
  expect(assembly).toEqual({
    ready: true,
    configuration: {
      hash: HASH,
      files: { 'nginx.conf': 'events {}\n', 'tls/portal/tls.crt': 'CERT', 'tls/portal/tls.key': 'KEY' },
      digest: expect.stringMatching(/^[0-9a-f]{64}$/),
    },
  });
});

test('nothing is served while a Secret still holds another certificate than the one the ConfigMap was rendered for', () => {
  const assembly = assemble(
    configMap({ [CONFIG_HASH_ANNOTATION]: HASH, [CERTIFICATES_ANNOTATION]: certificateFingerprint('NEW') }),
    new Map([['fe-tls-portal', secret('OLD')]]),
    mounts,
  );
  expect(assembly).toEqual({
    ready: false,
    waiting: `configuration ${HASH} was rendered for certificate(s) ${certificateFingerprint('NEW')}, which no watched Secret holds yet`,
  });
});

test('a missing ConfigMap, hash, Secret or key is waited for, and named', () => {
  const secrets = new Map([['fe-tls-portal', secret('CERT')]]);
  expect(assemble(undefined, secrets, mounts)).toEqual({ ready: false, waiting: 'the ConfigMap does not exist' });
  expect(assemble(configMap({ [CONFIG_HASH_ANNOTATION]: 'not-a-hash' }), secrets, mounts)).toEqual({
    ready: false,
    waiting: `ConfigMap fe-nginx has no valid ${CONFIG_HASH_ANNOTATION} annotation (16 hex digits)`,
  });
  expect(assemble(configMap({ [CONFIG_HASH_ANNOTATION]: HASH }), new Map(), mounts)).toEqual({
    ready: false,
    waiting: 'Secret fe-tls-portal does not exist',
  });
  expect(
    assemble(configMap({ [CONFIG_HASH_ANNOTATION]: HASH }), secrets, [{ ...mounts[0]!, keys: ['tls.pem'] }]),
  ).toEqual({ ready: false, waiting: 'Secret fe-tls-portal has no key tls.pem' });
});

test('the digest tells apart two sets with the same hash', () => {
  const annotations = { [CONFIG_HASH_ANNOTATION]: HASH };
  const a = assemble(configMap(annotations), new Map([['fe-tls-portal', secret('A')]]), mounts);
  const b = assemble(configMap(annotations), new Map([['fe-tls-portal', secret('B')]]), mounts);
  expect(a.ready && b.ready && a.configuration.digest !== b.configuration.digest).toBe(true);
});
