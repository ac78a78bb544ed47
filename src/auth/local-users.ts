/** The `local` identity provider: users an admin created, with argon2id password hashes in the store. */
import type { Store, User } from '../store/store.js';
import type { IdentityProvider } from './identity-provider.js';
import { burnVerification, verifyPassword } from './passwords.js';

export class LocalUsers implements IdentityProvider {
  readonly source = 'local';

  constructor(private readonly store: Store) {}

  async checkPassword(username: string, password: string): Promise<User | undefined> {
    const user = await this.store.getUserByUsername(username);
    if (!user) {
      // An unknown username answers as slowly as a wrong password: no username probing.
      await burnVerification(password);
      return undefined;
    }
    if (!(await verifyPassword(user.passwordHash, password)) || !user.enabled) return undefined;
    const { passwordHash: _omit, ...plain } = user;
    return plain;
  }
}
