// The contract between the rendered NGINX configuration and the reload agent's traffic metrics:
// the traffic log NGINX writes (where, which fields) and the passive health check parameters the
// agent replays to say which upstream servers NGINX takes as down. Both sides import these names
// from here only, so they cannot drift apart.

/** The traffic log, relative to NGINX's prefix (the agent's state directory in the pod). */
export const TRAFFIC_LOG_FILE = 'traffic.log';

/** The log_format of the traffic log. */
export const TRAFFIC_LOG_FORMAT = 'wso2_traffic';

/**
 * The label value of a request NGINX answered for no site of this frontend (an unknown host) or
 * passed to no upstream (a redirect, no ready node): `_`, as NGINX names its catch-all server,
 * which no site or role name can be.
 */
export const NO_LABEL = '_';

/** Variables the rendered `map`s set from the configuration (never from the request) for the traffic log. */
export const SITE_VARIABLE = '$wso2fe_site';
export const ROLE_VARIABLE = '$wso2fe_role';

/**
 * One traffic log line: these values in this order, separated by a tab. Every value is NGINX's own
 * (numbers, upstream addresses) or a configured name the maps set, and NGINX escapes control
 * characters in logged values (escape=default writes a tab as \x09), so a tab always separates
 * fields: splitting on it costs the agent a fraction of parsing JSON. `$server_name` and
 * `$proxy_host` are the configured server and upstream names, never the request's Host header.
 * NGINX writes `-` for a value it does not have (no upstream asked).
 */
export const TRAFFIC_LOG_FIELDS = {
  site: SITE_VARIABLE,
  role: ROLE_VARIABLE,
  msec: '$msec',
  status: '$status',
  request_time: '$request_time',
  upstream_addr: '$upstream_addr',
  upstream_response_time: '$upstream_response_time',
  upstream_header_time: '$upstream_header_time',
} as const;

export const TRAFFIC_LOG_SEPARATOR = '\t';

export type TrafficLogField = keyof typeof TRAFFIC_LOG_FIELDS;

/** The traffic log goes out in blocks (one write per block or per second), not one write per request. */
export const TRAFFIC_LOG_BUFFER = '64k';
export const TRAFFIC_LOG_FLUSH = '1s';

/** NGINX's `stub_status` on the health listener, answered to loopback clients only. */
export const STUB_STATUS_PATH = '/stub_status';

/** Every upstream server's passive health check: `max_fails` failed attempts mark it down for `fail_timeout`. */
export const PASSIVE_HEALTH = { maxFails: 3, failTimeoutSeconds: 10 } as const;
