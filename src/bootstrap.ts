/** First start: an empty store gets user `admin` (docs/reference/configuration.md `--admin-password`). */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { hashPassword } from './auth/passwords.js';
import { randomId } from './auth/tokens.js';
import { GatewayError } from './errors.js';
import type { Store } from './store/store.js';

/** The first user's name; with `--local-login=false`, the only one who may log in with a password. */
export const BOOTSTRAP_ADMIN = 'admin';

/**
 * Creates `admin` when there are no users. A generated password is written once to `announce`
 * (the terminal), never to the logs. Replicas starting together on one empty PostgreSQL may all
 * see no users: the unique username lets exactly one create `admin`; the others stand down.
 */
export async function bootstrapAdmin(store: Store, log: Logger, password: string | undefined, announce: (line: string) => void): Promise<void> {
  if ((await store.countUsers()) > 0) return;
  const generated = password === undefined;
  const secret = password ?? randomBytes(18).toString('base64url');
  try {
    await store.createUser({ id: randomId('u-'), username: BOOTSTRAP_ADMIN, passwordHash: await hashPassword(secret), groups: [], admin: true, enabled: true });
  } catch (err) {
    if (err instanceof GatewayError && err.reason === 'Conflict') {
      log.info({ user: 'admin' }, 'another replica created the first administrator');
      return;
    }
    throw err;
  }
  log.info({ user: 'admin', generatedPassword: generated }, 'created the first administrator');
  if (generated) announce(`kubegate: created user "admin" with password ${secret} (shown once; change it with PATCH /v1/users/{id})\n`);
}
