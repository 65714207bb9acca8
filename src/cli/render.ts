// `wso2-frontend render`: the offline view of what the operator would do for a resource, either
// as Kubernetes objects or as a runnable NGINX tree for a local preview.
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as yaml from 'js-yaml';
import { API_GROUP, API_VERSION, KIND, type Wso2Frontend } from '../api/schema.js';
import { printable } from '../api/text.js';
import { UsageError } from './usage-error.js';
import { formatProblem, quote } from '../api/validate.js';
import { nodeConfiguration, roleConfiguration, type Placement } from '../model/product-config.js';
import { buildTopology, type Topology } from '../model/topology.js';
import { validateSpec } from '../model/validate.js';
import type { NginxLayout } from '../render/nginx/config.js';
import { previewTree, type TreeFile } from '../render/nginx/preview.js';
import { agentAccess } from '../render/agent.js';
import { nameProblems } from '../render/names.js';
import { caSecretName, certificateSecretName, desiredObjects } from '../render/objects.js';
import { certManagerCertificate } from '../render/cert-manager.js';
import { patchRole, productSnippets } from '../render/product/patch.js';
import { caTrustSteps, wso2Workloads } from '../render/workloads.js';
import { issueCa, type KeyAndCertificate } from '../tls/issuer.js';
import { issuePreviewCertificates } from '../tls/preview.js';

export const usage = `wso2-frontend render -f RESOURCE.yaml [--nginx-dir DIR [--bind ADDRESS] [--http-port N] [--https-port N] | --product-config DIR [--base PRODUCT_HOME]] [--ca-dir DIR]

Validates a Wso2Frontend and prints, as multi-document YAML, the objects the operator would
create for it. With --nginx-dir, writes a runnable NGINX tree instead, with certificates for
local use, and prints the command that serves it in the foreground (Ctrl-C stops it)
  --bind ADDRESS    address NGINX listens on (default 127.0.0.1)
  --http-port N     plain HTTP port (default 8080)
  --https-port N    HTTPS port (default 8443)
With --product-config, writes what each WSO2 node must have in its own configuration instead:
per external node (per role for managed backends) a directory with the patched files of
PRODUCT_HOME when --base is given, else minimal deployment.toml/site.json snippets, and
CHANGES.txt saying what to set where. Run render once for each of --nginx-dir and --product-config.
  --ca-dir DIR      the local CA (ca.crt, and ca.key readable by its owner only) that signs the
                    NGINX tree's certificates and that the nodes trust: made there when DIR has
                    none, reused when it has, so that the trees of several renders agree.
                    Default: a new CA in the output directory (DIR/tls/ca, or DIR/_ca)`;

// Read as kubectl reads YAML (YAML 1.1 scalars): an unquoted `http: off` is the boolean false,
// which the API server refuses, not the string "off".
const KUBECTL_YAML = yaml.CORE_SCHEMA.withTags(yaml.boolYaml11Tag, yaml.intYaml11Tag);

function readResource(file: string): Wso2Frontend {
  const documents = yaml
    .loadAll(readFileSync(file, 'utf8'), { schema: KUBECTL_YAML })
    .filter((d) => d !== null && d !== undefined);
  if (documents.length !== 1)
    throw new UsageError(`${file}: expected one ${KIND} resource, found ${documents.length} documents`);
  const resource = documents[0] as Partial<Wso2Frontend>;
  if (resource.apiVersion !== `${API_GROUP}/${API_VERSION}` || resource.kind !== KIND) {
    throw new UsageError(`${file}: expected apiVersion ${API_GROUP}/${API_VERSION} and kind ${KIND}`);
  }
  if (!resource.metadata?.name) throw new UsageError(`${file}: metadata.name: Required value`);
  return resource as Wso2Frontend;
}

function port(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new UsageError(`--${flag}: must be a port number from 1 to 65535, not ${JSON.stringify(text)}`);
  return n;
}

/** This machine's DNS servers (resolv.conf), for nodes named by DNS in a local preview. */
function localResolvers(): string[] {
  const conf = existsSync('/etc/resolv.conf') ? readFileSync('/etc/resolv.conf', 'utf8') : '';
  const servers = [...conf.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]!.replace(/%.*$/, ''));
  return servers.length ? servers.map((s) => (s.includes(':') ? `[${s}]` : s)) : ['127.0.0.1'];
}

/** Writes a preview tree under `dir`, private keys readable by their owner only. */
function writeTree(dir: string, tree: readonly TreeFile[]): void {
  for (const { path, text, secret } of tree) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text, { mode: secret ? 0o600 : 0o644 });
  }
}

/**
 * The local CA in `dir`: read when it holds one, else made there (the key readable by its owner
 * only). Its key is never printed: only the directory is named.
 */
function localCa(dir: string, privateKey: Parameters<typeof issueCa>[1]['key']): KeyAndCertificate {
  const [certFile, keyFile] = [join(dir, 'ca.crt'), join(dir, 'ca.key')];
  if (existsSync(certFile) !== existsSync(keyFile))
    throw new UsageError(`--ca-dir ${dir}: needs both ca.crt and ca.key, or neither (a new CA is then made)`);
  if (existsSync(certFile)) {
    const certificatePem = readFileSync(certFile, 'utf8');
    const certificate = new X509Certificate(certificatePem);
    if (!certificate.ca) throw new UsageError(`--ca-dir ${dir}: ca.crt is not a CA certificate`);
    return {
      certificatePem,
      privateKeyPem: readFileSync(keyFile, 'utf8'),
      notBefore: new Date(certificate.validFrom),
      notAfter: new Date(certificate.validTo),
    };
  }
  const ca = issueCa('wso2-frontend local preview CA', { now: new Date(), key: privateKey });
  mkdirSync(dir, { recursive: true });
  writeFileSync(certFile, ca.certificatePem, { mode: 0o644 });
  writeFileSync(keyFile, ca.privateKeyPem, { mode: 0o600 });
  return ca;
}

/** The NGINX this project fetches for its tests (NGINX_SERIES), when this is a clone of it; else undefined. */
function projectNginxScript(): string | undefined {
  const script = fileURLToPath(new URL('../../scripts/nginx-binaries.sh', import.meta.url));
  return existsSync(script) ? script : undefined;
}

/**
 * Per external node (per role for managed backends): the patched files of `base` (a product home),
 * or snippets and CHANGES.txt; a node with several roles gets the files of each. Returns the
 * directory names written.
 */
export function writeProductConfig(
  dir: string,
  topology: Topology,
  placement: Placement,
  base?: string,
  /** Appended to each node's CHANGES.txt (the CA trust step). */
  trust = '',
): string[] {
  const targets =
    topology.backends.source === 'external'
      ? topology.backends.nodes.map((n) => ({
          name: n.name,
          config:
            n.roles.length === 1
              ? roleConfiguration(topology, placement, n.roles[0]!)
              : nodeConfiguration(topology, placement, n.roles),
        }))
      : topology.backends.components.map((c) => ({
          name: c.role,
          config: roleConfiguration(topology, placement, c.role),
        }));
  for (const { name, config } of targets) {
    const target = join(dir, name);
    mkdirSync(target, { recursive: true });
    const snippets = productSnippets(config);
    snippets['CHANGES.txt'] += trust;
    if (base === undefined) {
      for (const [file, text] of Object.entries(snippets)) writeFileSync(join(target, file), text);
      continue;
    }
    const read = (path: string) => (existsSync(join(base, path)) ? readFileSync(join(base, path), 'utf8') : undefined);
    const patch = patchRole(config, read);
    for (const file of patch.files) {
      mkdirSync(dirname(join(target, file.path)), { recursive: true });
      writeFileSync(join(target, file.path), file.text);
    }
    writeFileSync(join(target, 'CHANGES.txt'), snippets['CHANGES.txt']!);
  }
  return targets.map((t) => t.name);
}

export function runRender(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      file: { type: 'string', short: 'f' },
      'nginx-dir': { type: 'string' },
      bind: { type: 'string' },
      'http-port': { type: 'string' },
      'https-port': { type: 'string' },
      'product-config': { type: 'string' },
      base: { type: 'string' },
      'ca-dir': { type: 'string' },
    },
    strict: true,
  });
  if (!values.file) throw new UsageError('-f RESOURCE.yaml is required');
  // A flag of one output with another one chosen would be silently ignored: refuse it instead.
  if (values['nginx-dir'] !== undefined && values['product-config'] !== undefined)
    throw new UsageError(
      '--nginx-dir and --product-config write different outputs: run render once for each (give both the same --ca-dir so that they agree)',
    );
  const nginxOnly = (['bind', 'http-port', 'https-port'] as const).filter((flag) => values[flag] !== undefined);
  if (nginxOnly.length && values['nginx-dir'] === undefined)
    throw new UsageError(`${nginxOnly.map((f) => `--${f}`).join(', ')}: only with --nginx-dir DIR`);
  if (values['ca-dir'] !== undefined && values['nginx-dir'] === undefined && values['product-config'] === undefined)
    throw new UsageError('--ca-dir: only with --nginx-dir DIR or --product-config DIR');
  const resource = readResource(values.file);
  const result = validateSpec(resource.spec);
  const problems = [...nameProblems(resource), ...(result.ok ? [] : result.problems)];
  if (!result.ok || problems.length) {
    console.error(
      printable(
        `${values.file}: ${quote(resource.metadata.name)} is not valid:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`,
      ),
    );
    return 1;
  }
  const topology = buildTopology(result.spec);

  if (values.base !== undefined && values['product-config'] === undefined)
    throw new UsageError('--base needs --product-config DIR');
  if (values['product-config'] !== undefined) {
    const out = values['product-config'];
    if (existsSync(out) && readdirSync(out).length > 0)
      throw new UsageError(`--product-config ${out}: exists and is not empty`);
    const placement = { name: resource.metadata.name, namespace: resource.metadata.namespace ?? 'default' };
    // Self-signed: the nodes trust the local CA that a render --nginx-dir with the same --ca-dir serves with.
    // `_ca`: no node or role is named so (RFC 1123 labels have no _).
    const caDir = values['ca-dir'] ?? join(out, '_ca');
    const caFile = topology.tls.mode === 'self-signed' ? resolve(caDir, 'ca.crt') : undefined;
    if (caFile && topology.backends.source === 'external') localCa(caDir, topology.tls.privateKey);
    const trust = topology.backends.source === 'external' ? caTrustSteps(resource, topology, caFile) : '';
    const written = writeProductConfig(out, topology, placement, values.base, trust);
    console.log(`Wrote the product configuration of ${written.join(', ')} to ${out}.`);
    if (caFile && topology.backends.source === 'external')
      console.log(
        `The nodes trust the CA in ${caDir}: render the NGINX tree with --ca-dir ${caDir} so that it serves certificates from it.`,
      );
    return 0;
  }

  const dir = values['nginx-dir'];
  if (dir === undefined) {
    // Mode issuer: the cert-manager Certificates come first, as the operator applies them.
    const requests =
      topology.tls.mode === 'issuer'
        ? topology.certificates.map((c) => certManagerCertificate(resource, topology, c))
        : [];
    const objects = [
      ...requests,
      ...desiredObjects(resource, topology),
      ...agentAccess(resource, topology),
      ...wso2Workloads(resource, topology),
    ];
    // Issued certificates (self-signed), or the checked copies of the user's Secrets that NGINX serves.
    const secrets = [
      ...(topology.tls.mode === 'self-signed' ? [caSecretName(resource)] : []),
      ...topology.certificates.map((c) => certificateSecretName(resource, c.name)),
    ];
    const note = `# The operator also writes kubernetes.io/tls Secrets, not printed as they hold private keys: ${secrets.join(', ')}\n`;
    process.stdout.write(objects.map((o) => yaml.dump(o, { lineWidth: -1, noRefs: true })).join('---\n') + note);
    return 0;
  }

  const listen = {
    http: port('http-port', values['http-port'], 8080),
    https: port('https-port', values['https-port'], 8443),
  };
  if (listen.http === listen.https) throw new UsageError('--http-port and --https-port must differ');
  const layout: NginxLayout = {
    listen: { address: values.bind ?? '127.0.0.1', ...listen },
    publicPorts: listen,
    resolver: localResolvers(),
  };
  if (existsSync(dir) && readdirSync(dir).length > 0)
    throw new UsageError(`--nginx-dir ${dir}: exists and is not empty`);
  const caDir = values['ca-dir'] ?? join(dir, 'tls', 'ca');
  const ca = localCa(caDir, topology.tls.privateKey);
  const tree = previewTree(
    topology,
    layout,
    issuePreviewCertificates(topology.certificates, topology.tls, new Date(), ca),
  );
  writeTree(dir, tree);
  const host = topology.sites[0]!.host;
  const prefix = resolve(dir);
  const script = projectNginxScript();
  const nginx = script ? `"$(bash ${script})"` : 'nginx';
  console.log(`Wrote ${tree.filter((f) => f.path.endsWith('.conf')).length} configuration files and certificates to ${dir}.
Serve it in the foreground (Ctrl-C stops it):
  ${nginx} -e stderr -p ${prefix}/ -c nginx.conf -g 'daemon off;'
${
  script
    ? `  (${script} prints the path of the NGINX this project tests with, fetching it once; an nginx 1.27 or later on your PATH works too)`
    : '  (needs an nginx 1.27 or later on your PATH)'
}
Try it:    curl --cacert ${resolve(caDir, 'ca.crt')} --resolve ${host}:${listen.https}:${layout.listen.address} https://${host}:${listen.https}/
A 502 Bad Gateway means NGINX runs but cannot reach the WSO2 nodes the resource names.
The CA is in ${caDir}: pass --ca-dir ${caDir} to the next render (and to --product-config) to keep it.`);
  return 0;
}
