// No private key leaves its Secret. The operator runs as its own process (log level info: every
// line) and issues certificates for a frontend, reissues them when the hosts change, and reports
// on two user Secrets that are wrong in ways that put a key where a message might quote it: a
// key that belongs to another certificate, and a key pasted into tls.crt. Then every output a
// user or a tool can read (the operator's stdout and stderr, Events, the frontends as kubectl
// shows them with their status, kubectl describe, the metrics, the ConfigMaps) is searched for
// each private key in every form it can take: PEM lines, the base64 a Secret stores, the DER in
// hex, and the key's numbers as JWK and hex.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import type { Wso2Frontend } from '../../src/api/schema.js';
import { issueCa, issueServerCertificate } from '../../src/tls/issuer.js';
import { createNamespace, eventually, kubeConfig, kubectl } from '../support/cluster.js';
import { OperatorProcess } from '../support/operator-process.js';
import { example, installCrd } from '../support/resources.js';

const SELF_SIGNED = 'apim-active-active';
const MISMATCHED = 'mismatched-key';
const KEY_AS_CERTIFICATE = 'key-as-certificate';

let namespace: string;
let operator: OperatorProcess;
const core = () => kubeConfig().makeApiClient(k8s.CoreV1Api);

const condition = (f: Wso2Frontend, type: string) => f.status?.conditions?.find((c) => c.type === type);

async function frontend(name: string): Promise<Wso2Frontend> {
  return JSON.parse(await kubectl(['get', 'wso2frontend', name, '-n', namespace, '-o', 'json'])) as Wso2Frontend;
}

/** A frontend in secret mode naming `secretName`, with one NGINX replica. */
function secretModeFrontend(name: string, secretName: string): string {
  const resource = example('apim-active-active.yaml');
  resource.metadata = { name };
  resource.spec.nginx = { ...resource.spec.nginx, replicas: 1 };
  resource.spec.tls = { mode: 'secret', secretName };
  return yaml.dump(resource);
}

/** Every form a private key can be written in, each long enough not to match by chance. */
function keyForms(pem: string): string[] {
  const key = createPrivateKey(pem);
  const der = key.export({ type: 'pkcs8', format: 'der' });
  const jwk = key.export({ format: 'jwk' });
  const secretNumbers = ['d', 'p', 'q', 'dp', 'dq', 'qi']
    .map((n) => (jwk as Record<string, string | undefined>)[n])
    .filter((v): v is string => v !== undefined);
  const pemLines = pem.split('\n').filter((line) => /^[A-Za-z0-9+/=]{40,}$/.test(line));
  return [
    ...pemLines,
    pemLines.join(''),
    Buffer.from(pem).toString('base64').slice(0, 200),
    der.toString('base64').slice(40, 240),
    der.toString('hex').slice(80, 480),
    ...secretNumbers.map((n) => n.slice(0, 64)),
    ...secretNumbers.map((n) => Buffer.from(n, 'base64url').toString('hex').slice(0, 64)),
  ];
}

/** Every private key of the run, the replaced one too. */
const keys: string[] = [];
/** Those still stored in a Secret at the end. */
const storedKeys: string[] = [];

beforeAll(async () => {
  await installCrd();
  namespace = await createNamespace('key-material');
  operator = await OperatorProcess.start(['--namespace', namespace, '--health-port', '0', '--log-level', 'info']);

  // Two user Secrets, wrong in ways that put a key next to a message.
  const ca = issueCa('user CA', { now: new Date() });
  const hosts = ['api.am.wso2.com', 'gw.am.wso2.com'];
  const served = issueServerCertificate(ca, hosts, { now: new Date() });
  const other = issueServerCertificate(ca, hosts, { now: new Date() });
  keys.push(served.privateKeyPem, other.privateKeyPem, ca.privateKeyPem);
  const secret = (name: string, data: Record<string, string>) =>
    core().createNamespacedSecret({
      namespace,
      body: { metadata: { name }, type: 'Opaque', stringData: data },
    });
  await secret('mismatched-tls', {
    'tls.crt': served.certificatePem,
    'tls.key': other.privateKeyPem,
    'ca.crt': ca.certificatePem,
  });
  await secret('key-as-certificate-tls', { 'tls.crt': served.privateKeyPem, 'tls.key': served.privateKeyPem });

  const selfSigned = example('apim-active-active.yaml');
  selfSigned.spec.nginx = { ...selfSigned.spec.nginx, replicas: 1 };
  await kubectl(['apply', '-n', namespace, '-f', '-'], yaml.dump(selfSigned));
  await kubectl(['apply', '-n', namespace, '-f', '-'], secretModeFrontend(MISMATCHED, 'mismatched-tls'));
  await kubectl(
    ['apply', '-n', namespace, '-f', '-'],
    secretModeFrontend(KEY_AS_CERTIFICATE, 'key-as-certificate-tls'),
  );
  await kubectl(['wait', '--for=condition=Ready', `wso2frontend/${SELF_SIGNED}`, '-n', namespace, '--timeout=90s']);

  // A host change reissues the server certificate: a second key, and CertificateIssued again.
  const certificateSecret = `${SELF_SIGNED}-tls-frontend`;
  const firstKey = (await core().readNamespacedSecret({ name: certificateSecret, namespace })).data!['tls.key'];
  await kubectl([
    'patch',
    'wso2frontend',
    SELF_SIGNED,
    '-n',
    namespace,
    '--type=merge',
    '-p',
    JSON.stringify({ spec: { sites: { gateway: { host: 'gateway.example.com' } } } }),
  ]);
  await eventually('the certificate reissued for the new host', async () => {
    const current = await core().readNamespacedSecret({ name: certificateSecret, namespace });
    const leaf = new X509Certificate(Buffer.from(current.data!['tls.crt']!, 'base64'));
    return current.data!['tls.key'] !== firstKey && leaf.subjectAltName?.includes('gateway.example.com')
      ? true
      : undefined;
  });
  keys.push(Buffer.from(firstKey!, 'base64').toString());
  await kubectl(['wait', '--for=condition=Ready', `wso2frontend/${SELF_SIGNED}`, '-n', namespace, '--timeout=90s']);
  for (const name of [MISMATCHED, KEY_AS_CERTIFICATE]) {
    await eventually(`${name} to report CertificatesReady=False`, async () =>
      condition(await frontend(name), 'CertificatesReady')?.status === 'False' ? true : undefined,
    );
  }
  // Every key now stored: the frontend CA's and the current server certificate's.
  const secrets = await core().listNamespacedSecret({ namespace });
  for (const s of secrets.items) {
    const key = s.data?.['tls.key'];
    if (key) storedKeys.push(Buffer.from(key, 'base64').toString());
  }
});

afterAll(async () => {
  await operator?.stop();
});

const allKeys = () => [...new Set([...keys, ...storedKeys])];

/** What a user or a tool reads from the operator, by where it comes from. */
async function outputs(): Promise<Record<string, string>> {
  return {
    'operator stdout and stderr': operator.text(),
    'Events (events.k8s.io)': await kubectl(['get', 'events.events.k8s.io', '-n', namespace, '-o', 'json']),
    'Events (core)': await kubectl(['get', 'events', '-n', namespace, '-o', 'json']),
    'frontends with their status': await kubectl(['get', 'wso2frontends', '-n', namespace, '-o', 'yaml']),
    'kubectl describe': await kubectl(['describe', 'wso2frontends', '-n', namespace]),
    metrics: (await operator.get('/metrics')).body,
    ConfigMaps: await kubectl(['get', 'configmaps', '-n', namespace, '-o', 'yaml']),
  };
}

test('the run issued, reissued and was refused keys: the CA, two server certificates and three user keys', () => {
  expect(allKeys()).toHaveLength(6);
});

test('the user Secrets were reported, naming the problem and not the key', async () => {
  expect(condition(await frontend(MISMATCHED), 'CertificatesReady')?.message).toContain(
    'tls.key is not the private key',
  );
  expect(condition(await frontend(KEY_AS_CERTIFICATE), 'CertificatesReady')?.message).toContain(
    'tls.crt does not hold PEM X.509 certificates',
  );
});

test('the search finds every key still stored where it is: in its Secret, as kubectl shows it', async () => {
  const stored = await kubectl(['get', 'secrets', '-n', namespace, '-o', 'yaml']);
  const decoded = (
    JSON.parse(await kubectl(['get', 'secrets', '-n', namespace, '-o', 'json'])) as k8s.V1SecretList
  ).items
    .flatMap((s) => Object.values(s.data ?? {}).map((v) => Buffer.from(v, 'base64').toString()))
    .join('\n');
  expect(storedKeys.length).toBeGreaterThanOrEqual(4);
  for (const key of storedKeys) {
    const forms = keyForms(key);
    expect(forms.length).toBeGreaterThan(10);
    expect(stored).toContain(Buffer.from(key).toString('base64').slice(0, 200));
    expect(forms.filter((form) => decoded.includes(form)).length).toBeGreaterThan(0);
  }
});

test('no form of any private key appears in logs, Events, status, kubectl describe, metrics or ConfigMaps', async () => {
  const found: string[] = [];
  for (const [where, text] of Object.entries(await outputs())) {
    expect(text.length).toBeGreaterThan(0);
    for (const [i, key] of allKeys().entries())
      for (const form of keyForms(key))
        if (text.includes(form)) found.push(`key ${i} in ${where}: ${form.slice(0, 24)}...`);
  }
  expect(found).toEqual([]);
});
