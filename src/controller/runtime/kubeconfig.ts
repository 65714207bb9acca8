// client-node 2.0 gives every request a new undici Agent, so every request opens its own TLS
// connection (a handshake, a socket and an OpenSSL context loaded with the cluster CA) and
// leaves it to time out. Under a thousand reconciles that is most of the operator's CPU and
// hundreds of megabytes of native memory. This KubeConfig hands every request of one
// cluster-and-user pair the same Agent, so connections are kept alive and reused, as client-go
// does with its shared transport.
import { createHash } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';

type Dispatcher = NonNullable<ReturnType<k8s.RequestContext['getDispatcher']>>;

export class PooledKubeConfig extends k8s.KubeConfig {
  private readonly dispatchers = new Map<string, Dispatcher>();
  /**
   * Requests sent or attempted through this configuration (watches included), by "METHOD resource":
   * every request is authenticated here first, also one whose connection is then refused, so
   * a client retrying too fast against an API server that is away shows here (client-go's
   * rest_client_requests_total counts the same way).
   */
  readonly requests = new Map<string, number>();

  /** A pooled copy of `source` (same clusters, users and current context). */
  static from(source: k8s.KubeConfig): PooledKubeConfig {
    const pooled = new PooledKubeConfig();
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
