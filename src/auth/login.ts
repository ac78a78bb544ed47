/**
 * Password logins (`POST /v1/login`, the web UI's login) over the identity providers that take
 * passwords, the same message for every failure. Throttling (SECURITY.md): a lock per (username,
 * address) pair and per address, and for a username failing from anywhere a delay, never a lock,
 * so no stranger can keep a user from logging in with the right password from their own address.
 */
import { unauthorized } from '../errors.js';
import type { User } from '../store/store.js';
import { FailureThrottle, type ThrottleOptions } from './failure-throttle.js';
import type { IdentityProvider } from './identity-provider.js';

// One message for unknown users, wrong passwords and disabled accounts: no username probing.
const LOGIN_FAILED = 'invalid username or password';

/** Failed logins per (username, address) pair: 5 free, then 1 s doubling up to 5 minutes; forgotten after 15. */
export const LOGINS_PER_USER_AND_ADDRESS: ThrottleOptions = { freeFailures: 5, baseLockMs: 1_000, maxLockMs: 5 * 60_000, forgetAfterMs: 15 * 60_000 };
/** Failed logins per client address, whatever the username: 20 free, then 1 s doubling up to 15 minutes. */
export const LOGINS_PER_ADDRESS: ThrottleOptions = { freeFailures: 20, baseLockMs: 1_000, maxLockMs: 15 * 60_000, forgetAfterMs: 15 * 60_000 };
/**
 * Failed logins per username from anywhere: never a lock (a stranger could then keep the user
 * out), a delay before the password is checked: none for 5 failures, then 250 ms doubling up to
 * 2 s for every attempt, right or wrong, until 15 quiet minutes.
 */
export const LOGIN_DELAY_PER_USER = { freeFailures: 5, baseDelayMs: 250, maxDelayMs: 2_000, forgetAfterMs: 15 * 60_000 };

export interface PasswordLoginOptions {
  providers: readonly IdentityProvider[];
  /** Told of every attempt (the `kubegate_logins_total` metric). */
  onAttempt?: (ok: boolean) => void;
  clock?: () => number;
  /** Waits `ms` (replaceable in tests). */
  sleep?: (ms: number) => Promise<void>;
}

export class PasswordLogin {
  private readonly byPair: FailureThrottle;
  private readonly byAddress: FailureThrottle;
  /** Failures per username, for the delay (LRU-bounded through the throttle's own cache). */
  private readonly byUser: FailureThrottle;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: PasswordLoginOptions) {
    this.byPair = new FailureThrottle({ ...LOGINS_PER_USER_AND_ADDRESS, clock: options.clock });
    this.byAddress = new FailureThrottle({ ...LOGINS_PER_ADDRESS, clock: options.clock });
    // Counting only: `check` is never called on it, so it never locks.
    this.byUser = new FailureThrottle({ freeFailures: Number.MAX_SAFE_INTEGER, baseLockMs: 0, maxLockMs: 0, forgetAfterMs: LOGIN_DELAY_PER_USER.forgetAfterMs, clock: options.clock });
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** How long an attempt for this username waits before its password is checked. */
  delayFor(username: string): number {
    const over = this.byUser.failures(`user:${username.toLowerCase()}`) - LOGIN_DELAY_PER_USER.freeFailures;
    if (over <= 0) return 0;
    return Math.min(LOGIN_DELAY_PER_USER.maxDelayMs, LOGIN_DELAY_PER_USER.baseDelayMs * 2 ** Math.min(over - 1, 10));
  }

  /** The user when the password is right; throws 401, or 429 with `Retry-After` while throttled. */
  async login(credentials: { username: string; password: string }, clientAddress: string): Promise<User> {
    const client = `addr:${clientAddress}`;
    const account = `user:${credentials.username.toLowerCase()}`;
    const pair = `${account}|${client}`;
    this.byAddress.check(client, 'logins from this address');
    this.byPair.check(pair, 'logins for this user from this address');
    const delay = this.delayFor(credentials.username);
    if (delay > 0) await this.sleep(delay);
    let user: User | undefined;
    for (const p of this.options.providers) {
      user = await p.checkPassword?.(credentials.username, credentials.password);
      if (user) break;
    }
    this.options.onAttempt?.(user !== undefined);
    if (!user) {
      this.byAddress.failed(client);
      this.byPair.failed(pair);
      this.byUser.failed(account);
      throw unauthorized(LOGIN_FAILED);
    }
    this.byPair.succeeded(pair);
    return user;
  }
}
