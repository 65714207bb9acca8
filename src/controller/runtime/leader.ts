// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it, so
// that of several operator replicas exactly one reconciles. Every write carries the
// resourceVersion that was read, so of two candidates racing for a free lease only one wins.
import * as k8s from '@kubernetes/client-node';
import { jsonLogger, type Logger } from './controller.js';
import { realClock, type Clock } from './workqueue.js';

export interface LeaderElectionOptions {
  kubeConfig: k8s.KubeConfig;
  namespace: string;
  /** Name of the Lease shared by every candidate. */
  leaseName: string;
  /** Unique per candidate (typically the pod name). */
  identity: string;
  /** How long a lease is honoured without renewal (default 15 s). */
  leaseDurationMs?: number;
  /**
   * A leader that could not renew for this long steps down (default 2/3 of the lease duration);
   * shorter than the lease so it has stopped before another candidate may take over.
   */
  renewDeadlineMs?: number;
  /** Interval between acquire and renew attempts (default 2 s). */
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  logger?: Logger;
  /** Time source and timers (default: the real ones); tests inject a clock they advance. */
  clock?: Clock;
}

/** Another candidate wrote (409) or deleted (404) the lease between our read and our write. */
function lostRace(error: unknown): boolean {
  return error instanceof k8s.ApiException && (error.code === 409 || error.code === 404);
}

/** A request that hangs must not keep a leader from noticing that it can no longer renew. */
function within<T>(clock: Clock, ms: number, request: Promise<T>): Promise<T> {
  let cancel: (() => void) | undefined;
  const timeout = new Promise<never>((_, reject) => {
    cancel = clock.setTimer(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([request, timeout]).finally(() => cancel?.());
}

export class LeaderElector {
  private readonly leases: k8s.CoordinationV1Api;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly log: Logger;
  private readonly clock: Clock;
  private leading = false;
  private lastRenewAt = 0;
  /**
   * The lease record as last seen and when it was first seen in that state. Expiry is judged
   * by this local observation, not by comparing renewTime with our clock, so clock skew
   * between replicas cannot make a live lease look expired.
   */
  private observed: { record: string; at: number } | undefined;
  private stopped = true;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly options: LeaderElectionOptions) {
    this.leases = options.kubeConfig.makeApiClient(k8s.CoordinationV1Api);
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? Math.floor((this.leaseDurationMs * 2) / 3);
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    this.log = options.logger ?? jsonLogger;
    this.clock = options.clock ?? realClock;
    if (this.renewDeadlineMs >= this.leaseDurationMs)
      throw new Error('renewDeadlineMs must be shorter than leaseDurationMs');
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Starts campaigning: acquires the lease when it is free or expired, then keeps renewing it. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.campaign();
  }

  /** Stops campaigning; a leader steps down and clears the holder so another candidate takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    if (!this.leading) return;
    this.stepDown();
    try {
      await this.release();
    } catch (error) {
      this.log('error', 'could not release the lease; it expires on its own', {
        lease: this.options.leaseName,
        error: String(error),
      });
    }
  }

  private async campaign(): Promise<void> {
    while (!this.stopped) {
      const held = await within(this.clock, this.renewDeadlineMs, this.tryAcquireOrRenew()).catch((error: unknown) => {
        this.log('error', 'lease update failed', { lease: this.options.leaseName, error: String(error) });
        return false;
      });
      if (this.stopped) return;
      const now = this.clock.now();
      if (held) {
        this.lastRenewAt = now;
        if (!this.leading) {
          this.leading = true;
          this.log('info', 'became leader', { lease: this.options.leaseName, identity: this.options.identity });
          this.options.onStartedLeading();
        }
      } else if (this.leading && now - this.lastRenewAt >= this.renewDeadlineMs) {
        this.stepDown();
      }
      await new Promise<void>((resolve) => {
        const cancel = this.clock.setTimer(resolve, this.retryPeriodMs);
        this.wake = () => {
          cancel();
          resolve();
        };
      });
    }
  }

  private stepDown(): void {
    this.leading = false;
    this.log('info', 'stopped leading', { lease: this.options.leaseName, identity: this.options.identity });
    this.options.onStoppedLeading();
  }

  /** One attempt; true when this candidate holds the lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, leaseName: name, identity } = this.options;
    const now = new k8s.V1MicroTime();
    const leaseDurationSeconds = Math.ceil(this.leaseDurationMs / 1000);
    let current: k8s.V1Lease;
    try {
      current = await this.leases.readNamespacedLease({ name, namespace });
    } catch (error) {
      if (!(error instanceof k8s.ApiException && error.code === 404)) throw error;
      const spec = {
        holderIdentity: identity,
        leaseDurationSeconds,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: 0,
      };
      return this.write(() =>
        this.leases.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec } }),
      );
    }

    const spec = current.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    if (holder !== identity && holder !== '' && !this.expired(spec)) return false;
    const next: k8s.V1LeaseSpec =
      holder === identity
        ? { ...spec, leaseDurationSeconds, renewTime: now }
        : {
            ...spec,
            holderIdentity: identity,
            leaseDurationSeconds,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: (spec.leaseTransitions ?? 0) + 1,
          };
    return this.write(() => this.leases.replaceNamespacedLease({ name, namespace, body: { ...current, spec: next } }));
  }

  private expired(spec: k8s.V1LeaseSpec): boolean {
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseDurationSeconds]);
    const now = this.clock.now();
    if (this.observed?.record !== record) this.observed = { record, at: now };
    return now - this.observed.at > (spec.leaseDurationSeconds ?? 0) * 1000;
  }

  /** Runs a write that carries a resourceVersion; losing the race to another candidate is not an error. */
  private async write(request: () => Promise<k8s.V1Lease>): Promise<boolean> {
    try {
      await request();
      return true;
    } catch (error) {
      if (lostRace(error)) return false;
      throw error;
    }
  }

  /** Clears the holder, keeping the resourceVersion check so a lease already taken over is left alone. */
  private async release(): Promise<void> {
    const { namespace, leaseName: name, identity } = this.options;
    const current = await this.leases.readNamespacedLease({ name, namespace });
    if (current.spec?.holderIdentity !== identity) return;
    const spec: k8s.V1LeaseSpec = {
      ...current.spec,
      holderIdentity: undefined,
      acquireTime: undefined,
      renewTime: undefined,
    };
    await this.write(() => this.leases.replaceNamespacedLease({ name, namespace, body: { ...current, spec } }));
  }
}
