// What the tests on the real node share: the pushed images (real-node-setup.js), the operator
// in-process against the real-node plane, and examples made to run on a 2-core node with the
// project's NGINX image and the WSO2 stand-ins.
import { execFile } from 'node:child_process';
import type { IncomingHttpHeaders } from 'node:http';
import { type Agent, request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import type { Wso2Frontend } from '../../src/api/schema.js';
import type { PushedImages } from '../../src/localcluster/images.js';
import { onRealNode } from '../../src/localcluster/real-cluster.js';
import { createOperator } from '../../src/controller/setup.js';
import { kubeConfig } from './cluster.js';
import { loadUntilStopped } from './load.js';

const execFileAsync = promisify(execFile);

export function pushedImages(): PushedImages {
  const json = process.env.WSO2_FRONTEND_TEST_IMAGES;
  if (!json)
    throw new Error('WSO2_FRONTEND_TEST_IMAGES is not set: run test/realnode through jest (real-node-setup.js)');
  return JSON.parse(json) as PushedImages;
}

/** The operator in this process, as the other end-to-end tests run it; stop() when done. */
export async function startOperator(): Promise<{ stop: () => Promise<void> }> {
  const { controller } = createOperator({ kubeConfig: kubeConfig(), resyncPeriodMs: 600_000, logger: () => {} });
  await controller.start();
  return { stop: () => controller.stop() };
}

/** The resource with the project's NGINX image, the WSO2 stand-in of its product and version, and small requests. */
export const onRealPods = (resource: Wso2Frontend, images = pushedImages()) => onRealNode(resource, images);

/** curl from this machine; the body, or the failure. */
export async function curl(args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const { stdout } = await execFileAsync('curl', ['-sS', '--max-time', '10', ...args], { encoding: 'utf8' });
    return { ok: true, out: stdout };
  } catch (error) {
    return { ok: false, out: (error as { stderr?: string }).stderr ?? String(error) };
  }
}

export const core = () => kubeConfig().makeApiClient(k8s.CoreV1Api);

export interface Target {
  /** Where to connect (a ClusterIP, or the node's address for a NodePort). */
  address: string;
  port: number;
  /** The public host: TLS server name and Host header. */
  host: string;
  path?: string;
}

/** A request's failure before any byte of a response arrived; `reusedSocket`: it was sent on a kept-alive connection. */
export type RequestError = Error & { beforeResponse?: true; reusedSocket?: boolean };

/**
 * One HTTPS request through NGINX (a GET, or a POST of `form`); resolves with the status and the
 * body, fails on a network error or timeout (a RequestError before any response).
 */
export function request(
  target: Target,
  agent: Agent | false,
  headers: Record<string, string> = {},
  form?: string,
): Promise<{ status: number; body: string; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    let responded = false;
    const req = httpsRequest(
      {
        host: target.address,
        port: target.port,
        path: target.path ?? '/',
        method: form === undefined ? 'GET' : 'POST',
        servername: target.host,
        headers: {
          host: target.host,
          ...(form === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
          ...headers,
        },
        rejectUnauthorized: false,
        agent,
        timeout: 10_000,
      },
      (res) => {
        responded = true;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) =>
      reject(responded ? error : Object.assign(error, { beforeResponse: true, reusedSocket: req.reusedSocket })),
    );
    req.end(form);
  });
}

/** Constant load of HTTPS requests to `target` (each must answer 200) until stopped. */
export const constantLoad = (target: Target, keepAlive = 4, fresh = 2) =>
  loadUntilStopped(
    async (agent) => {
      const { status } = await request(target, agent);
      if (status !== 200) throw new Error(`status ${status}`);
    },
    keepAlive,
    fresh,
  );
