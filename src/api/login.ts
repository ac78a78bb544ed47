/**
 * The password check behind `POST /v1/login` and the web UI's login (SPEC §4.2): one failure
 * budget per user and per address, the same timing and the same message for every failure.
 */
import type { Request } from 'express';
import { burnVerification, verifyPassword } from '../auth/passwords.js';
import { unauthorized } from '../errors.js';
import type { ApiContext } from './context.js';
import type { User } from '../store/store.js';

// One message for unknown users, wrong passwords and disabled accounts: no username probing.
const LOGIN_FAILED = 'invalid username or password';

/** The user when the password is right; throws 401, or 429 with `Retry-After` while throttled. */
export async function checkPassword(ctx: ApiContext, req: Request, credentials: { username: string; password: string }): Promise<User> {
  const client = `addr:${ctx.trust.clientAddress(req)}`;
  const account = `user:${credentials.username.toLowerCase()}`;
  ctx.loginThrottle.byAddress.check(client, 'logins from this address');
  ctx.loginThrottle.byUser.check(account, 'logins for this user');
  const user = await ctx.store.getUserByUsername(credentials.username);
  const ok = user
    ? (await verifyPassword(user.passwordHash, credentials.password)) && user.enabled
    : (await burnVerification(credentials.password), false);
  if (!user || !ok) {
    ctx.loginThrottle.byAddress.failed(client);
    ctx.loginThrottle.byUser.failed(account);
    ctx.metrics.logins.inc({ result: 'failed' });
    throw unauthorized(LOGIN_FAILED);
  }
  ctx.loginThrottle.byUser.succeeded(account);
  ctx.metrics.logins.inc({ result: 'ok' });
  const { passwordHash: _omit, ...plain } = user;
  return plain;
}
