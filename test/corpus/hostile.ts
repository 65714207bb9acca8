// Hostile strings: every string field of the spec given each character that means something to
// NGINX, to a shell, to a YAML or log reader or to a person reading a host name (bidirectional
// and invisible Unicode, look-alike letters). Each field starts from a value it accepts, so the
// payload alone is what makes the resource invalid.
import type { CorpusCase, Spec } from './corpus.js';
import { eiCluster, external, managed, secretMode, withSpec } from './corpus.js';

interface StringField {
  /** The field path the API server names. */
  field: string;
  /** A value the field accepts. */
  valid: string;
  spec: (value: string) => Spec;
}

const cookieSite = (cookie: Spec): Spec => ({ portal: { sessionAffinity: { mode: 'cookie', cookie } } });
const component = (requests: Record<string, string>): Spec => ({
  components: { 'all-in-one': { resources: { requests } } },
});
const firstNode = (patch: Spec): Spec => {
  const spec = external();
  const nodes = (spec.backends as { external: { nodes: Spec[] } }).external.nodes;
  nodes[0] = { ...nodes[0], ...patch };
  return spec;
};

export const STRING_FIELDS: StringField[] = [
  { field: 'spec.version', valid: '4.5.0', spec: (version) => withSpec({ version }) },
  {
    field: 'spec.sites.portal.host',
    valid: 'api.example.com',
    spec: (host) => withSpec({ sites: { portal: { host } } }),
  },
  {
    field: 'spec.sites.management.pinnedNode',
    valid: 'node-1',
    spec: (pinnedNode) => withSpec({ sites: { management: { pinnedNode } } }, eiCluster()),
  },
  {
    field: 'spec.sites.portal.tlsSecretName',
    valid: 'portal-tls',
    spec: (tlsSecretName) => withSpec({ sites: { portal: { tlsSecretName } } }, secretMode()),
  },
  {
    field: 'spec.sites.portal.sessionAffinity.cookie.name',
    valid: 'ROUTE',
    spec: (name) => withSpec({ sites: cookieSite({ name }) }),
  },
  {
    field: 'spec.sites.portal.sessionAffinity.cookie.path',
    valid: '/publisher',
    spec: (path) => withSpec({ sites: cookieSite({ path }) }),
  },
  {
    field: 'spec.sites.portal.sessionAffinity.cookie.maxAge',
    valid: '1h',
    spec: (maxAge) => withSpec({ sites: cookieSite({ maxAge }) }),
  },
  { field: 'spec.backends.external.nodes[0].name', valid: 'node-1', spec: (name) => firstNode({ name }) },
  {
    field: 'spec.backends.external.nodes[0].address',
    valid: 'apim-1.example.com',
    spec: (address) => firstNode({ address }),
  },
  {
    field: 'spec.backends.managed.image',
    valid: 'registry.example.com/wso2/wso2am:4.5.0',
    spec: (image) => managed({ image }),
  },
  {
    field: 'spec.backends.managed.components.all-in-one.image',
    valid: 'registry.example.com/wso2/wso2am:4.5.0',
    spec: (image) => managed({ components: { 'all-in-one': { image } } }),
  },
  {
    field: 'spec.backends.managed.configMapName',
    valid: 'apim-base',
    spec: (configMapName) => managed({ configMapName }),
  },
  {
    field: 'spec.backends.managed.components.all-in-one.resources.requests.cpu',
    valid: '500m',
    spec: (cpu) => managed(component({ cpu })),
  },
  {
    field: 'spec.tls.secretName',
    valid: 'frontend-tls',
    spec: (secretName) => withSpec({ tls: { mode: 'secret', secretName } }),
  },
  { field: 'spec.tls.extraSANs[0]', valid: 'localhost', spec: (san) => withSpec({ tls: { extraSANs: [san] } }) },
  {
    field: 'spec.backendTLS.caSecretName',
    valid: 'nodes-ca',
    spec: (caSecretName) => withSpec({ backendTLS: { verify: true, caSecretName } }),
  },
  {
    field: 'spec.nginx.image',
    valid: 'nginxinc/nginx-unprivileged:1.30',
    spec: (image) => withSpec({ nginx: { image } }),
  },
  {
    field: 'spec.nginx.timeouts.connect',
    valid: '60s',
    spec: (connect) => withSpec({ nginx: { timeouts: { connect } } }),
  },
  { field: 'spec.nginx.proxyBufferSize', valid: '16k', spec: (size) => withSpec({ nginx: { proxyBufferSize: size } }) },
  {
    field: 'spec.nginx.clientMaxBodySize',
    valid: '100m',
    spec: (size) => withSpec({ nginx: { clientMaxBodySize: size } }),
  },
  {
    // Annotation values are free text for the cloud's load balancer and never reach NGINX; keys are checked.
    field: 'spec.nginx.service.annotations',
    valid: 'service.beta.kubernetes.io/aws-load-balancer-type',
    spec: (key) => withSpec({ nginx: { service: { annotations: { [key]: 'nlb' } } } }),
  },
];

/** What is appended to a valid value: each breaks out of an NGINX directive, a quoted string, a line or a reader's eye. */
export const PAYLOADS: { name: string; text: string }[] = [
  { name: 'a semicolon (ends an NGINX directive)', text: ';return 200 pwned' },
  { name: 'an opening brace (opens an NGINX block)', text: '{' },
  { name: 'a closing brace (closes an NGINX block)', text: '}' },
  { name: 'an NGINX variable', text: '$http_cookie' },
  { name: 'a double quote', text: '"' },
  { name: 'a single quote', text: "'" },
  { name: 'a backslash', text: '\\' },
  { name: 'a newline with a directive after it', text: '\ninclude /etc/passwd' },
  { name: 'a NUL character', text: '\0' },
  { name: 'a right-to-left override (U+202E)', text: '\u202emoc' },
  { name: 'a zero-width space (U+200B)', text: '\u200b' },
  { name: 'a space', text: ' x' },
];

export function hostileStringCases(): CorpusCase[] {
  return STRING_FIELDS.flatMap(({ field, valid, spec }) =>
    PAYLOADS.map((payload) => ({
      name: `${field} with ${payload.name}`,
      spec: spec(`${valid}${payload.text}`),
      field,
      by: 'api-server' as const,
    })),
  );
}

/** Each field with the value it accepts: the hostile cases differ from these by the payload only. */
export function validStringControls(): { name: string; spec: Spec }[] {
  return STRING_FIELDS.map(({ field, valid, spec }) => ({
    name: `${field} = ${JSON.stringify(valid)}`,
    spec: spec(valid),
  }));
}
