/**
 * Builds the sync feed pages of one cluster from the store (docs/reference/webhook.md): a full copy, or the current
 * state of whatever the change log says changed after a revision.
 *
 * Every page reports the revision read *before* the state it carries, so a change that lands
 * while the page is built is sent again next time: pages carry current state, never diffs, and
 * applying one twice does no harm. All state is in the store, so any gateway replica can serve
 * any webhook.
 */
import { rolesByCluster, rolesOn } from '../auth/cluster-access.js';
import { principalsOf, type Member, type Store, type TokenRecord, type User } from '../store/store.js';
import { SYNC_API_VERSION, SYNC_KIND, type AuthnSync, type SyncedToken, type SyncedUser } from './protocol.js';

/** The tokens a cluster's webhook may accept: scoped to it, owned by a user (docs/reference/tokens.md). */
function isSynced(token: TokenRecord, clusterId: string): token is TokenRecord & { kind: SyncedToken['kind']; userId: string } {
  return token.clusterId === clusterId && token.kind !== 'agent' && token.userId !== null;
}

function syncedToken(t: TokenRecord & { kind: SyncedToken['kind']; userId: string }): SyncedToken {
  return { id: t.id, kind: t.kind, userId: t.userId, secretHash: t.secretHash, expiresAt: t.expiresAt?.toISOString() ?? null };
}

function syncedUser(user: User, clusterId: string, members: readonly Member[]): SyncedUser {
  const principals = new Set(principalsOf(user));
  const held = members.filter((m) => principals.has(m.principal));
  // Admins reach every cluster through the gateway (as owners), so the direct door lets them in too.
  const roles = rolesOn({ admin: user.admin, clusterRoles: rolesByCluster(held) }, clusterId);
  return { id: user.id, username: user.username, groups: [...user.groups], enabled: user.enabled, member: roles.length > 0, roles: [...roles] };
}

export class AuthnFeed {
  constructor(private readonly store: Store) {}

  /** Everything the cluster's webhook needs. */
  async full(clusterId: string): Promise<AuthnSync> {
    const { epoch, revision } = await this.store.getRevision();
    const tokens = (await this.store.listTokens({ clusterId })).filter((t) => isSynced(t, clusterId));
    const owners = new Set(tokens.map((t) => t.userId));
    const users = owners.size === 0 ? [] : await this.users(clusterId, owners);
    return page(clusterId, epoch, revision, true, { tokens: tokens.map(syncedToken), users, deletedTokens: [] });
  }

  /** What changed after `since`; a full copy when that revision cannot be continued. */
  async since(clusterId: string, since: number, epoch: string | undefined): Promise<AuthnSync> {
    const current = await this.store.getRevision();
    if ((epoch !== undefined && epoch !== current.epoch) || since > current.revision) return this.full(clusterId);
    const changes = await this.store.listChanges({ clusterId, since, until: current.revision });
    if (!changes) return this.full(clusterId);

    const tokenIds = new Set<string>();
    const userIds = new Set<string>();
    let membersChanged = false;
    for (const c of changes) {
      if (c.kind === 'token') tokenIds.add(c.key);
      else if (c.kind === 'user') userIds.add(c.key);
      else membersChanged = true;
    }

    const tokens: SyncedToken[] = [];
    const deletedTokens: string[] = [];
    for (const id of tokenIds) {
      const t = await this.store.getToken(id);
      if (t && isSynced(t, clusterId)) tokens.push(syncedToken(t));
      else deletedTokens.push(id);
    }

    // Users to resend: owners of tokens sent now (the webhook may not hold them yet), plus
    // changed users, or after a membership change every owner, who still hold tokens here.
    const resend = new Set(tokens.map((t) => t.userId));
    if (userIds.size > 0 || membersChanged) {
      for (const t of await this.store.listTokens({ clusterId })) {
        if (isSynced(t, clusterId) && (membersChanged || userIds.has(t.userId))) resend.add(t.userId);
      }
    }
    const users = resend.size === 0 ? [] : await this.users(clusterId, resend);
    return page(clusterId, current.epoch, current.revision, false, { tokens, users, deletedTokens });
  }

  /** Current state of the given users (absent ones are skipped: their tokens are gone too). */
  private async users(clusterId: string, ids: ReadonlySet<string>): Promise<SyncedUser[]> {
    const members = await this.store.listMembers(clusterId);
    const found = ids.size > 16 ? (await this.store.listUsers()).filter((u) => ids.has(u.id)) : await this.each(ids);
    return found.map((u) => syncedUser(u, clusterId, members));
  }

  private async each(ids: ReadonlySet<string>): Promise<User[]> {
    const users: User[] = [];
    for (const id of ids) {
      const u = await this.store.getUser(id);
      if (u) users.push(u);
    }
    return users;
  }
}

function page(
  clusterId: string,
  epoch: string,
  revision: number,
  full: boolean,
  body: Pick<AuthnSync, 'tokens' | 'users' | 'deletedTokens'>,
): AuthnSync {
  return { kind: SYNC_KIND, apiVersion: SYNC_API_VERSION, clusterId, epoch, revision, full, ...body };
}
