// What a reconcile decides, without an API server: plan() from what was observed, and assess()
// from what the apply did. One table row per branch of the decision.
import type * as k8s from '@kubernetes/client-node';
import type { Wso2Frontend, Wso2FrontendSpec } from '../../src/api/schema.js';
import { CERT_MANAGER_RETRY_MS, type SecretRead } from '../../src/controller/certificates.js';
import type { CertManagerCertificate } from '../../src/render/cert-manager.js';
import { topologyOf } from '../support/frontend.js';
import { computeStatus } from '../../src/controller/status.js';
import {
  assess,
  endpointsOf,
  MAX_REQUEUE_MS,
  plan,
  roleStatuses,
  type ApplyPlan,
  type Observed,
  type Plan,
} from '../../src/controller/plan.js';
import {
  caSecretData,
  issueCa,
  issueServerCertificate,
  tlsSecretData,
  type IssuedCertificate,
  type KeyAndCertificate,
} from '../../src/tls/issuer.js';
import { generateRsaKeyPair } from '../../src/tls/x509.js';
import {
  AGENT_CONTRACT,
  AGENT_CONTRACT_ANNOTATION,
  CONFIG_HASH_ANNOTATION,
  SERVED_CONDITION,
} from '../../src/api/agent.js';
import { formatSiteProbeReport, SITE_PROBES_ANNOTATION, type SiteProbe } from '../../src/api/probe.js';
import { LABEL } from '../../src/render/ownership.js';

const NOW = new Date('2026-03-01T00:00:00.000Z');
const DAY = 24 * 3600 * 1000;
const HOSTS = ['api.am.wso2.com', 'gw.am.wso2.com'];
const CA_SECRET = 'shop-tls-ca';
const LEAF_SECRET = 'shop-tls-frontend';
/** Mode secret: the operator-owned copy NGINX serves the user's Secret `mine` from. */
const MINE_COPY = 'shop-tls-secret-mine';

const external: Wso2FrontendSpec = {
  product: 'api-manager',
  pattern: 'apim-single',
  backends: { external: { nodes: [{ name: 'node-1', address: '192.0.2.21', roles: ['all-in-one'] }] } },
};
const managed: Wso2FrontendSpec = { product: 'api-manager', pattern: 'apim-single', backends: { managed: {} } };

function frontend(spec: unknown, status?: Wso2Frontend['status']): Wso2Frontend {
  return {
    apiVersion: 'wso2-frontend.dev/v1alpha1',
    kind: 'Wso2Frontend',
    metadata: { name: 'shop', namespace: 'team', uid: 'uid-1', generation: 4 },
    spec: spec as Wso2FrontendSpec,
    ...(status ? { status } : {}),
  };
}

// Keys are slow to generate: a few, made once and reused by every row.
const keys = Array.from({ length: 3 }, () => generateRsaKeyPair());
const ca = issueCa('shop frontend CA', { now: new Date(NOW.getTime() - 10 * DAY), keyPair: keys[0]! });
const otherCa = issueCa('another CA', { now: new Date(NOW.getTime() - 10 * DAY), keyPair: keys[1]! });
const leafOf = (signer: KeyAndCertificate, hosts = HOSTS, issuedAt = new Date(NOW.getTime() - 10 * DAY)) =>
  issueServerCertificate(signer, hosts, { now: issuedAt, keyPair: keys[2]! });
const leaf = leafOf(ca);

const cached = (data: Record<string, string> | undefined): SecretRead => ({ data, fresh: false });
const fresh = (data: Record<string, string> | undefined): SecretRead => ({ data, fresh: true });
const stored = (secrets: Record<string, SecretRead>) => new Map(Object.entries(secrets));
const settledSecrets = stored({
  [CA_SECRET]: cached(caSecretData(ca)),
  [LEAF_SECRET]: cached(tlsSecretData(leaf, ca)),
});

function observed(over: Partial<Observed> = {}): Observed {
  return { frontend: frontend(external), endpointSlices: [], nginxPods: [], secrets: new Map(), issued: [], ...over };
}

function applyPlan(p: Plan): ApplyPlan {
  if (p.action !== 'apply') throw new Error(`expected an apply plan, got ${p.action}`);
  return p;
}

function slice(name: string, role: string, endpoints: k8s.V1Endpoint[]): k8s.V1EndpointSlice {
  return {
    addressType: 'IPv4',
    metadata: { name, labels: { [LABEL.component]: role, [LABEL.instance]: 'shop' } },
    endpoints,
  };
}
const endpoint = (pod: string, address: string, ready = true, terminating = false): k8s.V1Endpoint => ({
  addresses: [address],
  conditions: { ready, terminating },
  targetRef: { kind: 'Pod', name: pod },
});

/** The NGINX Deployment as the API server returns it after an apply. */
function servedDeployment(p: ApplyPlan, status: k8s.V1DeploymentStatus): k8s.V1Deployment {
  const deployment = p.desired.find((o) => o.kind === 'Deployment') as k8s.V1Deployment;
  return { ...deployment, metadata: { ...deployment.metadata, generation: 1 }, status };
}
const rolledOut: k8s.V1DeploymentStatus = {
  observedGeneration: 1,
  replicas: 2,
  updatedReplicas: 2,
  availableReplicas: 2,
};
/** The hash of the NGINX configuration a plan applies (on its ConfigMap, for the agents). */
const desiredHash = (p: ApplyPlan) =>
  p.desired.find((o) => o.kind === 'ConfigMap' && o.metadata!.name === 'shop-nginx')!.metadata!.annotations![
    CONFIG_HASH_ANNOTATION
  ]!;
/** An NGINX pod as its agent (of this release's contract, unless told) reports on it. */
function nginxPod(
  name: string,
  report: { served?: string; reason?: string; detail?: string } | undefined,
  ready = true,
  contract: string | null = AGENT_CONTRACT,
): k8s.V1Pod {
  const conditions: k8s.V1PodCondition[] = [{ type: 'Ready', status: ready ? 'True' : 'False' }];
  if (report)
    conditions.push({
      type: SERVED_CONDITION,
      status: report.served ? 'True' : 'False',
      reason: report.reason ?? 'Served',
      message: `serving ${report.served ?? 'nothing'}${report.detail ? `; ${report.detail}` : ''}`,
    });
  const annotations = contract === null ? {} : { annotations: { [AGENT_CONTRACT_ANNOTATION]: contract } };
  return { metadata: { name, namespace: 'team', ...annotations }, status: { conditions } };
}
/** The plan with its NGINX pods serving what each report says. */
const withPods = (p: ApplyPlan, ...pods: k8s.V1Pod[]): ApplyPlan => ({ ...p, nginxPods: pods });
/** Both NGINX pods serve the plan's configuration. */
const servedBoth = (p: ApplyPlan) =>
  withPods(
    p,
    nginxPod('shop-nginx-a', { served: desiredHash(p) }),
    nginxPod('shop-nginx-b', { served: desiredHash(p) }),
  );
/** A Ready condition as the frontend's status would hold it. */
const readyCondition = (reason: string, lastTransitionTime = '') => ({
  type: 'Ready',
  status: reason === 'Ready' ? ('True' as const) : ('False' as const),
  reason,
  message: '',
  lastTransitionTime,
});

const appliedAll = (p: ApplyPlan, deployment: k8s.V1Deployment) =>
  new Map(p.desired.map((o) => [`${o.kind}/${o.metadata!.name}`, o.kind === 'Deployment' ? deployment : o]));

describe('plan: which step comes next', () => {
  test.each<[string, Observed, Partial<Plan>]>([
    [
      'nothing read yet: read the CA and certificate Secrets, from the cache',
      observed(),
      { action: 'read', secrets: [CA_SECRET, LEAF_SECRET], fresh: false },
    ],
    [
      'the cached CA is unusable: read it again from the API server before issuing',
      observed({
        secrets: stored({ [CA_SECRET]: cached({ 'tls.crt': 'garbage' }), [LEAF_SECRET]: cached(undefined) }),
      }),
      { action: 'read', secrets: [CA_SECRET], fresh: true },
    ],
    [
      'the cached certificate covers other hosts: read it again before issuing',
      observed({
        secrets: stored({
          [CA_SECRET]: cached(caSecretData(ca)),
          [LEAF_SECRET]: cached(tlsSecretData(leafOf(ca, ['old.example.com']), ca)),
        }),
      }),
      { action: 'read', secrets: [LEAF_SECRET], fresh: true },
    ],
    [
      'user Secrets (mode secret) not read yet: read them',
      observed({ frontend: frontend({ ...external, tls: { mode: 'secret', secretName: 'mine' } }) }),
      { action: 'read', secrets: ['mine'], fresh: false },
    ],
  ])('%s', (_name, input, expected) => {
    expect(plan(input, NOW)).toEqual(expected);
  });

  test('no CA stored (read fresh): issue the CA first, named for the frontend, saying why', () => {
    const next = plan(
      observed({ secrets: stored({ [CA_SECRET]: fresh(undefined), [LEAF_SECRET]: fresh(undefined) }) }),
      NOW,
    );
    expect(next).toEqual({
      action: 'issue',
      requests: [
        {
          secretName: CA_SECRET,
          commonName: 'shop frontend CA',
          description: expect.stringMatching(/^the frontend CA \(no .* is stored yet\)$/),
          key: { algorithm: 'RSA', size: 2048 },
        },
      ],
    });
  });

  test('the CA is issued and none is stored: its Secret is created (never applied), before anything it signs', () => {
    const issued: IssuedCertificate[] = [
      { secretName: CA_SECRET, description: 'the frontend CA (new)', certificate: ca },
    ];
    const next = plan(
      observed({ secrets: stored({ [CA_SECRET]: fresh(undefined), [LEAF_SECRET]: fresh(undefined) }), issued }),
      NOW,
    );
    if (next.action !== 'create') throw new Error(`expected create, got ${next.action}`);
    expect(next.secrets.map((s) => s.metadata!.name)).toEqual([CA_SECRET]);
    expect(Buffer.from(next.secrets[0]!.data!['tls.crt']!, 'base64').toString()).toBe(ca.certificatePem);
  });

  test('the issued CA was created: issue the server certificate it signs, for every host', () => {
    const issued: IssuedCertificate[] = [
      { secretName: CA_SECRET, description: 'the frontend CA (new)', certificate: ca },
    ];
    const secrets = stored({ [CA_SECRET]: fresh(caSecretData(ca)), [LEAF_SECRET]: fresh(undefined) });
    const next = plan(observed({ secrets, issued }), NOW);
    expect(next).toMatchObject({ action: 'issue', requests: [{ secretName: LEAF_SECRET, ca, names: HOSTS }] });
  });

  test('another writer created the CA first (409): the issued CA is dropped and the stored one signs, and is never rewritten', () => {
    const issued: IssuedCertificate[] = [
      { secretName: CA_SECRET, description: 'the frontend CA (new)', certificate: otherCa },
    ];
    const secrets = stored({ [CA_SECRET]: fresh(caSecretData(ca)), [LEAF_SECRET]: fresh(undefined) });
    expect(plan(observed({ secrets, issued }), NOW)).toMatchObject({
      action: 'issue',
      requests: [{ secretName: LEAF_SECRET, ca: { certificatePem: ca.certificatePem } }],
    });
    const settled = applyPlan(
      plan(
        observed({
          secrets: stored({ [CA_SECRET]: fresh(caSecretData(ca)), [LEAF_SECRET]: fresh(tlsSecretData(leaf, ca)) }),
          issued: [...issued, { secretName: LEAF_SECRET, description: 'the certificate (new)', certificate: leaf }],
        }),
        NOW,
      ),
    );
    expect(settled.secretIds).toEqual([`Secret/${LEAF_SECRET}`]);
    expect(settled.issued).toEqual(['the certificate (new)']);
  });

  test('another writer created the CA a moment after this reconcile began (not yet valid at its start): it is kept', () => {
    const theirs = issueCa('shop frontend CA', { now: new Date(NOW.getTime() + 2000), keyPair: keys[0]! });
    const issued: IssuedCertificate[] = [
      { secretName: CA_SECRET, description: 'the frontend CA (new)', certificate: ca },
    ];
    const secrets = stored({ [CA_SECRET]: fresh(caSecretData(theirs)), [LEAF_SECRET]: fresh(undefined) });
    expect(plan(observed({ secrets, issued }), NOW)).toMatchObject({
      action: 'issue',
      requests: [{ secretName: LEAF_SECRET, ca: { certificatePem: theirs.certificatePem } }],
    });
  });

  test("a new server certificate is created once; when another writer's create won (409), theirs is served", () => {
    const mine = leafOf(ca, HOSTS, NOW);
    const issued: IssuedCertificate[] = [
      { secretName: LEAF_SECRET, description: 'the certificate (new)', certificate: mine },
    ];
    const absent = stored({ [CA_SECRET]: fresh(caSecretData(ca)), [LEAF_SECRET]: fresh(undefined) });
    const next = plan(observed({ secrets: absent, issued }), NOW);
    expect(next).toMatchObject({ action: 'create', secrets: [{ metadata: { name: LEAF_SECRET } }] });
    const theirs = stored({ [CA_SECRET]: fresh(caSecretData(ca)), [LEAF_SECRET]: fresh(tlsSecretData(leaf, ca)) });
    const settled = applyPlan(plan(observed({ secrets: theirs, issued }), NOW));
    const served = settled.desired.find((o) => o.metadata!.name === LEAF_SECRET) as k8s.V1Secret;
    expect(Buffer.from(served.data!['tls.crt']!, 'base64').toString()).toBe(tlsSecretData(leaf, ca)['tls.crt']);
    expect(settled.issued).toEqual([]);
  });

  test('a stored CA that is unusable (read fresh) is replaced by the issued one with an apply (renewal)', () => {
    const issued: IssuedCertificate[] = [
      { secretName: CA_SECRET, description: 'the frontend CA (renewed)', certificate: ca },
      { secretName: LEAF_SECRET, description: 'the certificate (new)', certificate: leaf },
    ];
    const secrets = stored({
      [CA_SECRET]: fresh({ 'tls.crt': 'garbage' }),
      [LEAF_SECRET]: fresh(tlsSecretData(leaf, ca)),
    });
    const next = applyPlan(plan(observed({ secrets, issued }), NOW));
    expect(next.secretIds).toEqual([`Secret/${CA_SECRET}`, `Secret/${LEAF_SECRET}`]);
  });

  test('a certificate from another CA (read fresh) is issued again by the current CA', () => {
    const secrets = stored({
      [CA_SECRET]: fresh(caSecretData(ca)),
      [LEAF_SECRET]: fresh(tlsSecretData(leafOf(otherCa), otherCa)),
    });
    expect(plan(observed({ secrets }), NOW)).toMatchObject({
      action: 'issue',
      requests: [{ secretName: LEAF_SECRET, description: expect.stringContaining('not from the current CA') }],
    });
  });
});

describe('plan: the key algorithm (spec.tls.privateKey)', () => {
  const ecdsa = (size?: number) => ({
    ...external,
    tls: { privateKey: { algorithm: 'ECDSA', ...(size ? { size } : {}) } },
  });

  test('new certificates get the key asked for, P-256 when no size is given', () => {
    for (const [spec, key] of [
      [ecdsa(), { algorithm: 'ECDSA', size: 256 }],
      [ecdsa(384), { algorithm: 'ECDSA', size: 384 }],
      [
        { ...external, tls: { privateKey: { size: 4096 } } },
        { algorithm: 'RSA', size: 4096 },
      ],
    ] as const) {
      const next = plan(
        observed({
          frontend: frontend(spec),
          secrets: stored({ [CA_SECRET]: fresh(undefined), [LEAF_SECRET]: fresh(undefined) }),
        }),
        NOW,
      );
      expect(next).toMatchObject({ action: 'issue', requests: [{ secretName: CA_SECRET, key }] });
    }
  });

  test('stored RSA certificates that are still valid are kept when the spec asks for ECDSA: nothing is issued', () => {
    const next = applyPlan(plan(observed({ frontend: frontend(ecdsa()), secrets: settledSecrets }), NOW));
    expect(next.issued).toEqual([]);
    expect(next.findings.certificateNotAfter).toEqual(leaf.notAfter);
    const secret = next.desired.find((o) => o.metadata!.name === LEAF_SECRET) as k8s.V1Secret;
    expect(Buffer.from(secret.data!['tls.crt']!, 'base64').toString()).toBe(tlsSecretData(leaf, ca)['tls.crt']);
  });

  test('a renewal after the algorithm changed gets the new key, signed by the kept RSA CA', () => {
    const renewalDue = new Date(leaf.notAfter.getTime() - DAY);
    const secrets = stored({ [CA_SECRET]: fresh(caSecretData(ca)), [LEAF_SECRET]: fresh(tlsSecretData(leaf, ca)) });
    expect(plan(observed({ frontend: frontend(ecdsa()), secrets }), renewalDue)).toMatchObject({
      action: 'issue',
      requests: [{ secretName: LEAF_SECRET, ca, key: { algorithm: 'ECDSA', size: 256 } }],
    });
  });
});

describe('plan: nothing may be applied', () => {
  test('an invalid spec is reported with every problem, keeps the served hash, and is not applied', () => {
    const spec = { ...external, nginx: { replicas: 0 }, sites: { nowhere: {} } };
    const next = plan(observed({ frontend: frontend(spec, { configHash: 'abc' }) }), NOW);
    expect(next).toEqual({
      action: 'report',
      outcome: {
        findings: {
          generation: 4,
          accepted: { ok: false, reason: 'InvalidSpec', message: expect.stringContaining('spec.nginx.replicas') },
          configHash: 'abc',
        },
        events: [expect.objectContaining({ type: 'Warning', reason: 'InvalidSpec', onlyOnStatusChange: true })],
      },
    });
  });

  test('a user Secret that fails a check: read the last good copy, to say what NGINX serves instead', () => {
    const otherHost = leafOf(ca, ['elsewhere.example.com']);
    const spec = { ...external, tls: { mode: 'secret', secretName: 'mine' } };
    const next = plan(
      observed({ frontend: frontend(spec), secrets: stored({ mine: fresh(tlsSecretData(otherHost, ca)) }) }),
      NOW,
    );
    expect(next).toEqual({ action: 'read', secrets: [MINE_COPY], fresh: false });
  });

  test('a user Secret that does not cover the hosts stalls the certificates and applies nothing', () => {
    const otherHost = leafOf(ca, ['elsewhere.example.com']);
    const spec = { ...external, tls: { mode: 'secret', secretName: 'mine' } };
    const next = plan(
      observed({
        frontend: frontend(spec),
        secrets: stored({ mine: fresh(tlsSecretData(otherHost, ca)), [MINE_COPY]: cached(undefined) }),
      }),
      NOW,
    );
    expect(next.action).toBe('report');
    const { outcome } = next as Extract<Plan, { action: 'report' }>;
    expect(outcome.findings.certificates).toEqual({
      ok: false,
      reason: 'CertificateInvalid',
      message: expect.stringMatching(
        /^Secret mine: .*does not cover host api\.am\.wso2\.com.*; no good copy of it was made yet, so nothing is served from it until it is fixed$/,
      ),
    });
    // Recorded when the status changes, so a Ready frontend going False says why as an Event.
    expect(outcome.events).toEqual([
      {
        type: 'Warning',
        reason: 'CertificateInvalid',
        action: 'Check',
        note: outcome.findings.certificates!.message,
        onlyOnStatusChange: true,
      },
    ]);
    expect(outcome.certificates).toEqual(new Map([['mine', otherHost.notAfter]]));
  });

  test('a missing user Secret is a certificate problem too, named as not found', () => {
    const spec = { ...external, tls: { mode: 'secret', secretName: 'mine' } };
    const secrets = stored({ mine: fresh(undefined), [MINE_COPY]: cached(undefined) });
    const next = plan(observed({ frontend: frontend(spec), secrets }), NOW);
    expect(next).toMatchObject({
      action: 'report',
      outcome: {
        findings: {
          certificates: {
            ok: false,
            reason: 'CertificateInvalid',
            message: expect.stringMatching(/^Secret mine not found; no good copy of it was made yet/),
          },
        },
      },
    });
  });

  test('a user Secret whose key does not match, after a good one: nothing applied, NGINX keeps the last good copy', () => {
    const spec = { ...external, tls: { mode: 'secret', secretName: 'mine' } };
    const good = tlsSecretData(leaf, ca);
    const broken = { ...good, 'tls.key': ca.privateKeyPem };
    const next = plan(
      observed({ frontend: frontend(spec), secrets: stored({ mine: fresh(broken), [MINE_COPY]: cached(good) }) }),
      NOW,
    );
    expect(next.action).toBe('report');
    const { outcome } = next as Extract<Plan, { action: 'report' }>;
    expect(outcome.findings.certificates).toMatchObject({ ok: false, reason: 'CertificateInvalid' });
    expect(outcome.findings.certificates!.message).toMatch(/^Secret mine: tls\.key is not the private key of /);
    expect(outcome.findings.certificates!.message).toContain(
      `; NGINX keeps serving the last good copy (Secret ${MINE_COPY}, valid until ${leaf.notAfter.toISOString()})`,
    );
    expect(outcome.findings.certificates!.message).not.toContain('PRIVATE KEY');
    expect(outcome.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'CertificateInvalid' })]);
  });

  test('a last good copy that no longer passes either (expired) is named as such', () => {
    const spec = { ...external, tls: { mode: 'secret', secretName: 'mine' } };
    const expired = tlsSecretData(leafOf(ca, HOSTS, new Date(NOW.getTime() - 100 * DAY)), ca);
    const next = plan(
      observed({ frontend: frontend(spec), secrets: stored({ mine: fresh(undefined), [MINE_COPY]: cached(expired) }) }),
      NOW,
    );
    expect(next).toMatchObject({
      action: 'report',
      outcome: {
        findings: {
          certificates: {
            message: expect.stringMatching(
              new RegExp(
                `^Secret mine not found; NGINX keeps the last good copy \\(Secret ${MINE_COPY}\\), which no longer passes either: .* expired at `,
              ),
            ),
          },
        },
      },
    });
  });
});

describe('plan: what to apply', () => {
  test("a user Secret that passes every check is copied into the operator's Secret, which NGINX's agents read", () => {
    const spec = { ...external, tls: { mode: 'secret', secretName: 'mine' } };
    const data = tlsSecretData(leaf, ca);
    const next = applyPlan(plan(observed({ frontend: frontend(spec), secrets: stored({ mine: cached(data) }) }), NOW));
    const copy = next.desired[0] as k8s.V1Secret;
    expect(`${copy.kind}/${copy.metadata!.name}`).toBe(`Secret/${MINE_COPY}`);
    expect(copy.type).toBe('kubernetes.io/tls');
    const decoded = Object.fromEntries(
      Object.entries(copy.data!).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]),
    );
    expect(decoded).toEqual(data);
    expect(next.secretIds).toEqual([`Secret/${MINE_COPY}`]);
    expect(next.keep.has(`Secret/${MINE_COPY}`)).toBe(true);
    const deployment = next.desired.find((o) => o.kind === 'Deployment') as k8s.V1Deployment;
    const args = deployment.spec!.template.spec!.containers[0]!.args!;
    expect(args.filter((_arg, i) => args[i - 1] === '--secret')).toEqual([
      // ca.crt when the user's Secret has one: the CA the site probes check the certificate against.
      `tls/secret-mine=${MINE_COPY}:tls.crt,tls.key,ca.crt?`,
    ]);
    expect(next.findings.certificates).toMatchObject({ ok: true, reason: 'CertificatesValid' });
  });

  test("settled certificates: the certificate Secret, then the agents' identity and the NGINX objects; the unchanged CA is kept, not rewritten", () => {
    const next = applyPlan(plan(observed({ secrets: settledSecrets }), NOW));
    expect(next.desired.map((o) => `${o.kind}/${o.metadata!.name}`)).toEqual([
      `Secret/${LEAF_SECRET}`,
      'ServiceAccount/shop-nginx',
      'Role/shop-nginx',
      'RoleBinding/shop-nginx',
      'ConfigMap/shop-nginx',
      'Deployment/shop-nginx',
      'Service/shop-nginx',
      'PodDisruptionBudget/shop-nginx',
      'ConfigMap/shop-product-config',
    ]);
    expect([...next.keep].sort()).toEqual(
      [...next.desired.map((o) => `${o.kind}/${o.metadata!.name}`), `Secret/${CA_SECRET}`].sort(),
    );
    expect(next.issued).toEqual([]);
    expect(next.findings).toEqual({
      generation: 4,
      accepted: { ok: true, reason: 'Valid', message: 'the spec is valid' },
      certificates: { ok: true, reason: 'CertificatesValid', message: '1 certificate(s) issued by the frontend CA' },
      urls: ['https://api.am.wso2.com/', 'https://gw.am.wso2.com/'],
      certificateNotAfter: leaf.notAfter,
      // No NGINX pod has reported site probes yet.
      sites: [
        { host: 'api.am.wso2.com', serving: 'Unknown' },
        { host: 'gw.am.wso2.com', serving: 'Unknown' },
      ],
      serving: expect.objectContaining({ status: 'Unknown', reason: 'NoProbeResults' }),
    });
  });

  test('the requeue time is the renewal time of the kept certificate, at most 12 hours away', () => {
    expect(applyPlan(plan(observed({ secrets: settledSecrets }), NOW)).requeueAfterMs).toBe(MAX_REQUEUE_MS);
    const nearRenewal = new Date(leaf.notBefore.getTime() + (2 / 3) * 90 * DAY - 60_000);
    expect(applyPlan(plan(observed({ secrets: settledSecrets }), nearRenewal)).requeueAfterMs).toBe(60_000);
  });

  test('issued certificates become Secrets (the new CA was created already) and are named for the Event', () => {
    const issued: IssuedCertificate[] = [
      { secretName: CA_SECRET, description: 'the frontend CA (new)', certificate: ca },
      { secretName: LEAF_SECRET, description: 'the certificate for api, gw (new)', certificate: leaf },
    ];
    const next = applyPlan(
      plan(
        observed({
          secrets: stored({ [CA_SECRET]: fresh(caSecretData(ca)), [LEAF_SECRET]: fresh(tlsSecretData(leaf, ca)) }),
          issued,
        }),
        NOW,
      ),
    );
    expect(next.secretIds).toEqual([`Secret/${LEAF_SECRET}`]);
    expect(next.keep.has(`Secret/${CA_SECRET}`)).toBe(true);
    expect(next.issued).toEqual(['the frontend CA (new)', 'the certificate for api, gw (new)']);
    const secret = next.desired[0] as k8s.V1Secret;
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(Buffer.from(secret.data!['tls.crt']!, 'base64').toString()).toBe(tlsSecretData(leaf, ca)['tls.crt']);
    expect(next.requeueAfterMs).toBeUndefined();
  });

  test('a new certificate changes the configuration hash the agents serve, not the NGINX pod template', () => {
    const deployment = (p: ApplyPlan) => p.desired.find((o) => o.kind === 'Deployment');
    const before = applyPlan(plan(observed({ secrets: settledSecrets }), NOW));
    const renewed = leafOf(ca, HOSTS, new Date(NOW.getTime() - DAY));
    const secrets = stored({
      [CA_SECRET]: cached(caSecretData(ca)),
      [LEAF_SECRET]: cached(tlsSecretData(renewed, ca)),
    });
    const after = applyPlan(plan(observed({ secrets }), NOW));
    expect(desiredHash(after)).not.toBe(desiredHash(before));
    expect(deployment(after)).toEqual(deployment(before));
  });

  test('managed backends: the WSO2 workloads follow the NGINX objects, upstreams from the ready endpoints', () => {
    const endpointSlices = [slice('shop-all-in-one-x', 'all-in-one', [endpoint('shop-all-in-one-0', '10.244.0.5')])];
    const next = applyPlan(
      plan(observed({ frontend: frontend(managed), endpointSlices, secrets: settledSecrets }), NOW),
    );
    expect(next.desired.slice(8).map((o) => o.kind)).toEqual([
      'ConfigMap',
      'ServiceAccount',
      'Role',
      'RoleBinding',
      'Deployment',
      'Service',
    ]);
    expect(next.topology.upstreams.every((u) => u.servers.map((s) => s.address).join() === '10.244.0.5')).toBe(true);
  });
});

describe('assess: what the apply did', () => {
  const settled = () => applyPlan(plan(observed({ secrets: settledSecrets }), NOW));

  test('everything applied, every ready NGINX pod serves the new hash, backends ready: served, and Ready announces the first configuration', () => {
    const p = servedBoth(settled());
    const outcome = assess(p, { applied: appliedAll(p, servedDeployment(p, rolledOut)) });
    const hash = desiredHash(p);
    expect(outcome.findings.configuration).toEqual({
      ok: true,
      reason: 'Served',
      message: `2/2 NGINX pods serve configuration ${hash}`,
    });
    expect(outcome.findings.backends).toEqual({
      ok: true,
      reason: 'BackendsReady',
      message: 'every role has a ready backend',
    });
    expect(outcome.findings.configHash).toBe(hash);
    expect(outcome.events).toEqual([
      {
        type: 'Normal',
        reason: 'Ready',
        action: 'Reconcile',
        note: `serving https://api.am.wso2.com/, https://gw.am.wso2.com/ with NGINX configuration ${hash}`,
      },
    ]);
    expect(outcome.requeueAfterMs).toBe(MAX_REQUEUE_MS);
    expect(outcome.error).toBeUndefined();
  });

  test('a resync of a Ready frontend with the same hash announces nothing', () => {
    const first = settled();
    const readyStatus = {
      configHash: desiredHash(first),
      conditions: [readyCondition('Ready', '2026-01-01T00:00:00Z')],
    };
    const p = servedBoth(
      applyPlan(plan(observed({ frontend: frontend(external, readyStatus), secrets: settledSecrets }), NOW)),
    );
    expect(assess(p, { applied: appliedAll(p, servedDeployment(p, rolledOut)) }).events).toEqual([]);
  });

  test('a pod still serving the previous hash: ConfigurationServed waits, the status keeps naming the served hash', () => {
    const previous = { configHash: '00000000000000aa' };
    const p = applyPlan(plan(observed({ frontend: frontend(external, previous), secrets: settledSecrets }), NOW));
    const reloading = withPods(
      p,
      nginxPod('shop-nginx-a', { served: desiredHash(p) }),
      nginxPod('shop-nginx-b', { served: '00000000000000aa' }),
      // Not ready (its agent serves nothing yet): not counted.
      nginxPod('shop-nginx-c', undefined, false),
    );
    const outcome = assess(reloading, { applied: appliedAll(p, servedDeployment(p, rolledOut)) });
    expect(outcome.findings.configuration).toEqual({
      ok: false,
      reason: 'Reloading',
      message: `1/2 NGINX pods serve configuration ${desiredHash(p)}`,
      waiting: true,
    });
    expect(outcome.findings.configHash).toBe('00000000000000aa');
    expect(outcome.events).toEqual([]);
  });

  test("an NGINX pod whose agent failed (its master killed, the kubelet restarting it): PodNotReady names the pod and the kubelet's account", () => {
    const p = settled();
    const hash = desiredHash(p);
    const crashed = nginxPod('shop-nginx-b', { served: hash }, false);
    crashed.status!.containerStatuses = [
      {
        name: 'nginx',
        image: 'nginx',
        imageID: '',
        ready: false,
        restartCount: 3,
        state: { waiting: { reason: 'CrashLoopBackOff' } },
        lastState: {
          terminated: { exitCode: 1, reason: 'Error', message: 'NGINX master (pid 7) exited: killed by SIGKILL' },
        },
      },
    ];
    const pods = withPods(p, nginxPod('shop-nginx-a', { served: hash }), crashed);
    // Before the Deployment controller counts it unavailable, and after.
    const unavailable = { ...rolledOut, availableReplicas: 1 };
    for (const status of [rolledOut, unavailable]) {
      const outcome = assess(pods, { applied: appliedAll(p, servedDeployment(p, status)) });
      expect(outcome.findings.configuration).toEqual({
        ok: false,
        reason: 'PodNotReady',
        message:
          'NGINX pod shop-nginx-b is not ready: container nginx, restarted 3 times, waiting: CrashLoopBackOff, ' +
          'last terminated with exit code 1 (Error): NGINX master (pid 7) exited: killed by SIGKILL; ' +
          (status === rolledOut
            ? `1/1 NGINX pods serve configuration ${hash}`
            : '1 of 2 NGINX replica(s) run the current pod template'),
        waiting: true,
      });
    }
    // Ready again (restarted, serving): nothing to say, whatever its restart count.
    crashed.status!.conditions![0]!.status = 'True';
    crashed.status!.containerStatuses[0] = {
      ...crashed.status!.containerStatuses[0]!,
      ready: true,
      state: { running: {} },
    };
    expect(
      assess(pods, { applied: appliedAll(p, servedDeployment(p, rolledOut)) }).findings.configuration,
    ).toMatchObject({
      ok: true,
      reason: 'Served',
    });
  });

  describe("the agents' contract (issue 26: agent and operator share one contract)", () => {
    const assessWith = (contract: string | null) => {
      const p = withPods(
        settled(),
        nginxPod('shop-nginx-a', { served: desiredHash(settled()) }),
        nginxPod('shop-nginx-b', { served: desiredHash(settled()) }, true, contract),
      );
      return assess(p, { applied: appliedAll(p, servedDeployment(p, rolledOut)) });
    };

    test('an agent of another contract: ConfigurationServed False, naming the pod, both contracts and the image; Stalled', () => {
      const outcome = assessWith('0');
      expect(outcome.findings.configuration).toEqual({
        ok: false,
        reason: 'AgentContractMismatch',
        message: `NGINX pod shop-nginx-b runs a reload agent of contract 0 from image wso2-frontend-nginx:0.1.0; this operator speaks contract ${AGENT_CONTRACT}: leave spec.nginx.image unset (the operator's NGINX image) or set an image of the operator's release`,
      });
      const status = computeStatus(outcome.findings, undefined, NOW);
      expect(status.conditions!.find((c) => c.type === 'Stalled')).toMatchObject({
        status: 'True',
        reason: 'AgentContractMismatch',
      });
      expect(outcome.events.map((e) => e.reason)).not.toContain('Ready');
    });

    test('an agent from before the contract was written (no annotation) is named as such', () => {
      expect(assessWith(null).findings.configuration?.message).toContain('contract none (older than contract 1)');
    });

    test('every agent of this contract: served', () => {
      expect(assessWith(AGENT_CONTRACT).findings.configuration).toMatchObject({ ok: true, reason: 'Served' });
    });
  });

  test('a ready pod whose condition names no hash (not reported by an agent) does not serve', () => {
    const p = withPods(settled(), nginxPod('shop-nginx-a', { served: desiredHash(settled()) }), {
      metadata: { name: 'shop-nginx-b', annotations: { [AGENT_CONTRACT_ANNOTATION]: AGENT_CONTRACT } },
      status: {
        conditions: [
          { type: 'Ready', status: 'True' },
          { type: SERVED_CONDITION, status: 'True' },
        ],
      },
    });
    expect(assess(p, { applied: appliedAll(p, servedDeployment(p, rolledOut)) }).findings.configuration).toMatchObject({
      ok: false,
      reason: 'Reloading',
      message: `1/2 NGINX pods serve configuration ${desiredHash(p)}`,
    });
  });

  test("an agent that could not serve the new hash: ReloadFailed with the agent's words, Stalled, one Warning Event", () => {
    const previous = { configHash: '00000000000000aa' };
    const p = applyPlan(plan(observed({ frontend: frontend(external, previous), secrets: settledSecrets }), NOW));
    const hash = desiredHash(p);
    const rejected = `configuration ${hash} rejected by nginx -t: nginx: [emerg] unknown directive "bogus" in nginx.conf:3`;
    const failing = withPods(
      p,
      nginxPod('shop-nginx-a', { served: '00000000000000aa', reason: 'ReloadFailed', detail: rejected }),
      nginxPod('shop-nginx-b', { served: '00000000000000aa', reason: 'ReloadFailed', detail: rejected }),
    );
    const outcome = assess(failing, { applied: appliedAll(p, servedDeployment(p, rolledOut)) });
    const message = `0/2 NGINX pods serve configuration ${hash}; pod shop-nginx-a (and 1 more pod(s)): serving 00000000000000aa; ${rejected}`;
    expect(outcome.findings.configuration).toEqual({ ok: false, reason: 'ReloadFailed', message });
    expect(outcome.findings.configHash).toBe('00000000000000aa');
    expect(outcome.events).toEqual([
      { type: 'Warning', reason: 'ReloadFailed', action: 'Reload', note: message, onlyOnStatusChange: true },
    ]);
    const conditions = computeStatus(outcome.findings, undefined, NOW).conditions!;
    expect(conditions.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'ReloadFailed' });
    expect(conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ReloadFailed' });
  });

  test("the agent's words reach the frontend as one printable line of at most 600 characters", () => {
    const p = applyPlan(
      plan(
        observed({ frontend: frontend(external, { configHash: '00000000000000aa' }), secrets: settledSecrets }),
        NOW,
      ),
    );
    const hash = desiredHash(p);
    const hostile = `configuration ${hash} rejected by nginx -t:\nReady: True\u202e ${'x'.repeat(1000)}`;
    const failing = withPods(
      p,
      nginxPod('shop-nginx-a', { served: '00000000000000aa', reason: 'ReloadFailed', detail: hostile }),
    );
    const { message } = assess(failing, { applied: appliedAll(p, servedDeployment(p, rolledOut)) }).findings
      .configuration!;
    const report = message.slice(message.indexOf('pod shop-nginx-a: ') + 'pod shop-nginx-a: '.length);
    expect(
      report.startsWith(`serving 00000000000000aa; configuration ${hash} rejected by nginx -t: Ready: True x`),
    ).toBe(true);
    expect([...report]).toHaveLength(600);
    expect(report.endsWith('x…')).toBe(true);
    expect(message).not.toMatch(/[\p{Cc}\p{Cf}]/u);
  });

  test('a rejection of an older configuration does not concern the current one', () => {
    const p = settled();
    const old = 'configuration 00000000000000bb rejected by nginx -t: nginx: [emerg] whatever';
    const pods = withPods(p, nginxPod('shop-nginx-a', { served: desiredHash(p), reason: 'ReloadFailed', detail: old }));
    expect(
      assess(pods, { applied: appliedAll(p, servedDeployment(p, rolledOut)) }).findings.configuration,
    ).toMatchObject({
      ok: true,
      reason: 'Served',
    });
  });

  test('no ready NGINX pod: ConfigurationServed waits', () => {
    const p = withPods(settled(), nginxPod('shop-nginx-a', undefined, false));
    expect(assess(p, { applied: appliedAll(p, servedDeployment(p, rolledOut)) }).findings.configuration).toEqual({
      ok: false,
      reason: 'NoReadyPod',
      message: 'no NGINX pod is ready',
      waiting: true,
    });
  });

  test('NGINX pods still rolling out to a new pod template: ConfigurationServed waits, not Ready', () => {
    const p = servedBoth(settled());
    const outcome = assess(p, {
      applied: appliedAll(
        p,
        servedDeployment(p, { observedGeneration: 1, replicas: 3, updatedReplicas: 1, availableReplicas: 2 }),
      ),
    });
    expect(outcome.findings.configuration).toEqual({
      ok: false,
      reason: 'RollingOut',
      message: '1 of 2 NGINX replica(s) run the current pod template',
      waiting: true,
    });
    expect(outcome.events).toEqual([]);
  });

  test('a Ready frontend whose NGINX pods all serve a new configuration announces it', () => {
    const ready = readyCondition('Ready');
    const servedBefore = { configHash: '00000000000000aa', conditions: [ready] };
    const p = servedBoth(
      applyPlan(plan(observed({ frontend: frontend(external, servedBefore), secrets: settledSecrets }), NOW)),
    );
    expect(assess(p, { applied: appliedAll(p, servedDeployment(p, rolledOut)) }).events).toEqual([
      {
        type: 'Normal',
        reason: 'ConfigurationUpdated',
        action: 'Reload',
        note: `NGINX serves configuration ${desiredHash(p)}`,
      },
    ]);
  });

  test('a frontend back from reloading a change (Ready False, Reloading) announces the configuration, not Ready again', () => {
    const reloading = readyCondition('Reloading');
    const servedBefore = { configHash: '00000000000000aa', conditions: [reloading] };
    const p = servedBoth(
      applyPlan(plan(observed({ frontend: frontend(external, servedBefore), secrets: settledSecrets }), NOW)),
    );
    expect(assess(p, { applied: appliedAll(p, servedDeployment(p, rolledOut)) }).events.map((e) => e.reason)).toEqual([
      'ConfigurationUpdated',
    ]);
  });

  test('a new frontend whose pods reloaded its first configuration (Reloading, nothing served before) announces Ready', () => {
    const reloading = readyCondition('Reloading');
    const p = servedBoth(
      applyPlan(
        plan(observed({ frontend: frontend(external, { conditions: [reloading] }), secrets: settledSecrets }), NOW),
      ),
    );
    expect(assess(p, { applied: appliedAll(p, servedDeployment(p, rolledOut)) }).events.map((e) => e.reason)).toEqual([
      'Ready',
    ]);
  });

  test('a frontend not Ready yet whose configuration changes (new endpoints) announces nothing: Ready will name it', () => {
    const rolling = readyCondition('RollingOut');
    const servedBefore = { configHash: '00000000000000aa', conditions: [rolling] };
    const p = applyPlan(plan(observed({ frontend: frontend(external, servedBefore), secrets: settledSecrets }), NOW));
    const deployment = servedDeployment(p, { observedGeneration: 1, replicas: 3, updatedReplicas: 1 });
    expect(assess(servedBoth(p), { applied: appliedAll(p, deployment) }).events).toEqual([]);
  });

  test('right after an apply, a Deployment status from the previous generation counts no replica as current', () => {
    const p = servedBoth(settled());
    const deployment = servedDeployment(p, { ...rolledOut, observedGeneration: 0 });
    expect(assess(p, { applied: appliedAll(p, deployment) }).findings.configuration).toEqual({
      ok: false,
      reason: 'RollingOut',
      message: '0 of 2 NGINX replica(s) run the current pod template: the Deployment controller has not seen it yet',
      waiting: true,
    });
  });

  test('backends missing (managed, no ready pod yet): BackendsAvailable waits and names the role and ports', () => {
    const endpointSlices = [slice('s', 'all-in-one', [endpoint('shop-all-in-one-0', '10.244.0.5', false)])];
    const p = applyPlan(plan(observed({ frontend: frontend(managed), endpointSlices, secrets: settledSecrets }), NOW));
    const outcome = assess(p, { applied: appliedAll(p, servedDeployment(p, rolledOut)) });
    expect(outcome.findings.backends).toEqual({
      ok: false,
      reason: 'NoReadyBackend',
      message: 'no ready backend for all-in-one:9443, all-in-one:8243, all-in-one:8280',
      waiting: true,
    });
    expect(outcome.events.map((e) => e.reason)).not.toContain('Ready');
  });

  test('a refused apply: ConfigurationServed says which object and why, the reconcile fails, no hash is claimed', () => {
    const p = settled();
    const applied = new Map([[`Secret/${LEAF_SECRET}`, p.desired[0]!]]);
    const outcome = assess(p, {
      applied,
      refused: { message: 'Service shop-nginx: 422 provided port is already allocated' },
    });
    expect(outcome.findings.configuration).toEqual({
      ok: false,
      reason: 'ApplyFailed',
      message: 'Service shop-nginx: 422 provided port is already allocated',
      waiting: true,
    });
    expect(outcome.findings.backends).toBeUndefined();
    expect(outcome.findings.configHash).toBeUndefined();
    expect(outcome.error).toBe('Service shop-nginx: 422 provided port is already allocated');
    expect(outcome.requeueAfterMs).toBeUndefined();
  });

  test('an object the API server finds invalid (422): Stalled, said once as an Event, and not retried', () => {
    const p = settled();
    const message = 'Service shop-nginx: 422 Service "shop-nginx" is invalid: metadata.name: Invalid value';
    const outcome = assess(p, { applied: new Map(), refused: { message, permanent: true } });
    const said = `${message} (retrying cannot help: change the resource)`;
    // Not waiting: computeStatus makes it Stalled=True, which kstatus reads as Failed.
    expect(outcome.findings.configuration).toEqual({ ok: false, reason: 'ApplyInvalid', message: said });
    expect(outcome.error).toBeUndefined();
    expect(outcome.events).toEqual([
      { type: 'Warning', reason: 'ApplyInvalid', action: 'Apply', note: said, onlyOnStatusChange: true },
    ]);
    const status = computeStatus(outcome.findings, undefined, NOW);
    expect(status.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'ApplyInvalid',
    });
  });

  test('issued certificates are announced once their Secrets are stored, even when a later apply is refused', () => {
    const issued: IssuedCertificate[] = [
      { secretName: CA_SECRET, description: 'the frontend CA (new)', certificate: ca },
    ];
    const p = applyPlan(
      plan(
        observed({
          secrets: stored({ [CA_SECRET]: fresh(caSecretData(ca)), [LEAF_SECRET]: cached(tlsSecretData(leaf, ca)) }),
          issued,
        }),
        NOW,
      ),
    );
    const secretsStored = new Map(p.desired.slice(0, 1).map((o) => [`${o.kind}/${o.metadata!.name}`, o]));
    const refused = { message: 'ConfigMap shop-nginx: 403 forbidden' };
    expect(assess(p, { applied: secretsStored, refused }).events).toEqual([
      { type: 'Normal', reason: 'CertificateIssued', action: 'Issue', note: 'issued the frontend CA (new)' },
    ]);
    expect(assess(p, { applied: new Map(), refused }).events).toEqual([]);
  });
});

test("endpointsOf: each pod's role Service DNS names, and its own under the Service when it has a hostname", () => {
  const named = slice('m', 'manager', [{ ...endpoint('shop-manager-0', '10.0.0.4'), hostname: 'shop-manager-0' }]);
  named.metadata = {
    ...named.metadata,
    namespace: 'iam',
    labels: { ...named.metadata!.labels, 'kubernetes.io/service-name': 'shop-manager' },
  };
  expect(endpointsOf([named])).toEqual({
    manager: [
      {
        pod: 'shop-manager-0',
        address: '10.0.0.4',
        hostnames: [
          'shop-manager.iam.svc',
          'shop-manager.iam.svc.cluster.local',
          'shop-manager-0.shop-manager.iam.svc',
          'shop-manager-0.shop-manager.iam.svc.cluster.local',
        ],
      },
    ],
  });
});

describe("the user's base product files (backends.managed.configMapName)", () => {
  const withBase: Wso2FrontendSpec = { ...managed, backends: { managed: { configMapName: 'shop-base' } } };
  const planWith = (baseConfigMap: Observed['baseConfigMap']) =>
    plan(observed({ frontend: frontend(withBase), secrets: settledSecrets, baseConfigMap }), NOW);
  const checksum = (p: ApplyPlan) =>
    (p.desired.find((o) => o.kind === 'Deployment' && o.metadata!.name === 'shop-all-in-one') as k8s.V1Deployment).spec!
      .template.metadata!.annotations!['wso2-frontend.dev/product-config-checksum'];

  test('a base file that does not parse is reported with file, line and message, and nothing is applied', () => {
    const next = planWith({ data: { 'deployment.toml': '[server]\nhostname = \n' } });
    expect(next).toMatchObject({
      action: 'report',
      outcome: {
        findings: {
          product: {
            ok: false,
            reason: 'InvalidBaseConfig',
            message: expect.stringMatching(/^ConfigMap shop-base key deployment\.toml:2: .*; nothing was rolled$/),
          },
        },
        events: [expect.objectContaining({ type: 'Warning', reason: 'InvalidBaseConfig', onlyOnStatusChange: true })],
      },
    });
  });

  test('a base file larger than 1 MiB is reported with file and line, and nothing is applied', () => {
    const big = `[server]\n${'# padding\n'.repeat(110_000)}`;
    const next = planWith({ data: { 'deployment.toml': big } });
    expect(next).toMatchObject({
      action: 'report',
      outcome: {
        findings: {
          product: {
            reason: 'InvalidBaseConfig',
            message: expect.stringMatching(
              /^ConfigMap shop-base key deployment\.toml:104858: passes 1 MiB on this line \(1100009 bytes in all\)/,
            ),
          },
        },
        events: [expect.objectContaining({ type: 'Warning', reason: 'InvalidBaseConfig' })],
      },
    });
  });

  test('an owned file in binaryData is checked like data: one that does not parse is reported, nothing is applied', () => {
    const next = planWith({ binaryData: { 'deployment.toml': Buffer.from('[server\n').toString('base64') } });
    expect(next).toMatchObject({
      action: 'report',
      outcome: {
        findings: {
          product: {
            reason: 'InvalidBaseConfig',
            message: expect.stringMatching(/^ConfigMap shop-base key deployment\.toml:1: /),
          },
        },
      },
    });
  });

  test('an owned key set to another value: applied with the owned value, a Warning Event names file, key and both values', () => {
    const p = applyPlan(planWith({ data: { 'deployment.toml': '[server]\nhostname = "apim.corp.internal"\n' } }));
    const outcome = assess(p, { applied: appliedAll(p, servedDeployment(p, rolledOut)) });
    const note =
      'ConfigMap shop-base key deployment.toml: [server] hostname is "apim.corp.internal" there; the fronting sets "api.am.wso2.com" (it owns this key)';
    expect(outcome.events).toContainEqual({
      type: 'Warning',
      reason: 'OwnedKeyOverridden',
      action: 'PatchProductConfig',
      note,
      onlyOnStatusChange: true,
    });
    expect(outcome.findings.product?.message).toContain(note);
  });

  test('an owned key overridden with a multi-line value: the note shows it as one bounded line', () => {
    const long = `apim.corp.internal\n${'x'.repeat(400)}`;
    const p = applyPlan(planWith({ data: { 'deployment.toml': `[server]\nhostname = """${long}"""\n` } }));
    const outcome = assess(p, { applied: appliedAll(p, servedDeployment(p, rolledOut)) });
    const event = outcome.events.find((e) => e.reason === 'OwnedKeyOverridden')!;
    expect(event.note).toMatch(
      /^ConfigMap shop-base key deployment\.toml: \[server\] hostname is """apim\.corp\.internal x+… there; the fronting sets "api\.am\.wso2\.com" \(it owns this key\)$/,
    );
    expect([...event.note.slice(event.note.indexOf(' is ') + 4, event.note.indexOf(' there;'))]).toHaveLength(200);
  });

  test('editing the base ConfigMap moves the WSO2 pod template checksum; the same content does not', () => {
    const one = applyPlan(planWith({ data: { 'deployment.toml': '[database.apim_db]\ntype = "mysql"\n' } }));
    const same = applyPlan(planWith({ data: { 'deployment.toml': '[database.apim_db]\ntype = "mysql"\n' } }));
    const other = applyPlan(planWith({ data: { 'deployment.toml': '[database.apim_db]\ntype = "postgre"\n' } }));
    expect(checksum(same)).toBe(checksum(one));
    expect(checksum(other)).not.toBe(checksum(one));
  });

  test('a missing base ConfigMap: everything is applied, ProductConfigured waits for it', () => {
    const p = applyPlan(planWith(null));
    const outcome = assess(p, { applied: appliedAll(p, servedDeployment(p, rolledOut)) });
    expect(outcome.findings.product).toMatchObject({ ok: false, reason: 'BaseConfigMapMissing', waiting: true });
  });

  describe('a missing base ConfigMap while NGINX serves and WSO2 pods are ready (issue 26: "Normal Ready" beside Ready=False)', () => {
    const missing =
      'ConfigMap shop-base (spec.backends.managed.configMapName) does not exist; WSO2 pods cannot start until it does';
    const endpointSlices = [slice('s', 'all-in-one', [endpoint('shop-all-in-one-0', '10.244.0.5')])];
    const assessed = (status?: Wso2Frontend['status']) => {
      const p = servedBoth(
        applyPlan(
          plan(
            observed({
              frontend: frontend(withBase, status),
              secrets: settledSecrets,
              endpointSlices,
              baseConfigMap: null,
            }),
            NOW,
          ),
        ),
      );
      return assess(p, { applied: appliedAll(p, servedDeployment(p, rolledOut)) });
    };

    test('no Ready Event: the status says Ready=False BaseConfigMapMissing', () => {
      const outcome = assessed();
      const ready = computeStatus(outcome.findings, undefined, NOW).conditions!.find((c) => c.type === 'Ready');
      expect(ready).toMatchObject({ status: 'False', reason: 'BaseConfigMapMissing', message: missing });
      expect(outcome.events.map((e) => e.reason)).not.toContain('Ready');
    });

    test('a Warning Event names the ConfigMap, said once when the status first says so', () => {
      expect(assessed().events).toContainEqual({
        type: 'Warning',
        reason: 'BaseConfigMapMissing',
        action: 'PatchProductConfig',
        note: missing,
        onlyOnStatusChange: true,
      });
    });

    test('BackendsAvailable says the ready pods started before, and that new ones cannot start', () => {
      expect(assessed().findings.backends).toEqual({
        ok: true,
        reason: 'BackendsReady',
        message: `every role has a ready backend (pods that started before; new WSO2 pods cannot start: ${missing})`,
      });
    });

    test('once the ConfigMap exists and the pods run it, Ready is announced', () => {
      const before = computeStatus(assessed().findings, undefined, NOW);
      const p = servedBoth(
        applyPlan(
          plan(
            observed({
              frontend: frontend(withBase, before),
              secrets: settledSecrets,
              endpointSlices,
              baseConfigMap: { data: {} },
            }),
            NOW,
          ),
        ),
      );
      const outcome = assess(p, { applied: appliedAll(p, servedDeployment(p, rolledOut)) });
      expect(outcome.events.map((e) => e.reason)).toEqual(['Ready']);
    });
  });
});

describe('the truststore password Secret (backends.managed.truststorePassword)', () => {
  const withPassword: Wso2FrontendSpec = {
    ...managed,
    backends: { managed: { truststorePassword: { secretName: 'shop-truststore', key: 'password' } } },
  };
  const productAfter = (truststoreSecretKeys: Observed['truststoreSecretKeys']) => {
    const p = applyPlan(
      plan(observed({ frontend: frontend(withPassword), secrets: settledSecrets, truststoreSecretKeys }), NOW),
    );
    return assess(p, { applied: appliedAll(p, servedDeployment(p, rolledOut)) }).findings.product;
  };

  test('missing: everything is applied, ProductConfigured waits for it and says which Secret', () => {
    expect(productAfter(null)).toEqual({
      ok: false,
      reason: 'TruststorePasswordMissing',
      message:
        'Secret shop-truststore (spec.backends.managed.truststorePassword) does not exist; WSO2 pods cannot start until it does',
      waiting: true,
    });
  });

  test('without the key: the key wanted and the keys it has are named', () => {
    expect(productAfter(['pass', 'user'])).toMatchObject({
      reason: 'TruststorePasswordMissing',
      message:
        'Secret shop-truststore (spec.backends.managed.truststorePassword) has no key password (it has: pass, user); WSO2 pods cannot start until it has',
    });
  });

  test('with the key: ProductConfigured as usual', () => {
    expect(productAfter(['password'])).toMatchObject({ ok: true, reason: 'Configured' });
  });
});

test('managed pods: a role without a ready backend names the WSO2 pod whose container failed, and why; a ready role names none', () => {
  const crashed: k8s.V1Pod = {
    metadata: { name: 'shop-all-in-one-0', namespace: 'team' },
    status: {
      conditions: [{ type: 'Ready', status: 'False' }],
      containerStatuses: [
        {
          name: 'wso2',
          image: 'wso2/wso2am',
          imageID: '',
          ready: false,
          restartCount: 2,
          state: { waiting: { reason: 'CrashLoopBackOff' } },
          lastState: { terminated: { exitCode: 137, reason: 'OOMKilled' } },
        },
      ],
    },
  };
  const assessed = (endpointSlices: k8s.V1EndpointSlice[]) => {
    const p = applyPlan(
      plan(
        observed({ frontend: frontend(managed), secrets: settledSecrets, endpointSlices, wso2Pods: [crashed] }),
        NOW,
      ),
    );
    return assess(p, { applied: appliedAll(p, servedDeployment(p, rolledOut)) }).findings.backends;
  };
  expect(assessed([])).toEqual({
    ok: false,
    reason: 'NoReadyBackend',
    message:
      'no ready backend for all-in-one:9443, all-in-one:8243, all-in-one:8280; WSO2 pod shop-all-in-one-0 is not ready: container wso2, ' +
      'restarted 2 times, waiting: CrashLoopBackOff, last terminated with exit code 137 (OOMKilled)',
    waiting: true,
  });
  expect(assessed([slice('shop-all-in-one', 'all-in-one', [endpoint('shop-all-in-one-1', '10.244.0.9')])])).toEqual({
    ok: true,
    reason: 'BackendsReady',
    message: 'every role has a ready backend',
  });
});

describe('assess: ProductConfigured', () => {
  test('external nodes: True once their snippets are published, and the status names the ConfigMap', () => {
    const p = applyPlan(plan(observed({ secrets: settledSecrets }), NOW));
    const outcome = assess(p, { applied: appliedAll(p, servedDeployment(p, rolledOut)) });
    expect(outcome.findings.product).toEqual({
      ok: true,
      reason: 'Published',
      message: 'what to set on each node is in ConfigMap shop-product-config',
    });
    expect(outcome.findings.productConfigMap).toBe('shop-product-config');
  });

  test('managed pods: RollingOut until every role runs its current template, then Configured', () => {
    const p = applyPlan(plan(observed({ frontend: frontend(managed), secrets: settledSecrets }), NOW));
    const nginx = servedDeployment(p, rolledOut);
    const wso2 = p.desired.find((o) => o.metadata!.name === 'shop-all-in-one' && o.kind === 'Deployment')!;
    const applied = (status: k8s.V1DeploymentStatus) => {
      const rolled: k8s.V1Deployment = { ...wso2, metadata: { ...wso2.metadata, generation: 2 }, status };
      return new Map<string, k8s.KubernetesObject>([...appliedAll(p, nginx), ['Deployment/shop-all-in-one', rolled]]);
    };
    expect(
      assess(p, { applied: applied({ observedGeneration: 2, replicas: 2, updatedReplicas: 1 }) }).findings.product,
    ).toEqual({
      ok: false,
      reason: 'RollingOut',
      message: 'the patched configuration is rolling out to shop-all-in-one',
      waiting: true,
    });
    expect(
      assess(p, { applied: applied({ observedGeneration: 2, replicas: 1, updatedReplicas: 1 }) }).findings.product,
    ).toEqual({ ok: true, reason: 'Configured', message: 'every WSO2 pod runs the patched product configuration' });
  });
});

test('endpointsOf: ready, not terminating endpoints by role, sorted by slice; NGINX slices ignored', () => {
  const slices = [
    slice('b', 'all-in-one', [endpoint('pod-b', '10.0.0.2'), endpoint('pod-x', '10.0.0.9', true, true)]),
    slice('a', 'all-in-one', [endpoint('pod-a', '10.0.0.1'), endpoint('pod-y', '10.0.0.8', false)]),
    slice('n', 'nginx', [endpoint('nginx-0', '10.0.0.3')]),
  ];
  expect(endpointsOf(slices)).toEqual({
    'all-in-one': [
      { pod: 'pod-a', address: '10.0.0.1' },
      { pod: 'pod-b', address: '10.0.0.2' },
    ],
  });
});

test("endpointsOf: a role's headless Service (pods with peers, published before they are ready) does not count as ready backends", () => {
  const withService = (s: k8s.V1EndpointSlice, service: string): k8s.V1EndpointSlice => ({
    ...s,
    metadata: { ...s.metadata, labels: { ...s.metadata!.labels, 'kubernetes.io/service-name': service } },
  });
  const slices = [
    withService(slice('cp-a', 'control-plane', [endpoint('shop-control-plane-0', '10.0.0.1')]), 'shop-control-plane'),
    // publishNotReadyAddresses: the endpoint controller marks every pod ready in this Service's slices.
    withService(
      slice('cp-pods', 'control-plane', [
        endpoint('shop-control-plane-0', '10.0.0.1'),
        endpoint('shop-control-plane-1', '10.0.0.2'),
      ]),
      'shop-control-plane-pods',
    ),
  ];
  expect(endpointsOf(slices)['control-plane']!.map((e) => e.pod)).toEqual(['shop-control-plane-0']);
});

test('status.roles: the image and profile each managed role runs (managed API-M 4.4 distributed)', () => {
  const backends = topologyOf(
    frontend({ product: 'api-manager', version: '4.4.0', pattern: 'apim-distributed', backends: { managed: {} } }),
  ).backends;
  expect(backends.source === 'managed' && roleStatuses(backends.components)).toEqual([
    { role: 'control-plane', image: 'wso2/wso2am:4.4.0', profile: 'control-plane' },
    { role: 'gateway', image: 'wso2/wso2am:4.4.0', profile: 'gateway-worker' },
    { role: 'traffic-manager', image: 'wso2/wso2am:4.4.0', profile: 'traffic-manager' },
  ]);
});

describe('plan: tls.mode issuer (cert-manager)', () => {
  const issuerSpec = {
    ...external,
    tls: { mode: 'issuer', issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer' } },
  };
  /** The Secret cert-manager writes for the one certificate, and the copy NGINX serves. */
  const ISSUED = 'shop-tls-frontend-issued';
  const certificateWith = (ready?: { status: string; reason?: string; message?: string }) =>
    new Map([
      [
        LEAF_SECRET,
        {
          apiVersion: 'cert-manager.io/v1',
          kind: 'Certificate',
          metadata: { name: LEAF_SECRET, generation: 1 },
          spec: {} as CertManagerCertificate['spec'],
          ...(ready ? { status: { conditions: [{ type: 'Ready', observedGeneration: 1, ...ready }] } } : {}),
        },
      ],
    ]);
  const onHosts = (hosts: string[]) => issueServerCertificate(ca, hosts, { now: NOW, keyPair: keys[2]! });
  const apimHosts = topologyOf(frontend(issuerSpec)).sites.map((s) => s.host);

  test('first the Certificate: one per certificate, every host as dnsNames, the issuer, the key, the Secret to write', () => {
    const p = plan(observed({ frontend: frontend(issuerSpec) }), NOW);
    expect(p).toEqual({
      action: 'request',
      certificates: [
        expect.objectContaining({
          apiVersion: 'cert-manager.io/v1',
          kind: 'Certificate',
          metadata: expect.objectContaining({ name: LEAF_SECRET, namespace: 'team' }),
          spec: {
            secretName: ISSUED,
            dnsNames: apimHosts,
            issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer', group: 'cert-manager.io' },
            privateKey: { algorithm: 'RSA', size: 2048, rotationPolicy: 'Always' },
          },
        }),
      ],
    });
  });

  test('cert-manager not installed: CertificatesReady=False (CertManagerMissing), a Warning, nothing applied, asked again', () => {
    const p = plan(observed({ frontend: frontend(issuerSpec), certManager: { served: false } }), NOW);
    if (p.action !== 'report') throw new Error(`expected a report, got ${p.action}`);
    expect(p.outcome.findings.certificates).toMatchObject({ ok: false, reason: 'CertManagerMissing' });
    expect(p.outcome.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'CertManagerMissing' })]);
    expect(p.outcome.requeueAfterMs).toBe(CERT_MANAGER_RETRY_MS);
  });

  test('Certificate not Ready yet: waiting (a Normal Event), nothing applied, asked again', () => {
    const p = plan(
      observed({
        frontend: frontend(issuerSpec),
        certManager: { served: true, certificates: certificateWith() },
        secrets: stored({ [ISSUED]: cached(undefined), [LEAF_SECRET]: cached(undefined) }),
      }),
      NOW,
    );
    if (p.action !== 'report') throw new Error(`expected a report, got ${p.action}`);
    expect(p.outcome.findings.certificates).toEqual({
      ok: false,
      reason: 'CertificateNotReady',
      message: `cert-manager Certificate ${LEAF_SECRET} is not Ready (not issued yet); Secret ${ISSUED} not found; no good copy of it was made yet, so nothing is served from it until it is fixed`,
      waiting: true,
    });
    expect(p.outcome.events).toEqual([expect.objectContaining({ type: 'Normal', reason: 'CertificateNotReady' })]);
    expect(p.outcome.requeueAfterMs).toBe(CERT_MANAGER_RETRY_MS);
  });

  test("cert-manager's words (an issuer's error over several lines) reach the status as one bounded line", () => {
    const vault = `Failed to sign certificate: Error making API request.\n\nURL: PUT https://vault/v1/pki/sign/x\nCode: 400. Errors:\n\n* ${'common name not allowed '.repeat(40)}`;
    const p = plan(
      observed({
        frontend: frontend(issuerSpec),
        certManager: {
          served: true,
          certificates: certificateWith({ status: 'False', reason: 'Failed', message: vault }),
        },
        secrets: stored({ [ISSUED]: cached(undefined), [LEAF_SECRET]: cached(undefined) }),
      }),
      NOW,
    );
    if (p.action !== 'report') throw new Error(`expected a report, got ${p.action}`);
    const message = p.outcome.findings.certificates!.message;
    expect(message).toContain(
      `is not Ready (Failed: Failed to sign certificate: Error making API request. URL: PUT https://vault/v1/pki/sign/x Code: 400. Errors: * common name not allowed`,
    );
    expect(message).not.toMatch(/[\p{Cc}]/u);
    const why = message.slice(message.indexOf('(Failed: ') + '(Failed: '.length, message.indexOf('…') + 1);
    expect([...why]).toHaveLength(300);
  });

  test('Ready, and its Secret passes every check: copied into the Secret NGINX serves, the Certificate kept', () => {
    const issued = tlsSecretData(onHosts(apimHosts), ca);
    const p = applyPlan(
      plan(
        observed({
          frontend: frontend(issuerSpec),
          certManager: { served: true, certificates: certificateWith({ status: 'True', reason: 'Ready' }) },
          secrets: stored({ [ISSUED]: cached(issued) }),
        }),
        NOW,
      ),
    );
    expect(p.findings.certificates).toEqual({
      ok: true,
      reason: 'CertificatesValid',
      message: '1 certificate(s) issued by ClusterIssuer letsencrypt cover their hosts',
    });
    const copy = p.desired.find((o) => o.kind === 'Secret' && o.metadata?.name === LEAF_SECRET) as k8s.V1Secret;
    expect(Buffer.from(copy.data!['tls.crt']!, 'base64').toString('utf8')).toBe(issued['tls.crt']);
    expect(p.keep.has(`Certificate/${LEAF_SECRET}`)).toBe(true);
    expect(p.keep.has(`Secret/${ISSUED}`)).toBe(false);
  });

  test('Ready but the Secret misses a host (a hand edit): CertificateInvalid, nothing applied', () => {
    const p = plan(
      observed({
        frontend: frontend(issuerSpec),
        certManager: { served: true, certificates: certificateWith({ status: 'True', reason: 'Ready' }) },
        secrets: stored({
          [ISSUED]: cached(tlsSecretData(onHosts(['other.example.com']), ca)),
          [LEAF_SECRET]: cached(undefined),
        }),
      }),
      NOW,
    );
    if (p.action !== 'report') throw new Error(`expected a report, got ${p.action}`);
    expect(p.outcome.findings.certificates).toMatchObject({ ok: false, reason: 'CertificateInvalid' });
  });
});

describe('site probes: from the NGINX pods to the findings, the Events and the next look', () => {
  const probed = (sites: SiteProbe[], probedAt = new Date(NOW.getTime() - 5000)): k8s.V1Pod => ({
    ...nginxPod('shop-nginx-a', { served: 'any' }),
    metadata: {
      name: 'shop-nginx-a',
      namespace: 'team',
      annotations: { [SITE_PROBES_ANNOTATION]: formatSiteProbeReport({ probedAt: probedAt.toISOString(), sites }) },
    },
  });
  const up = (host: string): SiteProbe => ({ host, serving: true, nodes: { answering: 1, total: 1 } });
  const down = (host: string): SiteProbe => ({
    host,
    serving: false,
    nodes: { answering: 0, total: 1 },
    error: '502 from NGINX: no node answered',
  });
  const withReports = (status: Wso2Frontend['status'], ...sites: SiteProbe[]) =>
    applyPlan(
      plan(
        observed({ frontend: frontend(external, status), secrets: settledSecrets, nginxPods: [probed(sites)] }),
        NOW,
      ),
    );

  test('the findings carry the sites and Serving; the next look is when the report would go stale', () => {
    const p = withReports(undefined, up(HOSTS[0]!), down(HOSTS[1]!));
    expect(p.findings.sites?.map((s) => [s.host, s.serving])).toEqual([
      [HOSTS[0], 'True'],
      [HOSTS[1], 'False'],
    ]);
    expect(p.findings.serving).toMatchObject({ status: 'False', reason: 'SitesNotServing' });
    expect(p.requeueAfterMs).toBe(176_000);
    expect(p.probeEvents).toEqual([
      {
        type: 'Warning',
        reason: 'NotServing',
        action: 'Probe',
        note: `${HOSTS[1]} is not serving (0/1 nodes answer): 502 from NGINX: no node answered`,
        onlyOnStatusChange: true,
      },
    ]);
  });

  test('sites not serving: no Ready Event; their return: ServingAgain, not a second Ready Event', () => {
    const failing = servedBoth(withReports(undefined, down(HOSTS[0]!), up(HOSTS[1]!)));
    const first = assess(failing, { applied: appliedAll(failing, servedDeployment(failing, rolledOut)) });
    expect(first.events.map((e) => e.reason)).toEqual(['NotServing']);
    const written = computeStatus(first.findings, undefined, NOW);
    expect(written.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('SitesNotServing');

    const back = servedBoth(withReports(written, up(HOSTS[0]!), up(HOSTS[1]!)));
    const second = assess(back, { applied: appliedAll(back, servedDeployment(back, rolledOut)) });
    expect(second.events.map((e) => e.reason)).toEqual(['ServingAgain']);
  });

  test('probes off: Serving Unknown (ProbesDisabled), no sites, whatever a pod still carries', () => {
    const p = applyPlan(
      plan(
        observed({
          frontend: frontend({ ...external, probes: { enabled: false } }),
          secrets: settledSecrets,
          nginxPods: [probed([down(HOSTS[0]!)])],
        }),
        NOW,
      ),
    );
    expect(p.findings.sites).toBeUndefined();
    expect(p.findings.serving).toMatchObject({ status: 'Unknown', reason: 'ProbesDisabled' });
    expect(p.probeEvents).toEqual([]);
  });

  test('the staleness bound follows spec.probes.intervalSeconds', () => {
    const old = new Date(NOW.getTime() - 200_000);
    const withInterval = (intervalSeconds: number) =>
      applyPlan(
        plan(
          observed({
            frontend: frontend({ ...external, probes: { intervalSeconds } }),
            secrets: settledSecrets,
            nginxPods: [probed([up(HOSTS[0]!), up(HOSTS[1]!)], old)],
          }),
          NOW,
        ),
      ).findings.serving?.status;
    // Two refresh periods (60 s) and two intervals: 180 s at 30 s, 240 s at 60 s.
    expect([withInterval(30), withInterval(60)]).toEqual(['Unknown', 'True']);
  });

  test('an invalid spec still reports the sites the status named, from the pods', () => {
    const status = { sites: [{ host: HOSTS[0]!, serving: 'True' as const, nodesAnswering: 1, nodesTotal: 1 }] };
    const next = plan(
      observed({
        frontend: frontend({ ...external, sites: { nowhere: {} } }, status),
        nginxPods: [probed([down(HOSTS[0]!)])],
      }),
      NOW,
    );
    if (next.action !== 'report') throw new Error(`expected a report, got ${next.action}`);
    expect(next.outcome.findings.sites?.map((s) => [s.host, s.serving])).toEqual([[HOSTS[0], 'False']]);
    expect(next.outcome.events.map((e) => e.reason)).toEqual(['InvalidSpec', 'NotServing']);
  });
});
