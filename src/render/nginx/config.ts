// NGINX configuration from a topology: a main nginx.conf and one vhost file per public host.
// Deterministic: the same topology and layout give byte-identical text. Every path is relative
// so the tree runs unchanged under `nginx -p DIR -c nginx.conf` and in the container (where the
// prefix is a writable directory and the conf directory holds the mounted ConfigMap/Secrets).
import type { Location, Site, StickinessPolicy, Topology, Upstream } from '../../model/topology.js';
import { isIP } from 'node:net';
import { CONFIG_HASH_PATH } from '../../api/agent.js';
import { PROBE_USER_AGENT_PREFIX } from '../../api/probe.js';
import {
  NO_LABEL,
  PASSIVE_HEALTH,
  ROLE_VARIABLE,
  SITE_VARIABLE,
  STUB_STATUS_PATH,
  TRAFFIC_LOG_BUFFER,
  TRAFFIC_LOG_FIELDS,
  TRAFFIC_LOG_FILE,
  TRAFFIC_LOG_FLUSH,
  TRAFFIC_LOG_FORMAT,
} from '../../api/traffic.js';
import { because, blank, block, comment, directive, entry, toText, value, type Arg, type Node } from './syntax.js';

export interface NginxLayout {
  /** Where NGINX listens; `health` is a plain-HTTP port for the kubelet's probes, not exposed by the Service. */
  listen: { address?: string; http: number; https: number; health?: number; probe?: number };
  /** The ports clients use (redirect targets, X-Forwarded-Port, proxyPort); differ from `listen` behind a Service. */
  publicPorts: { http: number; https: number };
  /**
   * The DNS servers NGINX asks for node names at run time (`resolver`), as address[:port]; the
   * cluster's DNS in the container. Only used when a node is named by DNS.
   */
  resolver?: string[];
  /**
   * NGINX also writes the traffic log (relative to its prefix) that the reload agent turns into
   * per-site and per-role metrics. Off: no per-request cost beyond the access log.
   */
  trafficLog?: boolean;
}

/**
 * In the container NGINX runs unprivileged on 8080/8443; the Service maps the public ports to them.
 * `probe` is the loopback-only listener through which the agent's site probes reach each node.
 */
export const CONTAINER_PORTS = { http: 8080, https: 8443, health: 8081, probe: 8083 } as const;

/**
 * The probe listener's address: loopback only, so nothing outside the pod can pick a node (or
 * bypass stickiness) through it.
 */
export const PROBE_ADDRESS = '127.0.0.1';

/** On the probe listener, the path prefix that NGINX pins to the `index`-th node of a site (replaced by "/"). */
export const nodeProbePrefix = (index: number) => `/.wso2fe-probe/node-${index}/`;
export const HEALTH_PATH = '/healthz';

/**
 * The cluster's DNS Service, by the name every distribution keeps for it. NGINX resolves this one
 * name with the pod's resolv.conf (its search list supplies the cluster domain) when it loads the
 * configuration, and asks it for node names at run time.
 */
export const CLUSTER_RESOLVER = 'kube-dns.kube-system.svc';

export function containerLayout(t: Topology): NginxLayout {
  return { listen: { ...CONTAINER_PORTS }, publicPorts: t.ports, resolver: [CLUSTER_RESOLVER], trafficLog: true };
}

/** A node named by DNS rather than by address: NGINX resolves it at run time. */
const namedByDns = (address: string) => isIP(address) === 0;
const resolvesNames = (t: Topology) => t.upstreams.some((u) => u.servers.some((s) => namedByDns(s.address)));

/** Mozilla "intermediate" ECDHE suites for TLS 1.2; TLS 1.3 suites are not configurable here. */
const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const certificatePaths = (certificateName: string) => ({
  certificate: `tls/${certificateName}/tls.crt`,
  key: `tls/${certificateName}/tls.key`,
  /** The CA the certificate chains to, when its Secret has one (read by the site probes only). */
  ca: `tls/${certificateName}/ca.crt`,
});
export const BACKEND_CA_PATH = 'tls/backend-ca/ca.crt';

const listenArg = (layout: NginxLayout, port: number): Arg =>
  layout.listen.address ? [value('address', layout.listen.address), ':', value('port', port)] : value('port', port);

/** A public URL prefix such as https://host or https://host:8443 (the port only when not the default). */
function publicOrigin(scheme: 'http' | 'https', host: string, port: number): Arg {
  const isDefault = (scheme === 'https' && port === 443) || (scheme === 'http' && port === 80);
  return isDefault
    ? [`${scheme}://`, value('host', host)]
    : [`${scheme}://`, value('host', host), ':', value('port', port)];
}

/** NGINX variable names allow letters, digits and _ only. */
const variableName = (upstream: Upstream) => upstream.name.replace(/-/g, '_');

/**
 * NGINX refuses to start when a server name does not fit one bucket of its server-name hash, and
 * the default bucket is one CPU cache line (64 bytes: host names up to 46 characters). An entry
 * takes a pointer plus the name and 2 bytes, word-aligned, and a bucket ends with a pointer; sized
 * as NGINX Ingress Controller does, as the next power of two. (server_names_hash_max_size, 512 by
 * default, is far above the few hosts a frontend has.)
 */
export function serverNamesHashBucketSize(hosts: readonly string[]): number {
  const word = 8;
  const longest = Math.max(0, ...hosts.map((h) => h.length));
  const needed = word + Math.ceil((longest + 2) / word) * word + word;
  let size = 64;
  while (size < needed) size *= 2;
  return size;
}

/**
 * How long old workers may finish their connections after a reload before NGINX closes them. A
 * reload starts new workers at once; without a bound, workers holding WebSockets or long
 * requests would pile up with every reload. WebSockets opened before a reload live this long.
 */
export const WORKER_SHUTDOWN_TIMEOUT = '60s';

/**
 * After a reload, an old worker still takes one request on a client connection that was idle for
 * less than this (keepalive_min_timeout), routed by the configuration before the reload.
 */
export const KEEPALIVE_MIN_TIMEOUT_SECONDS = 3;

/**
 * `configHash` is the hash of this configuration as the operator computes it (without the
 * health listener's answer, which carries it): the reload agent reads it back from a new worker
 * to confirm that the configuration is served.
 */
export function renderMainConf(t: Topology, layout: NginxLayout, configHash?: string): string {
  const n = t.nginx;
  const bufferSize = n.proxyBufferSize;
  const http: Node[] = [
    because(directive('server_tokens', 'off'), 'no NGINX version in headers and error pages'),
    directive('default_type', 'application/octet-stream'),
    directive('sendfile', 'on'),
    directive('keepalive_timeout', '65s'),
    because(
      directive('keepalive_min_timeout', [value('integer', KEEPALIVE_MIN_TIMEOUT_SECONDS), 's']),
      'on a reload, an old worker does not close a connection a client may be reusing right now',
    ),
    because(
      directive(
        'server_names_hash_bucket_size',
        value('integer', serverNamesHashBucketSize(t.sites.map((s) => s.host))),
      ),
      'room for the longest host name',
    ),
    comment('Temporary files under the prefix, writable by the unprivileged user.'),
    directive('client_body_temp_path', 'client_body_temp'),
    directive('proxy_temp_path', 'proxy_temp'),
    directive('fastcgi_temp_path', 'fastcgi_temp'),
    directive('uwsgi_temp_path', 'uwsgi_temp'),
    directive('scgi_temp_path', 'scgi_temp'),
    blank,
    comment('Structured access logs on the container\'s stdout; each vhost names itself in "host".'),
    directive(
      'log_format',
      'wso2_json',
      'escape=json',
      `'{"time":"$time_iso8601","host":"$server_name","remote_addr":"$remote_addr","request":"$request","status":$status,"bytes":$body_bytes_sent,"upstream":"$upstream_addr","upstream_status":"$upstream_status","request_time":$request_time}'`,
    ),
    directive('access_log', '/dev/stdout', 'wso2_json'),
    ...(layout.trafficLog ? trafficLogSettings(t) : []),
    blank,
    comment(
      'WebSocket upgrades (WSO2\'s load-balancer documents: "Upgrade $http_upgrade" and "Connection upgrade"), through a map so\nordinary requests keep their keep-alive connection to the node.',
    ),
    block('map', ['$http_upgrade', '$connection_upgrade'], [directive('default', 'upgrade'), directive("''", "''")]),
    blank,
    comment(
      'TLS 1.2 and 1.3 only, modern ciphers (the documents\' "ssl on;" was removed in NGINX 1.25.1; "listen ... ssl" replaces it).',
    ),
    directive('ssl_protocols', 'TLSv1.2', 'TLSv1.3'),
    directive('ssl_ciphers', TLS12_CIPHERS),
    directive('ssl_prefer_server_ciphers', 'off'),
    directive('ssl_session_cache', 'shared:wso2_tls:10m'),
    directive('ssl_session_timeout', '1d'),
    directive('ssl_session_tickets', 'off'),
    blank,
    comment('Towards the WSO2 nodes.'),
    because(
      directive('proxy_http_version', '1.1'),
      "WSO2's load-balancer documents; needed for WebSockets and upstream keep-alive",
    ),
    because(
      directive('proxy_read_timeout', value('duration', n.timeouts.read)),
      "WSO2's load-balancer documents: proxy_read_timeout 5m",
    ),
    because(
      directive('proxy_send_timeout', value('duration', n.timeouts.send)),
      "WSO2's load-balancer documents: proxy_send_timeout 5m",
    ),
    directive('proxy_connect_timeout', value('duration', n.timeouts.connect)),
    because(
      directive('proxy_buffer_size', value('size', bufferSize)),
      'room for the large cookie headers of the portals',
    ),
    directive('proxy_buffers', '8', value('size', bufferSize)),
    directive('proxy_busy_buffers_size', value('size', doubled(bufferSize))),
    directive('client_max_body_size', value('size', n.clientMaxBodySize)),
    because(directive('proxy_ssl_server_name', 'on'), 'SNI towards the nodes'),
    directive('proxy_ssl_protocols', 'TLSv1.2', 'TLSv1.3'),
    directive('proxy_ssl_session_reuse', 'on'),
    ...(t.backendTls.verify
      ? [
          directive('proxy_ssl_verify', 'on'),
          directive('proxy_ssl_trusted_certificate', BACKEND_CA_PATH),
          directive('proxy_ssl_verify_depth', '3'),
        ]
      : [
          because(
            directive('proxy_ssl_verify', 'off'),
            'WSO2 nodes ship self-signed certificates; set backendTLS.verify to check them',
          ),
        ]),
    ...resolverSettings(t, layout),
    blank,
    comment('Host names this frontend does not serve: no certificate is offered, plain HTTP gets 404.'),
    block(
      'server',
      [],
      [
        directive('listen', listenArg(layout, layout.listen.http), 'default_server'),
        directive('default_type', 'text/plain'),
        directive('return', '404', '"No WSO2 site is served for this host name.\\n"'),
      ],
    ),
    block(
      'server',
      [],
      [
        directive('listen', listenArg(layout, layout.listen.https), 'ssl', 'default_server'),
        directive('ssl_reject_handshake', 'on'),
      ],
    ),
    ...(probesNodes(t, layout)
      ? [
          block(
            'server',
            [],
            [
              directive('listen', [PROBE_ADDRESS, ':', value('port', layout.listen.probe!)], 'default_server'),
              directive('access_log', 'off'),
              directive('return', '404'),
            ],
          ),
        ]
      : []),
    ...(layout.listen.health === undefined
      ? []
      : [
          ...(configHash === undefined
            ? []
            : [
                block(
                  'geo',
                  ['$wso2fe_local_client'],
                  [directive('default', '0'), directive('127.0.0.1', '1'), directive('::1', '1')],
                ),
              ]),
          comment('Liveness and readiness for the kubelet, on a port the Service does not expose.'),
          block(
            'server',
            [],
            [
              directive('listen', listenArg(layout, layout.listen.health)),
              directive('access_log', 'off'),
              block(
                'location',
                ['=', HEALTH_PATH],
                [directive('default_type', 'text/plain'), directive('return', '200', '"ok\\n"')],
              ),
              ...(configHash === undefined
                ? []
                : [
                    block(
                      'location',
                      ['=', CONFIG_HASH_PATH],
                      [
                        comment(
                          'For the reload agent in the same pod only (checked here: "return" runs before "allow").',
                        ),
                        block('if', ['($wso2fe_local_client', '=', '0)'], [directive('return', '403')]),
                        directive('default_type', 'text/plain'),
                        directive('return', '200', ['"', value('config-hash', configHash), '\\n"']),
                      ],
                    ),
                  ]),
              block(
                'location',
                ['=', STUB_STATUS_PATH],
                [
                  comment("Connection and request counters for the reload agent's metrics (nginx_* names)."),
                  directive('stub_status'),
                  directive('allow', '127.0.0.1'),
                  directive('allow', '::1'),
                  directive('deny', 'all'),
                ],
              ),
              block('location', ['/'], [directive('return', '404')]),
            ],
          ),
        ]),
    blank,
    because(directive('include', 'vhost-*.conf'), 'one file per public host'),
  ];
  return toText([
    comment(
      `NGINX for WSO2 ${t.product} ${t.version}, pattern ${t.pattern}.\nGenerated by wso2-frontend-operator; edit the Wso2Frontend resource instead.`,
    ),
    because(directive('worker_processes', 'auto'), 'one worker per CPU'),
    because(directive('pid', 'nginx.pid'), 'relative to the prefix (-p)'),
    because(directive('worker_shutdown_timeout', WORKER_SHUTDOWN_TIMEOUT), 'old workers do not pile up across reloads'),
    directive('error_log', 'stderr', 'notice'),
    block('events', [], [directive('worker_connections', '4096')]),
    block('http', [], http),
  ]);
}

/** 0 for the reload agent's own site probes (its User-Agent, from loopback in the pod), which are not user traffic. */
const USER_TRAFFIC_VARIABLE = '$wso2fe_user_traffic';

/** The traffic log directive, at http level (unknown hosts) and in every vhost server (which replace the http-level logs). */
const trafficAccessLog = () =>
  directive(
    'access_log',
    TRAFFIC_LOG_FILE,
    TRAFFIC_LOG_FORMAT,
    `buffer=${TRAFFIC_LOG_BUFFER}`,
    `flush=${TRAFFIC_LOG_FLUSH}`,
    `if=${USER_TRAFFIC_VARIABLE}`,
  );

/**
 * The traffic log the reload agent turns into metrics: written in blocks (one write per 64 kB or
 * per second, not per request), as tab-separated values, and labelled by site and role through maps of
 * configured names ($server_name, $proxy_host), so a request cannot choose its labels. Map keys
 * start with a backslash so that no host or upstream name is read as a map keyword ("default").
 */
function trafficLogSettings(t: Topology): Node[] {
  // "\t" in a quoted NGINX string is a tab (ngx_conf_read_token).
  const fields = Object.values(TRAFFIC_LOG_FIELDS).join('\\t');
  const mapEntry = (key: Arg, label: string) => entry(['\\', key].flat(), value('file-name', label));
  return [
    blank,
    comment("The traffic log for the reload agent's metrics (per site, role, status, upstream server)."),
    directive('log_format', TRAFFIC_LOG_FORMAT, 'escape=default', `'${fields}'`),
    because(
      directive(
        'map_hash_bucket_size',
        value('integer', serverNamesHashBucketSize([...t.sites.map((s) => s.host), ...t.upstreams.map((u) => u.name)])),
      ),
      'room for the longest host name (map keys are laid out as server names are)',
    ),
    block(
      'map',
      ['$server_name', SITE_VARIABLE],
      [directive('default', NO_LABEL), ...t.sites.map((s) => mapEntry(value('host', s.host), s.name))],
    ),
    block(
      'map',
      ['$proxy_host', ROLE_VARIABLE],
      [
        directive('default', NO_LABEL),
        ...t.upstreams.filter((u) => u.servers.length > 0).map((u) => mapEntry(value('file-name', u.name), u.role)),
      ],
    ),
    comment("The agent's site probes come from loopback with its User-Agent: not counted as traffic."),
    block(
      'map',
      ['"$remote_addr $http_user_agent"', USER_TRAFFIC_VARIABLE],
      [
        directive('default', '1'),
        directive(`"~^(127\\.0\\.0\\.1|::1) ${PROBE_USER_AGENT_PREFIX.replace(/[.]/g, '\\.')}"`, '0'),
      ],
    ),
    trafficAccessLog(),
  ];
}

/** Whether the vhosts carry a probe listener (probes on, and a port for it in the layout). */
const probesNodes = (t: Topology, layout: NginxLayout) => t.probes.enabled && layout.listen.probe !== undefined;

/** The site's HTTPS upstream, whose nodes the probes pin one by one. */
export const siteHttpsUpstream = (t: Topology, site: Site) => upstreamOf(t, site.https.locations[0]!);

/** A one-server upstream per node of the site, for its probe location. */
function nodeProbeUpstreams(upstream: Upstream): Upstream[] {
  return upstream.servers.map((server, index) => {
    const { pinnedNode: _pinned, ...rest } = upstream;
    return { ...rest, name: `${upstream.name}-node-${index}`, stickiness: { mode: 'none' }, servers: [server] };
  });
}

/**
 * The agent's per-node probes: on a loopback-only listener, one location per node of the site,
 * proxied exactly as the site proxies (headers, SNI, redirect rewriting) but to that node alone,
 * so "1/2 nodes answer" is measured through this NGINX. Connecting gives up after the probe timeout.
 */
function probeServer(t: Topology, site: Site, layout: NginxLayout): Node[] {
  const upstream = siteHttpsUpstream(t, site);
  if (!probesNodes(t, layout) || upstream.servers.length === 0) return [];
  return [
    comment('Site probes of the reload agent in this pod, one location per node (loopback only).'),
    block(
      'server',
      [],
      [
        directive('listen', [PROBE_ADDRESS, ':', value('port', layout.listen.probe!)]),
        directive('server_name', value('host', site.host)),
        because(directive('access_log', 'off'), 'probes are counted in the agent metrics'),
        directive('error_log', 'stderr'),
        directive('proxy_connect_timeout', [value('integer', t.probes.timeoutSeconds), 's']),
        ...proxiedServerSettings(t, site, site.https.locations, 'https', layout),
        ...nodeProbeUpstreams(upstream).map((u, index) =>
          block('location', ['^~', nodeProbePrefix(index)], [directive('proxy_pass', `https://${u.name}/`)]),
        ),
      ],
    ),
  ];
}

function resolverSettings(t: Topology, layout: NginxLayout): Node[] {
  if (!resolvesNames(t)) return [];
  const servers = layout.resolver ?? [];
  if (servers.length === 0) throw new Error('nodes are named by DNS, but the NGINX layout names no resolver');
  return [
    blank,
    comment(
      'Nodes named by DNS are resolved at run time (server ... resolve), so a name that does not resolve\n' +
        'neither stops NGINX from starting nor from reloading, and a changed answer is followed (TTL).',
    ),
    directive('resolver', ...servers.map(resolverArg)),
    directive('resolver_timeout', '5s'),
  ];
}

/** address, [IPv6], or address:port, each part checked. */
function resolverArg(server: string): Arg {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:]+)(?::(\d+))?$/.exec(server);
  if (!match) throw new Error(`refusing to write ${JSON.stringify(server)} into NGINX configuration: not a resolver`);
  const host = match[1]!.replace(/^\[|\]$/g, '');
  return match[2] === undefined ? value('address', host) : [value('address', host), ':', value('port', match[2])];
}

function doubled(size: string): string {
  const match = /^(\d+)([kmg]?)$/.exec(size)!;
  return `${Number(match[1]) * 2}${match[2]}`;
}

function balancing(u: Upstream): Node[] {
  const s: StickinessPolicy = u.stickiness;
  switch (s.mode) {
    case 'none':
      return [];
    case 'client-ip':
      return [
        because(
          directive('ip_hash'),
          "WSO2's load-balancer documents: ip_hash, stickiness by client address on community NGINX",
        ),
      ];
    case 'cookie': {
      const c = s.cookie;
      return [
        comment(
          "Stickiness: NGINX's cookie names the node that served the session last (its route), so every\n" +
            'replica agrees without shared state; if that node fails the session moves and the cookie\n' +
            'follows, and the session stays on the new node when the first one comes back.',
        ),
        directive(
          'sticky',
          'cookie',
          value('cookie-name', c.name),
          ['path=', value('cookie-path', c.path)],
          ...(c.maxAgeSeconds !== undefined ? [['expires=', value('integer', c.maxAgeSeconds), 's']] : []),
          'httponly',
          ...(c.secure ? ['secure'] : []),
          `samesite=${c.sameSite.toLowerCase()}`,
        ),
      ];
    }
    case 'nginx-plus-sticky':
      return [
        because(
          directive(
            'sticky',
            'learn',
            'create=$upstream_cookie_jsessionid',
            'lookup=$cookie_jsessionid',
            `zone=${variableName(u)}_sessions:1m`,
          ),
          "WSO2's load-balancer documents: NGINX Plus sticky learn on JSESSIONID",
        ),
      ];
  }
}

function upstreamBlock(u: Upstream): Node[] {
  if (u.servers.length === 0) return [];
  const servers = u.servers.map((s) =>
    directive(
      'server',
      [value('address', s.address), ':', value('port', s.port)],
      ...(namedByDns(s.address) ? ['resolve'] : []),
      ...(u.stickiness.mode === 'cookie' ? [['route=', value('route', s.route)]] : []),
      `max_fails=${PASSIVE_HEALTH.maxFails}`,
      `fail_timeout=${PASSIVE_HEALTH.failTimeoutSeconds}s`,
    ),
  );
  const zone = u.servers.some((s) => namedByDns(s.address))
    ? [because(directive('zone', u.name, '64k'), 'shared by the workers; needed to re-resolve names at run time')]
    : [];
  return [
    block(
      'upstream',
      [u.name],
      [
        ...(u.pinnedNode ? [comment(`Pinned: only node ${u.pinnedNode} (management console).`)] : []),
        ...zone,
        ...balancing(u),
        ...servers,
        because(directive('keepalive', '16'), 'reuse connections to the nodes'),
      ],
    ),
  ];
}

function upstreamOf(t: Topology, location: Location): Upstream {
  return t.upstreams.find((u) => u.name === location.upstream)!;
}

function locationBlock(t: Topology, site: Site, location: Location): Node {
  const upstream = upstreamOf(t, location);
  if (upstream.servers.length === 0) {
    return block(
      'location',
      [location.path],
      [
        directive('default_type', 'text/plain'),
        directive(
          'return',
          '503',
          `"No ready WSO2 node for site ${site.name} (role ${upstream.role}, port ${upstream.port}).\\n"`,
        ),
      ],
    );
  }
  return block('location', [location.path], [directive('proxy_pass', `${upstream.protocol}://${upstream.name}`)]);
}

/**
 * When a node counts as failed (max_fails) and the request goes to the next node: NGINX uses the
 * same list for both. Non-idempotent requests already sent are never resent (NGINX's default).
 */
function failurePolicy(upstream: Upstream): Node[] {
  switch (upstream.traffic) {
    case 'gateway':
      return [
        comment(
          "Gateway traffic: a 5xx from a node is the API's answer (a WSO2 gateway answers 503 when an API's\n" +
            'backend is down), passed to the client once; only a refused or broken connection or a timeout\n' +
            'fails the node and goes to the next one, so one broken API cannot take every gateway out.',
        ),
        directive('proxy_next_upstream', 'error', 'timeout'),
      ];
    case 'ui':
      return [
        comment(
          'UI and management traffic: the node renders its pages itself, so a 502 or 504 from it means it\n' +
            'cannot serve (or whatever is in front of it cannot reach it): the next node is tried and the\n' +
            'node counts as failed. Its 503 (a web application unavailable on purpose) is passed through.',
        ),
        directive('proxy_next_upstream', 'error', 'timeout', 'http_502', 'http_504'),
      ];
  }
}

/**
 * A node's redirect to one of its own URLs goes back to the site's public URL (the seeds'
 * `proxy_pass https://node:9443/` did this implicitly; through a named upstream it must be said).
 * A node URL on its HTTP port maps to the public HTTP URL only where the site proxies HTTP.
 */
function nodeRedirects(site: Site, layout: NginxLayout): Node[] {
  if (site.nodeOrigins.length === 0) return [];
  return [
    comment(
      'Redirects to a node\'s own URL (address, name, product port) go to the public URL (WSO2 IS "Setting Up Deployment Pattern 1").',
    ),
    ...site.nodeOrigins.map((o) => {
      const scheme = o.scheme === 'http' && site.http.mode === 'proxy' ? 'http' : 'https';
      return directive(
        'proxy_redirect',
        [`${o.scheme}://`, value('address', o.host), ':', value('port', o.port), '/'],
        [publicOrigin(scheme, site.host, layout.publicPorts[scheme]), '/'].flat(),
      );
    }),
  ];
}

/**
 * The request headers the nodes get. A location that sets a proxy_set_header of its own inherits
 * none of these from its server block, so such a location repeats them.
 */
function proxyHeaders(scheme: 'http' | 'https', layout: NginxLayout): Node[] {
  return [
    because(directive('proxy_set_header', 'Host', '$http_host'), "WSO2's load-balancer documents"),
    because(directive('proxy_set_header', 'X-Forwarded-Host', '$host'), "WSO2's load-balancer documents"),
    because(directive('proxy_set_header', 'X-Forwarded-Server', '$host'), "WSO2's load-balancer documents"),
    because(
      directive('proxy_set_header', 'X-Forwarded-For', '$proxy_add_x_forwarded_for'),
      "WSO2's load-balancer documents",
    ),
    because(
      directive('proxy_set_header', 'X-Forwarded-Port', value('port', layout.publicPorts[scheme])),
      'WSO2 API-M "Configuring the Proxy Server and the Load Balancer": X-Forwarded-Port 443, the public port',
    ),
    directive('proxy_set_header', 'X-Forwarded-Proto', scheme),
    because(directive('proxy_set_header', 'Upgrade', '$http_upgrade'), "WSO2's load-balancer documents: WebSocket"),
    directive('proxy_set_header', 'Connection', '$connection_upgrade'),
  ];
}

/** What every location of a listener shares; locations inherit it from the server block. */
function proxiedServerSettings(
  t: Topology,
  site: Site,
  locations: Location[],
  scheme: 'http' | 'https',
  layout: NginxLayout,
): Node[] {
  const upstream = upstreamOf(t, locations[0]!);
  const hsts = t.nginx.hsts;
  return [
    ...(upstream.protocol === 'https'
      ? [because(directive('proxy_ssl_name', value('host', site.host)), 'SNI towards the nodes: the public host name')]
      : []),
    ...proxyHeaders(scheme, layout),
    ...failurePolicy(upstream),
    ...nodeRedirects(site, layout),
    // HSTS tells browsers never to use plain HTTP: only true where the site does not serve it.
    ...(scheme === 'https' && hsts.enabled && site.http.mode !== 'proxy'
      ? [
          directive(
            'add_header',
            'Strict-Transport-Security',
            ['"max-age=', value('integer', hsts.maxAgeSeconds), hsts.includeSubDomains ? '; includeSubDomains"' : '"'],
            'always',
          ),
        ]
      : []),
  ];
}

const CONSOLE_HOST_DOC = 'wso2/docs-is en/includes/deploy/configure-console-hostname.md (Step 1)';

/**
 * IS 7's Console on its own host, as docs-is's "Restrict Public Access to Management Operations",
 * Approach 2, writes its server block: two locations, and no other path of the node. The first
 * passes the APIs the Console calls; the second the Console and the login flow it goes through,
 * with the identity host in redirects (proxy_redirect) and in page bodies (sub_filter) turned
 * into this host, so the browser stays on it. sub_filter reads only uncompressed bodies: that
 * location asks the node for none (Accept-Encoding ""), and since a location's own
 * proxy_set_header or proxy_redirect drops the server block's, it repeats them. The document's
 * `gzip on` is left out: it only compresses answers to browsers, and compressed login pages
 * that carry session keys over TLS are open to BREACH.
 */
function consoleLocations(site: Site, upstream: Upstream, scheme: 'http' | 'https', layout: NginxLayout): Node[] {
  const identityHost = site.consoleOf!.identityHost;
  const pass = directive('proxy_pass', `${upstream.protocol}://${upstream.name}`);
  const publicHttps = (host: string) => [publicOrigin('https', host, layout.publicPorts.https), '/'].flat();
  return [
    comment(`IS 7 Console host, ${CONSOLE_HOST_DOC}: only the Console's paths reach the node.`),
    because(
      block('location', ['~', '^(/t/[^/]+)?(/o(/[^/]+)?)?/(api|scim2|logincontext)(.*)$'], [pass]),
      'the APIs the Console calls',
    ),
    because(
      block(
        'location',
        [
          '~',
          '^(/t/[^/]+)?(/o/[^/]+)?/(console|oauth2|oidc|authenticationendpoint|accountrecoveryendpoint|commonauth)(.*)$',
        ],
        [
          ...proxyHeaders(scheme, layout),
          because(directive('proxy_set_header', 'Accept-Encoding', '""'), 'uncompressed, for sub_filter'),
          ...nodeRedirects(site, layout),
          because(directive('proxy_redirect', publicHttps(identityHost), publicHttps(site.host)), CONSOLE_HOST_DOC),
          ...(site.host.includes(identityHost)
            ? [
                because(
                  directive('sub_filter', ["'", value('host', site.host), "'"], ["'", value('host', site.host), "'"]),
                  'the Console host contains the identity host: its own name is matched first and kept',
                ),
              ]
            : []),
          because(
            directive('sub_filter', ["'", value('host', identityHost), "'"], ["'", value('host', site.host), "'"]),
            CONSOLE_HOST_DOC,
          ),
          directive('sub_filter_once', 'off'),
          pass,
        ],
      ),
      'the Console and its login flow',
    ),
    because(block('location', ['/'], [directive('return', '404')]), 'no other path on the Console host'),
  ];
}

/** The locations of a listener: the Console host's own when the site is one and has nodes. */
function siteLocations(t: Topology, site: Site, locations: Location[], scheme: 'http' | 'https', layout: NginxLayout) {
  const upstream = upstreamOf(t, locations[0]!);
  const console = site.consoleOf && upstream.servers.length > 0;
  return console ? consoleLocations(site, upstream, scheme, layout) : locations.map((l) => locationBlock(t, site, l));
}

/** The upstreams a site's vhost defines and proxies to (those without a server are not written). */
export const siteUpstreams = (t: Topology, site: Site): Upstream[] =>
  t.upstreams.filter(
    (u) =>
      site.https.locations.some((l) => l.upstream === u.name) ||
      (site.http.mode === 'proxy' && site.http.locations.some((l) => l.upstream === u.name)),
  );

export function renderVhost(t: Topology, site: Site, layout: NginxLayout): string {
  const tls = certificatePaths(site.certificate.name);
  const httpsServer = block(
    'server',
    [],
    [
      because(
        directive('listen', listenArg(layout, layout.listen.https), 'ssl'),
        'replaces the documents\' "listen 443; ssl on;"',
      ),
      directive('server_name', value('host', site.host)),
      directive('ssl_certificate', tls.certificate),
      directive('ssl_certificate_key', tls.key),
      because(
        directive('access_log', '/dev/stdout', 'wso2_json'),
        "WSO2's load-balancer documents: per-vhost logs, here to stdout",
      ),
      ...(layout.trafficLog ? [trafficAccessLog()] : []),
      directive('error_log', 'stderr'),
      ...proxiedServerSettings(t, site, site.https.locations, 'https', layout),
      ...siteLocations(t, site, site.https.locations, 'https', layout),
    ],
  );
  const httpServer =
    site.http.mode === 'off'
      ? []
      : [
          block(
            'server',
            [],
            [
              directive('listen', listenArg(layout, layout.listen.http)),
              directive('server_name', value('host', site.host)),
              directive('access_log', '/dev/stdout', 'wso2_json'),
              ...(layout.trafficLog ? [trafficAccessLog()] : []),
              directive('error_log', 'stderr'),
              ...(site.http.mode === 'redirect'
                ? [
                    because(
                      directive(
                        'return',
                        '301',
                        [publicOrigin('https', site.host, layout.publicPorts.https), '$request_uri'].flat(),
                      ),
                      "WSO2's load-balancer documents: HTTP to HTTPS, permanent",
                    ),
                  ]
                : [
                    ...proxiedServerSettings(t, site, site.http.locations, 'http', layout),
                    ...siteLocations(t, site, site.http.locations, 'http', layout),
                  ]),
            ],
          ),
        ];
  const probeUpstreams = probesNodes(t, layout) ? nodeProbeUpstreams(siteHttpsUpstream(t, site)) : [];
  return toText([
    comment(`Site ${site.name}: ${site.host}.\nPattern ${t.pattern}, from ${t.seed}.`),
    ...siteUpstreams(t, site).flatMap(upstreamBlock),
    httpsServer,
    ...httpServer,
    ...probeUpstreams.flatMap(upstreamBlock),
    ...probeServer(t, site, layout),
  ]);
}

/** Every file of the NGINX configuration, by name in the conf directory (flat, as ConfigMap keys must be). */
export function renderNginx(t: Topology, layout: NginxLayout, configHash?: string): Record<string, string> {
  const files: Record<string, string> = { 'nginx.conf': renderMainConf(t, layout, configHash) };
  for (const site of t.sites) files[`vhost-${site.name}.conf`] = renderVhost(t, site, layout);
  return files;
}
