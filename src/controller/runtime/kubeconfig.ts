// client-node 2.0 gives every request a new undici Agent, so every request opens its own TLS
// connection (a handshake, a socket and an OpenSSL context loaded with the cluster CA) and
// leaves it to time out. Under a thousand reconciles that is most of the operator's CPU and
// hundreds of megabytes of native memory. This KubeConfig hands every request of one
// cluster-and-user pair the same Agent, so connections are kept alive and reused, as client-go
// does with its shared transport.
import { createHash } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';

type Dispatcher = NonNullable<ReturnType<k8s.RequestContext['getDispatcher']>>;

/**
 * How long a request other than a watch may take, answer included. client-node sets no limit and
 * undici waits 300 s for response headers: on a connection whose path died without a reset
 * (half-open), a request hung that long, and the writes queued behind it with it. The API
 * server ends requests that are not watches after 60 s itself (--request-timeout), so nothing
 * that would have been answered is cut. (Watches have their own limit in client-node: 30 s
 * without a byte, bookmarks included.)
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

/** How long the API server may take to answer when a pooled connection is suspected dead (client-go's HTTP/2 ping timeout). */
export const CONNECTION_CHECK_TIMEOUT_MS = 15_000;
/** Checks are at most this frequent: a quiet watch ends by client-node's timeout every 30 s. */
const CONNECTION_CHECK_INTERVAL_MS = 30_000;

/**
 * Sends a request built for /version to /livez instead (client-node has no client for it; the
 * API server lets every user read both, system:public-info-viewer). Its "ok" is not the
 * version's JSON, so the call then fails to parse the answer: an answer all the same. (Call
 * options take client-node's observable middleware.)
 */
const TO_LIVEZ: k8s.ObservableMiddleware = {
  pre: (context) => {
    const url = new URL(context.getUrl());
    url.pathname = url.pathname.replace(/\/version\/?$/, '/livez');
    context.setUrl(url.toString());
    return new k8s.Observable(Promise.resolve(context));
  },
  post: (context) => new k8s.Observable(Promise.resolve(context)),
};

export class PooledKubeConfig extends k8s.KubeConfig {
  private readonly dispatchers = new Map<string, Dispatcher>();
  private checking: Promise<boolean> | undefined;
  private lastCheck = -Infinity;

  constructor(readonly requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS) {
    super();
  }
  /**
   * Requests sent or attempted through this configuration (watches included), by "METHOD resource":
   * every request is authenticated here first, also one whose connection is then refused, so
   * a client retrying too fast against an API server that is away shows here (client-go's
   * rest_client_requests_total counts the same way).
   */
  readonly requests = new Map<string, number>();

  /** A pooled copy of `source` (same clusters, users and current context). */
  static from(source: k8s.KubeConfig, requestTimeoutMs?: number): PooledKubeConfig {
    const pooled = new PooledKubeConfig(requestTimeoutMs);
    pooled.loadFromOptions({
      clusters: source.getClusters(),
      users: source.getUsers(),
      contexts: source.getContexts(),
      currentContext: source.getCurrentContext(),
    });
    return pooled;
  }

  override async applySecurityAuthentication(context: k8s.RequestContext): Promise<void> {
    const request = `${context.getHttpMethod()} ${resourceOf(context.getUrl())}`;
    this.requests.set(request, (this.requests.get(request) ?? 0) + 1);
    await super.applySecurityAuthentication(context);
    // A watch passes its own signal (client-node's inactivity timeout) and ignores this one.
    if (new URL(context.getUrl()).searchParams.get('watch') !== 'true')
      context.setSignal(AbortSignal.timeout(this.requestTimeoutMs));
    const created = context.getDispatcher();
    if (!created) return;
    // Keyed by what shapes the connection (server, CA, TLS checks, proxy, client certificate),
    // hashed so no key material is kept in a map key. Tokens travel in headers and may change
    // freely (an OIDC refresh rewrites the user's tokens, and must not create a new pool).
    const cluster = this.getCurrentCluster();
    const user = this.getCurrentUser();
    const shape = [
      cluster?.server,
      cluster?.caData,
      cluster?.caFile,
      cluster?.skipTLSVerify,
      cluster?.tlsServerName,
      cluster?.proxyUrl,
      user?.certData,
      user?.certFile,
      user?.keyData,
      user?.keyFile,
    ];
    const key = createHash('sha256').update(JSON.stringify(shape)).digest('hex');
    const shared = this.dispatchers.get(key);
    if (shared) {
      context.setDispatcher(shared); // the Agent just created has opened nothing yet
    } else {
      this.dispatchers.set(key, created);
    }
  }

  /**
   * Closes the pooled connections when the API server does not answer on them. undici speaks
   * HTTP/2 to the API server, so every request and watch shares one connection; a watch or
   * request ended on our side (client-node's 30 s watch timeout, the request timeout above)
   * only resets its stream, and undici checks the connection with a PING only after its own
   * timeouts, not after an abort. A connection whose path died without a reset (half-open: a
   * frozen load balancer or NAT, a partition) then stays in the pool, and every new watch and
   * request waits on it in turn, forever. client-go pings such a connection (ReadIdleTimeout,
   * PingTimeout 15 s, a PING no queue holds up); here the probe is `GET /livez`, which API
   * Priority and Fairness never queues (the `probes` FlowSchema: priority level exempt), so an
   * API server that is only busy answers it at once. Any answer, whatever its body, counts; no
   * answer within 15 s, and the next request opens a new connection. Resolves true when it closed them.
   */
  checkConnections(): Promise<boolean> {
    if (this.checking) return this.checking;
    if (!this.dispatchers.size || performance.now() - this.lastCheck < CONNECTION_CHECK_INTERVAL_MS)
      return Promise.resolve(false);
    this.lastCheck = performance.now();
    const pooled = [...this.dispatchers];
    let timer: NodeJS.Timeout | undefined;
    const silent = new Promise<'silent'>(
      (resolve) => (timer = setTimeout(() => resolve('silent'), CONNECTION_CHECK_TIMEOUT_MS)),
    );
    const answer = this.makeApiClient(k8s.VersionApi)
      .getCode({}, { middleware: [TO_LIVEZ], middlewareMergeStrategy: 'append' })
      .then(
        () => 'answered' as const,
        // Its own request timeout may be the shorter one.
        (error: unknown) => ((error as { name?: unknown } | null)?.name === 'TimeoutError' ? 'silent' : 'failed'),
      );
    this.checking = Promise.race([answer, silent])
      .then(async (outcome) => {
        // A quick failure (refused, reset) is undici's to handle: its connection is gone already.
        if (outcome !== 'silent') return false;
        for (const [key, dispatcher] of pooled)
          if (this.dispatchers.get(key) === dispatcher) this.dispatchers.delete(key);
        await Promise.all(pooled.map(([, dispatcher]) => dispatcher.destroy().catch(() => undefined)));
        return true;
      })
      .finally(() => {
        clearTimeout(timer);
        this.checking = undefined;
      });
    return this.checking;
  }

  /** Closes the pooled connections (watches included). */
  async close(): Promise<void> {
    const dispatchers = [...this.dispatchers.values()];
    this.dispatchers.clear();
    await Promise.all(dispatchers.map((d) => d.destroy()));
  }
}

/** The resource[/subresource] a request's URL names; '' for discovery and other paths. */
function resourceOf(url: string): string {
  // /api/v1/[namespaces/NS/]RESOURCE[/NAME[/SUB]] or /apis/GROUP/VERSION/[namespaces/NS/]RESOURCE[/NAME[/SUB]]
  const parts = new URL(url).pathname.split('/').filter(Boolean);
  let rest = parts[0] === 'api' ? parts.slice(2) : parts[0] === 'apis' ? parts.slice(3) : [];
  if (rest[0] === 'namespaces' && rest.length > 2) rest = rest.slice(2);
  const [resource = '', , subresource] = rest;
  return subresource ? `${resource}/${subresource}` : resource;
}

/**
 * A view of `base` whose requests ask for `accept` (same server, credentials and connection pool).
 * client-node's Watch and object API set their own Accept header before authentication is applied,
 * so this is the one place a request's Accept header can be chosen for both.
 */
export function withAccept(base: k8s.KubeConfig, accept: string): k8s.KubeConfig {
  const view = Object.create(base) as k8s.KubeConfig;
  view.applySecurityAuthentication = async (context: k8s.RequestContext) => {
    await base.applySecurityAuthentication(context);
    context.setHeaderParam('Accept', accept);
  };
  return view;
}

// What client-go's metadata client asks for: the objects' metadata only (PartialObjectMetadata),
// never their data, with plain JSON as the fallback for anything else (discovery).
export const METADATA_LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
export const METADATA_WATCH_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';
