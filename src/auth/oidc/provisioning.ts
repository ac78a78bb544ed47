/**
 * Single sign-on users in the store. A login creates the user the first time and brings username,
 * groups and (with `--oidc-admin-groups`) the admin flag up to date every time, so every token of
 * the user carries the groups of their last login, on both doors; a change evicts cached verdicts
 * at once. A bearer ID token only makes sure its user exists (it never rewrites what a fresher
 * login stored). Disabled users stay disabled; a username held by anyone else is refused.
 */
import type { Logger } from 'pino';
import { GatewayError } from '../../errors.js';
import type { Store, User, UserPatch, UserSource } from '../../store/store.js';
import type { RevocationBus } from '../revocations.js';
import { SsoRefused, type SsoProfile } from './claims.js';

const disabled = (): SsoRefused => new SsoRefused('disabled', 'your kubegate account is disabled; ask an administrator');

export class SsoUsers {
  constructor(
    private readonly store: Store,
    private readonly revocations: RevocationBus,
    private readonly source: UserSource,
    private readonly log: Logger,
  ) {}

  /** After a login: the user, created or brought up to date. Throws 403 (disabled) or 409 (name taken). */
  async provision(profile: SsoProfile): Promise<User> {
    const user = (await this.store.getUser(profile.userId)) ?? (await this.create(profile));
    this.mustBeOurs(user);
    if (!user.enabled) throw disabled();
    const patch: UserPatch = {};
    if (user.username !== profile.username) patch.username = profile.username;
    if (!sameList(user.groups, profile.groups)) patch.groups = profile.groups;
    if (profile.admin !== undefined && profile.admin !== user.admin) patch.admin = profile.admin;
    if (Object.keys(patch).length === 0) return user;
    const updated = await this.store.updateUser(user.id, patch).catch((err: unknown) => {
      throw isConflict(err) ? taken(profile.username) : err;
    });
    if (!updated) throw new GatewayError('ServiceUnavailable', 'the user was deleted during the login; log in again');
    // Cached verdicts hold the old groups: drop them on every replica.
    await this.revocations.publish({ type: 'user', userId: user.id });
    this.log.info({ user: updated.username, userId: user.id, fields: Object.keys(patch) }, 'single sign-on user updated');
    return updated;
  }

  /** For a bearer ID token: the stored user, created when missing; never rewritten. Throws as `provision`. */
  async ensure(profile: SsoProfile): Promise<User> {
    const user = (await this.store.getUser(profile.userId)) ?? (await this.create(profile));
    this.mustBeOurs(user);
    if (!user.enabled) throw disabled();
    // The token names a user the store may know under an older name; the new name must not be someone else's.
    if (user.username !== profile.username) {
      const holder = await this.store.getUserByUsername(profile.username);
      if (holder && holder.id !== user.id) throw taken(profile.username);
    }
    return user;
  }

  private async create(profile: SsoProfile): Promise<User> {
    try {
      const user = await this.store.createUser({
        id: profile.userId,
        username: profile.username,
        passwordHash: '',
        groups: profile.groups,
        admin: profile.admin ?? false,
        enabled: true,
        source: this.source,
        subject: profile.subject,
      });
      this.log.info({ user: user.username, userId: user.id, source: this.source }, 'single sign-on user created');
      return user;
    } catch (err) {
      if (!isConflict(err)) throw err;
      // Another replica (or a concurrent login) created the same user first: use theirs.
      const raced = await this.store.getUser(profile.userId);
      if (raced) return raced;
      throw taken(profile.username);
    }
  }

  private mustBeOurs(user: User): void {
    // Ids are derived from issuer and subject, so this only fails if the id space is shared by mistake.
    if (user.source !== this.source) throw new SsoRefused('taken', 'this account belongs to another identity provider');
  }
}

function taken(username: string): SsoRefused {
  return new SsoRefused('taken', `the username "${username}" belongs to another kubegate account; an administrator can set --oidc-username-prefix`);
}

function isConflict(err: unknown): boolean {
  return err instanceof GatewayError && err.reason === 'Conflict';
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
