// Loading the example resources, installing the CRD and the Secrets examples name in the shared test cluster.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import type { Wso2Frontend } from '../../src/api/schema.js';
import type { Role } from '../../src/api/vocabulary.js';
import { PATTERN_PRESETS } from '../../src/model/catalog.js';
import { issueCa, issueServerCertificate, tlsSecretData } from '../../src/tls/issuer.js';
import { eventually, kubeConfig, kubectl } from './cluster.js';

export const CRD_FILE = 'crds/wso2frontends.wso2-frontend.dev.yaml';

export function examples(): { file: string; resource: Wso2Frontend }[] {
  return readdirSync('examples')
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => ({ file, resource: yaml.load(readFileSync(join('examples', file), 'utf8')) as Wso2Frontend }));
}

export function example(file: string): Wso2Frontend {
  const found = examples().find((e) => e.file === file);
  if (!found) throw new Error(`no example ${file}`);
  return found.resource;
}

/**
 * IS 7 (the default version) with the Console on its own host, as examples/is-7-managed.yaml names
 * the hosts, in front of the external nodes of is-pattern-1.yaml: the Console host of docs-is
 * configure-console-hostname.md needs nodes to proxy to, which a managed example has only at run time.
 */
export function is7ConsoleFrontend(): Wso2Frontend {
  const resource = structuredClone(example('is-pattern-1.yaml'));
  delete resource.spec.version;
  resource.spec.sites = structuredClone(example('is-7-managed.yaml').spec.sites);
  return resource;
}

/** A Wso2Frontend as the API server returns it (`kubectl get -o json`). */
export async function readFrontend(namespace: string, name: string): Promise<Wso2Frontend> {
  return JSON.parse(await kubectl(['get', 'wso2frontend', name, '-n', namespace, '-o', 'json'])) as Wso2Frontend;
}

/**
 * The YAML of a small API Manager frontend named `name` (the active-active example, one NGINX
 * replica, hosts `name.example.com` and `gw-name.example.com`), as the fault tests apply in batches.
 */
export function apimFrontendManifest(name: string): string {
  const resource = example('apim-active-active.yaml');
  resource.metadata = { name };
  resource.spec.nginx = { ...resource.spec.nginx, replicas: 1 };
  resource.spec.sites = { portal: { host: `${name}.example.com` }, gateway: { host: `gw-${name}.example.com` } };
  return yaml.dump(resource);
}

/** One of a frontend's status conditions. */
export function conditionOf<F extends Pick<Wso2Frontend, 'status'>>(frontend: F, type: string) {
  return frontend.status?.conditions?.find((c) => c.type === type);
}

/** Ready for its latest generation. */
export function settledFrontend(frontend: Wso2Frontend): boolean {
  return (
    frontend.status?.observedGeneration === frontend.metadata.generation &&
    conditionOf(frontend, 'Ready')?.status === 'True'
  );
}

/** Changes a frontend's spec as a user does: `kubectl patch --type=merge`. */
export async function patchSpec(namespace: string, name: string, spec: Record<string, unknown>): Promise<void> {
  await kubectl(['patch', 'wso2frontend', name, '-n', namespace, '--type=merge', '-p', JSON.stringify({ spec })]);
}

/** The frontend once `holds` is true of it, as the API server returns it. */
export function frontendOnce(
  what: string,
  namespace: string,
  name: string,
  holds: (frontend: Wso2Frontend) => boolean,
): Promise<Wso2Frontend> {
  return eventually(what, async () => {
    const frontend = await readFrontend(namespace, name);
    return holds(frontend) ? frontend : undefined;
  });
}

export async function installCrd(): Promise<void> {
  await kubectl(['apply', '--server-side', '--field-manager=wso2-frontend-tests', '-f', CRD_FILE]);
  // On a fresh API server the CRD can have no conditions yet, which `kubectl wait` takes as an error.
  await eventually('the CRD to be established', () =>
    kubectl(['wait', '--for=condition=Established', 'crd/wso2frontends.wso2-frontend.dev', '--timeout=60s']),
  );
  // Established does not mean the OpenAPI schema is published yet; kubectl explain needs it.
  await eventually('the CRD schema to be published', async () =>
    (await kubectl(['explain', 'wso2frontend.spec.nginx'])).includes('edition') ? true : undefined,
  );
}

/**
 * The Wso2Frontend CRD as the API server behind `kubeconfig` holds it, read back with kubectl,
 * and the CRD in crds/, each reduced to what the file sets: the server's own additions (status,
 * managed fields, the default conversion strategy) are dropped, nothing else.
 */
export async function installedAndFileCrd(kubeconfig?: string): Promise<{ installed: unknown; file: unknown }> {
  const file = yaml.load(readFileSync(CRD_FILE, 'utf8')) as {
    metadata: { name: string; labels: unknown };
    spec: unknown;
  };
  const args = ['get', 'crd', file.metadata.name, '-o', 'json', ...(kubeconfig ? ['--kubeconfig', kubeconfig] : [])];
  const read = JSON.parse(await kubectl(args)) as {
    metadata: { name: string; labels: unknown };
    spec: { conversion?: { strategy?: string } };
  };
  const { conversion, ...spec } = read.spec;
  if (conversion?.strategy !== 'None' || Object.keys(conversion).length !== 1) {
    throw new Error(`unexpected conversion ${JSON.stringify(conversion)}`);
  }
  return {
    installed: { metadata: { name: read.metadata.name, labels: read.metadata.labels }, spec },
    file: { metadata: { name: file.metadata.name, labels: file.metadata.labels }, spec: file.spec },
  };
}

export interface ExpectedSite {
  name: string;
  host: string;
  role: Role;
  pinned: boolean;
  /** With tls.mode secret: the user's Secret that must cover the host. */
  secretName?: string;
}

/** The example's sites: the pattern's, with the example's overrides. */
export function sitesOf(resource: Wso2Frontend): ExpectedSite[] {
  const { pattern, sites, tls } = resource.spec;
  return Object.entries(PATTERN_PRESETS[pattern].sites).map(([name, preset]) => {
    const override = sites?.[name];
    const secretName = tls?.mode === 'secret' ? (override?.tlsSecretName ?? tls.secretName) : undefined;
    return {
      name,
      host: override?.host ?? preset.host,
      role: preset.https.role,
      pinned: !!preset.pinned,
      ...(secretName ? { secretName } : {}),
    };
  });
}

/** Creates the kubernetes.io/tls Secrets a `tls.mode: secret` example names, as cert-manager would, covering the hosts that use each. */
/**
 * The base product files an example names in backends.managed.configMapName, as a user would
 * keep them: their own database settings in deployment.toml, which the operator patches over.
 */
export async function provideBaseConfig(resource: Wso2Frontend, namespace: string): Promise<void> {
  const name = resource.spec.backends.managed?.configMapName;
  if (!name) return;
  await kubeConfig()
    .makeApiClient(k8s.CoreV1Api)
    .createNamespacedConfigMap({
      namespace,
      body: {
        metadata: { name },
        data: {
          'deployment.toml': [
            '# Our database; the operator adds the host names and proxy ports.',
            '[database.apim_db]',
            'type = "mysql"',
            'url = "jdbc:mysql://mysql.db.svc:3306/apim_db?useSSL=true"',
            'username = "apim"',
            'password = "$env{APIM_DB_PASSWORD}"',
            '',
          ].join('\n'),
        },
      },
    });
}

export async function provideTlsSecrets(resource: Wso2Frontend, namespace: string): Promise<void> {
  const hostsBySecret = new Map<string, string[]>();
  for (const { secretName, host } of sitesOf(resource))
    if (secretName) hostsBySecret.set(secretName, [...(hostsBySecret.get(secretName) ?? []), host]);
  const ca = issueCa('user CA', { now: new Date() });
  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  for (const [name, hosts] of hostsBySecret) {
    const data = tlsSecretData(issueServerCertificate(ca, hosts, { now: new Date() }), ca);
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name }, type: 'kubernetes.io/tls', stringData: data },
    });
  }
}
