/**
 * Password logins (`POST /v1/login`, the web UI's login) over the identity providers that take
 * passwords: one failure budget per user and per address, the same message for every failure.
 */
import { unauthorized } from '../errors.js';
import type { User } from '../store/store.js';
import { FailureThrottle, type ThrottleOptions } from './failure-throttle.js';
import type { IdentityProvider } from './identity-provider.js';

// One message for unknown users, wrong passwords and disabled accounts: no username probing.
const LOGIN_FAILED = 'invalid username or password';

/** Failed logins per username: 5 free, then 1 s doubling up to 5 minutes; forgotten after 15. */
export const LOGINS_PER_USER: ThrottleOptions = { freeFailures: 5, baseLockMs: 1_000, maxLockMs: 5 * 60_000, forgetAfterMs: 15 * 60_000 };
/** Failed logins per client address: 20 free, then 1 s doubling up to 15 minutes. */
export const LOGINS_PER_ADDRESS: ThrottleOptions = { freeFailures: 20, baseLockMs: 1_000, maxLockMs: 15 * 60_000, forgetAfterMs: 15 * 60_000 };

export interface PasswordLoginOptions {
  providers: readonly IdentityProvider[];
  /** Told of every attempt (the `kubegate_logins_total` metric). */
  onAttempt?: (ok: boolean) => void;
  clock?: () => number;
}

export class PasswordLogin {
  private readonly byUser: FailureThrottle;
  private readonly byAddress: FailureThrottle;

  constructor(private readonly options: PasswordLoginOptions) {
    this.byUser = new FailureThrottle({ ...LOGINS_PER_USER, clock: options.clock });
    this.byAddress = new FailureThrottle({ ...LOGINS_PER_ADDRESS, clock: options.clock });
  }

  /** The user when the password is right; throws 401, or 429 with `Retry-After` while throttled. */
  async login(credentials: { username: string; password: string }, clientAddress: string): Promise<User> {
    const client = `addr:${clientAddress}`;
    const account = `user:${credentials.username.toLowerCase()}`;
    this.byAddress.check(client, 'logins from this address');
    this.byUser.check(account, 'logins for this user');
    let user: User | undefined;
    for (const p of this.options.providers) {
      user = await p.checkPassword?.(credentials.username, credentials.password);
      if (user) break;
    }
    this.options.onAttempt?.(user !== undefined);
    if (!user) {
      this.byAddress.failed(client);
      this.byUser.failed(account);
      throw unauthorized(LOGIN_FAILED);
    }
    this.byUser.succeeded(account);
    return user;
  }
}
