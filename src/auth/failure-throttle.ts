/**
 * Exponential backoff after repeated failures per key (a username, a client address). Locks are
 * short and capped, and failures are forgotten after a quiet period, so an attacker can slow a
 * user down but never lock them out for good. Memory is bounded (LRU).
 */
import { LRUCache } from 'lru-cache';
import { GatewayError } from '../errors.js';

export interface ThrottleOptions {
  /** Failures allowed before the first lock. */
  freeFailures: number;
  /** First lock; doubles with each further failure. */
  baseLockMs: number;
  maxLockMs: number;
  /** Failures are forgotten after this long without one. */
  forgetAfterMs: number;
  maxKeys?: number;
  clock?: () => number;
}

interface Entry {
  failures: number;
  lockedUntil: number;
}

/**
 * Invalid bearer tokens on `/k8s/...`, per client address and per token prefix: 50 free, then
 * further failures get 429 for 1 s doubling up to a minute. Valid tokens are never throttled.
 */
export const BAD_TOKENS_PER_ADDRESS: ThrottleOptions = { freeFailures: 50, baseLockMs: 1_000, maxLockMs: 60_000, forgetAfterMs: 5 * 60_000 };

export class FailureThrottle {
  private readonly entries: LRUCache<string, Entry>;
  private readonly clock: () => number;

  constructor(private readonly options: ThrottleOptions) {
    this.clock = options.clock ?? Date.now;
    this.entries = new LRUCache({ max: options.maxKeys ?? 50_000, ttl: options.forgetAfterMs, ttlAutopurge: false, ttlResolution: 0, perf: { now: () => this.clock() } });
  }

  /** Throws 429 with `Retry-After` while `key` is locked. */
  check(key: string, what: string): void {
    const e = this.entries.get(key, { updateAgeOnGet: false });
    const wait = e ? e.lockedUntil - this.clock() : 0;
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      throw new GatewayError('TooManyRequests', `too many failed ${what}; try again in ${seconds}s`, { headers: { 'Retry-After': String(seconds) } });
    }
  }

  /** Records a failure; locks the key once it has used up its free failures. */
  failed(key: string): void {
    const e = this.entries.get(key) ?? { failures: 0, lockedUntil: 0 };
    e.failures++;
    const over = e.failures - this.options.freeFailures;
    if (over > 0) e.lockedUntil = this.clock() + Math.min(this.options.maxLockMs, this.options.baseLockMs * 2 ** Math.min(over - 1, 30));
    this.entries.set(key, e);
  }

  /** Failures recorded for `key` and not yet forgotten. */
  failures(key: string): number {
    return this.entries.get(key, { updateAgeOnGet: false })?.failures ?? 0;
  }

  /** Forgets `key` (a successful login). */
  succeeded(key: string): void {
    this.entries.delete(key);
  }
}
