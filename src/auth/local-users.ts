/** The `local` identity provider: users an admin created, with argon2id password hashes in the store. */
import { BOOTSTRAP_ADMIN } from '../bootstrap.js';
import { forbidden } from '../errors.js';
import type { Store, User } from '../store/store.js';
import type { IdentityProvider } from './identity-provider.js';
import { burnVerification, verifyPassword } from './passwords.js';

export class LocalUsers implements IdentityProvider {
  readonly source = 'local';

  constructor(
    private readonly store: Store,
    /** `--local-login=false`: passwords only for the bootstrap administrator (who must get in while the provider is down). */
    private readonly options: { adminOnly?: boolean } = {},
  ) {}

  async checkPassword(username: string, password: string): Promise<User | undefined> {
    // Decided by the name alone, before any lookup: it tells nobody whether an account exists.
    if (this.options.adminOnly && username.toLowerCase() !== BOOTSTRAP_ADMIN) throw forbidden('password login is turned off on this gateway; log in with single sign-on');
    const user = await this.store.getUserByUsername(username);
    if (!user) {
      // An unknown username answers as slowly as a wrong password: no username probing.
      await burnVerification(password);
      return undefined;
    }
    // Single sign-on users have no password (an empty hash); the check still costs the same.
    if (user.source !== 'local') {
      await burnVerification(password);
      return undefined;
    }
    if (!(await verifyPassword(user.passwordHash, password)) || !user.enabled) return undefined;
    const { passwordHash: _omit, ...plain } = user;
    return plain;
  }
}
