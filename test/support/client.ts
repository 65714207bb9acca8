// Requests to a frontend on loopback as a browser would send them to its public host: the
// host name in SNI and in the Host header, the frontend's CA trusted, optional cookies and a
// chosen source address.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import WebSocket from 'ws';
import type { NodeAnswer } from './fake-wso2.js';

export interface FrontendRequest {
  scheme: 'http' | 'https';
  port: number;
  host: string;
  path?: string;
  cookie?: string;
  ca?: string;
  localAddress?: string;
  /** GET unless set; a body is sent as a form (application/x-www-form-urlencoded). */
  method?: string;
  body?: string;
  headers?: Record<string, string>;
}

export interface FrontendResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The node's answer, when the request reached a fake node. */
  answer?: NodeAnswer;
}

export function send(r: FrontendRequest): Promise<FrontendResponse> {
  const hostHeader =
    (r.scheme === 'https' && r.port === 443) || (r.scheme === 'http' && r.port === 80) ? r.host : `${r.host}:${r.port}`;
  const options = {
    host: '127.0.0.1',
    port: r.port,
    path: r.path ?? '/',
    method: r.method ?? 'GET',
    headers: {
      host: hostHeader,
      ...(r.cookie ? { cookie: r.cookie } : {}),
      ...(r.body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      ...r.headers,
    },
    agent: false as const,
    ...(r.localAddress ? { localAddress: r.localAddress } : {}),
    ...(r.scheme === 'https' ? { servername: r.host, ca: r.ca } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (r.scheme === 'https' ? httpsRequest : httpRequest)(options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        try {
          const isAnswer = (res.headers['content-type'] ?? '').includes('application/json');
          const answer = isAnswer ? (JSON.parse(body) as NodeAnswer) : undefined;
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ...(answer ? { answer } : {}) });
        } catch (error) {
          reject(
            new Error(
              `unreadable answer from ${r.host}${r.path ?? '/'} (status ${res.statusCode}): ${body.slice(0, 200)}`,
              { cause: error },
            ),
          );
        }
      });
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout: ${r.scheme}://${r.host}:${r.port}${r.path ?? '/'}`)));
    req.on('error', reject);
    req.end(r.body);
  });
}

/** The value of the named cookie in a response's Set-Cookie headers. */
export function cookieFrom(response: FrontendResponse, name: string): string | undefined {
  const setCookie = response.headers['set-cookie'] ?? [];
  for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) {
    const match = new RegExp(`^${name}=([^;]*)`).exec(line);
    if (match) return match[1];
  }
  return undefined;
}

/** Opens a WebSocket through the frontend, sends one message and resolves with the echo. */
export function webSocketEcho(r: FrontendRequest, message: string): Promise<string> {
  const url = `${r.scheme === 'https' ? 'wss' : 'ws'}://127.0.0.1:${r.port}${r.path ?? '/'}`;
  // ws passes TLS options such as servername on to tls.connect; its types just do not list them.
  const options: WebSocket.ClientOptions & { servername: string } = {
    headers: { host: `${r.host}:${r.port}` },
    servername: r.host,
    ...(r.ca ? { ca: r.ca } : {}),
  };
  const ws = new WebSocket(url, options);
  return new Promise((resolve, reject) => {
    ws.once('open', () => ws.send(message));
    ws.once('message', (data) => {
      resolve(data.toString());
      ws.close();
    });
    ws.once('error', reject);
  });
}

interface StoredCookie {
  value: string;
  secure: boolean;
  sameSite: 'strict' | 'lax' | 'none';
}

/**
 * The part of a browser's cookie store that decides stickiness: which cookies it keeps from a
 * response and which it sends with a request. As browsers do: a Secure cookie only over HTTPS
 * (and never stored from plain HTTP, nor overwritten from it), SameSite defaulting to Lax,
 * SameSite=None kept only with Secure, and on a cross-site request only SameSite=None cookies
 * (Lax ones also on a top-level GET).
 */
export class BrowserCookies {
  private readonly cookies = new Map<string, StoredCookie>();

  store(response: FrontendResponse, scheme: 'http' | 'https'): void {
    const setCookie = response.headers['set-cookie'] ?? [];
    for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) {
      const [pair, ...attributes] = line.split(';').map((p) => p.trim());
      const [name, value] = [pair!.slice(0, pair!.indexOf('=')), pair!.slice(pair!.indexOf('=') + 1)];
      const attribute = (a: string) => attributes.find((x) => x.toLowerCase().split('=')[0] === a);
      const secure = attribute('secure') !== undefined;
      const sameSite = (attribute('samesite')?.split('=')[1]?.toLowerCase() ?? 'lax') as StoredCookie['sameSite'];
      if (secure && scheme !== 'https') continue;
      if (sameSite === 'none' && !secure) continue;
      if (scheme === 'http' && this.cookies.get(name)?.secure) continue;
      this.cookies.set(name, { value, secure, sameSite });
    }
  }

  get(name: string): StoredCookie | undefined {
    return this.cookies.get(name);
  }

  /** The Cookie header for a request, or undefined when no cookie goes with it. */
  header(scheme: 'http' | 'https', site: 'same-site' | 'cross-site', method = 'GET'): string | undefined {
    const sent = [...this.cookies].filter(([, c]) => {
      if (c.secure && scheme !== 'https') return false;
      if (site === 'same-site') return true;
      return c.sameSite === 'none' || (c.sameSite === 'lax' && method === 'GET');
    });
    return sent.length ? sent.map(([name, c]) => `${name}=${c.value}`).join('; ') : undefined;
  }
}
