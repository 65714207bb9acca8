// The site probes of the reload agent: every interval, a real HTTPS request per public host to
// this pod's own NGINX listener (the host's SNI and Host, the product's health path), checking
// the certificate NGINX presents, that a WSO2 node answered (not NGINX's own error page) and that
// a redirect stays on the public URL; and the same request pinned to each node through NGINX's
// loopback probe listener. Stateless: no cookie is sent back, every probe opens a new connection,
// and the User-Agent says what it is. The verdicts (thresholds, median latency) are verdict.ts's.
import { readFileSync } from 'node:fs';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { checkServerIdentity, type PeerCertificate, type TLSSocket } from 'node:tls';
import {
  parseProbePlan,
  PROBE_PLAN_FILE,
  PROBE_USER_AGENT_PREFIX,
  type ProbePlan,
  type SiteProbePlan,
} from '../api/probe.js';
import type { Logger } from '../controller/runtime/controller.js';
import type { AgentMetrics } from './metrics.js';
import type { SiteProbeReporter } from './report.js';
import { afterRound, judgeAnswer, newSiteState, siteProbe, type ProbeResult, type SiteState } from './verdict.js';

/** Every probe says what it is, so WSO2's access logs can tell probes from users. */
export const PROBE_USER_AGENT = `${PROBE_USER_AGENT_PREFIX}1`;

/** Enough of a body to recognise NGINX's own error pages; the rest is not read. */
const BODY_LIMIT = 4096;

/** What a TLS client learnt of the server's certificate, read while the connection is open. */
export interface PeerTls {
  certificate: PeerCertificate;
  authorized: boolean;
  authorizationError: string | undefined;
}

interface Answer {
  status: number;
  location: string | undefined;
  body: string;
  tls: PeerTls | undefined;
}

function peerTls(socket: IncomingMessage['socket']): PeerTls | undefined {
  if (!('getPeerCertificate' in socket)) return undefined;
  const tls = socket as TLSSocket;
  const error = tls.authorizationError as Error | string | null | undefined;
  return {
    certificate: tls.getPeerCertificate(),
    authorized: tls.authorized,
    authorizationError: error ? String(error) : undefined,
  };
}

/** Sends one request and reads the start of the answer, within `timeoutMs` from the start. */
function exchange(request: ClientRequest, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => request.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    request.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.once('response', (response) => {
      const tls = peerTls(response.socket);
      const chunks: Buffer[] = [];
      let length = 0;
      const done = () => {
        clearTimeout(timer);
        const location = response.headers.location;
        resolve({
          status: response.statusCode ?? 0,
          location,
          body: Buffer.concat(chunks).toString('utf8'),
          tls,
        });
        request.destroy();
      };
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        length += chunk.length;
        if (length >= BODY_LIMIT) done();
      });
      response.once('end', done);
      response.once('error', done);
    });
    request.end();
  });
}

/** A connection error as one line a user can act on. */
function connectionError(error: unknown, target: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return `connection to ${target} refused`;
  const message = error instanceof Error ? error.message : String(error);
  return /no answer within/.test(message) ? message : `${target}: ${message}`;
}

const names = (certificate: PeerCertificate) =>
  certificate.subjectaltname || (certificate.subject?.CN ? `CN=${String(certificate.subject.CN)}` : 'no names');

/** Why the certificate NGINX presented for `host` is not one a client would accept, if it is not. */
export function certificateProblem(
  tls: PeerTls | undefined,
  host: string,
  caLabel: string,
  now: Date,
): string | undefined {
  const certificate = tls?.certificate;
  if (!tls || !certificate || Object.keys(certificate).length === 0) return 'NGINX presented no certificate';
  if (new Date(certificate.valid_to) < now) return `certificate expired on ${certificate.valid_to}`;
  if (new Date(certificate.valid_from) > now) return `certificate not valid before ${certificate.valid_from}`;
  if (checkServerIdentity(host, certificate) !== undefined)
    return `certificate names ${names(certificate)}, not ${host}`;
  if (!tls.authorized) return `certificate does not chain to ${caLabel} (${tls.authorizationError ?? 'unverified'})`;
  return undefined;
}

/** What a site's probes trust: its CA from the served configuration, or the public roots. */
export interface SiteTrust {
  ca?: string;
  label: string;
}

/** One probe of a site through its NGINX listener (exported for the trust tests). */
export async function probeSite(plan: SiteProbePlan, trust: SiteTrust, timeoutMs: number): Promise<ProbeResult> {
  const started = performance.now();
  const request = httpsRequest({
    host: plan.address,
    port: plan.port,
    servername: plan.host,
    path: plan.path,
    method: 'GET',
    headers: { host: plan.hostHeader, 'user-agent': PROBE_USER_AGENT, accept: '*/*' },
    agent: false,
    // Checked below, so that the reason names what is wrong instead of failing the handshake.
    rejectUnauthorized: false,
    // A ca.crt may hold the issuing intermediate (cert-manager's CA issuers, Vault PKI): trust it as an anchor.
    ...(trust.ca ? { ca: trust.ca, allowPartialTrustChain: true } : {}),
  });
  try {
    const answer = await exchange(request, timeoutMs);
    const ms = performance.now() - started;
    const tls = certificateProblem(answer.tls, plan.host, trust.label, new Date());
    if (tls) return { ok: false, error: tls, ms };
    const error = judgeAnswer(answer, plan);
    return error ? { ok: false, error, ms } : { ok: true, ms };
  } catch (error) {
    return { ok: false, error: connectionError(error, `NGINX (${plan.address}:${plan.port})`) };
  }
}

async function probeNode(plan: SiteProbePlan, node: SiteProbePlan['nodes'][number], timeoutMs: number) {
  const request = httpRequest({
    host: '127.0.0.1',
    port: node.port,
    path: `${node.pathPrefix}${plan.path.slice(1)}`,
    method: 'GET',
    headers: { host: plan.hostHeader, 'user-agent': PROBE_USER_AGENT, accept: '*/*' },
    agent: false,
  });
  try {
    const error = judgeAnswer(await exchange(request, timeoutMs), plan);
    return error ? { ok: false as const, error } : { ok: true as const };
  } catch (error) {
    return { ok: false as const, error: connectionError(error, `NGINX's probe listener (127.0.0.1:${node.port})`) };
  }
}

interface Followed {
  plan: ProbePlan;
  trust: Map<string, SiteTrust>;
}

/**
 * Probes what the served configuration's plan says, every interval, and reports verdicts on the
 * Pod (through the reporter, which writes only changes and refreshes) and in the metrics.
 */
export class SiteProber {
  private followed: Followed | undefined;
  private states = new Map<string, SiteState>();
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly reporter: SiteProbeReporter,
    private readonly metrics: AgentMetrics,
    private readonly log: Logger,
  ) {}

  /** The plan of the configuration now served from `dir` (none: probes are off); probed from now on. */
  follow(dir: string): void {
    let text: string | undefined;
    try {
      text = readFileSync(join(dir, PROBE_PLAN_FILE), 'utf8');
    } catch {
      text = undefined;
    }
    const plan = text === undefined ? undefined : parseProbePlan(text);
    if (typeof plan === 'string') this.log('error', 'probe plan not usable; not probing', { error: plan });
    if (plan === undefined || typeof plan === 'string') {
      const wasProbing = this.followed !== undefined;
      this.followed = undefined;
      clearTimeout(this.timer);
      this.states.clear();
      this.metrics.forgetProbes();
      if (plan === undefined) this.reporter.withdraw(wasProbing);
      return;
    }
    const trust = new Map(
      plan.sites.map((site): [string, SiteTrust] => {
        try {
          return [site.host, { ca: readFileSync(join(dir, site.caFile), 'utf8'), label: `the CA in ${site.caFile}` }];
        } catch {
          return [site.host, { label: 'a public root CA (the Secret has no ca.crt)' }];
        }
      }),
    );
    this.followed = { plan, trust };
    // A site or node that stays keeps its streak; a new one starts afresh.
    this.states = new Map(
      plan.sites.map((site) => {
        const fresh = newSiteState(
          site.host,
          site.nodes.map((n) => n.node),
        );
        const kept = this.states.get(site.host);
        if (kept)
          for (const node of fresh.nodes.keys()) fresh.nodes.set(node, kept.nodes.get(node) ?? fresh.nodes.get(node)!);
        return [site.host, kept ? { ...fresh, site: kept.site, latencies: kept.latencies } : fresh];
      }),
    );
    this.metrics.forgetProbes();
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round;
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    if (this.stopped || !this.followed) return;
    this.timer = setTimeout(() => {
      if (this.round) {
        // A round still running (every probe bounded by the timeout) is followed at once.
        void this.round.then(() => this.schedule(0));
        return;
      }
      const started = Date.now();
      this.round = this.probeAll()
        .catch((error: unknown) => this.log('error', 'probe round failed', { error: String(error) }))
        .finally(() => {
          this.round = undefined;
          const intervalMs = (this.followed?.plan.intervalSeconds ?? 0) * 1000;
          this.schedule(Math.max(0, started + intervalMs - Date.now()));
        });
    }, delayMs);
  }

  private async probeAll(): Promise<void> {
    const followed = this.followed;
    if (!followed) return;
    const { plan } = followed;
    const timeoutMs = plan.timeoutSeconds * 1000;
    await Promise.all(
      plan.sites.map(async (site) => {
        const [siteResult, ...nodeResults] = await Promise.all([
          probeSite(site, followed.trust.get(site.host)!, timeoutMs),
          ...site.nodes.map((node) => probeNode(site, node, timeoutMs)),
        ]);
        if (this.followed !== followed) return;
        const nodes = new Map(site.nodes.map((node, i) => [node.node, nodeResults[i]!]));
        this.metrics.observeProbe(site.host, siteResult, nodes);
        const state = afterRound(this.states.get(site.host)!, siteResult, nodes, plan);
        this.states.set(site.host, state);
      }),
    );
    if (this.followed !== followed || this.stopped) return;
    const sites = plan.sites.map((site) => siteProbe(this.states.get(site.host)!));
    for (const site of sites) this.metrics.setServing(site.host, site.serving);
    this.reporter.report({ probedAt: new Date().toISOString(), sites });
  }
}
