/**
 * The PostgreSQL `Store` (`pg` 8 pool), selected by `--database-url postgres://…`: what several
 * gateway replicas share. It behaves exactly as the SQLite store (one conformance suite); the
 * schema mirrors SQLite's migration for migration (postgres-migrations.ts).
 *
 * An unreachable database is `StoreUnavailableError` (503), never a wrong answer; the pool
 * reconnects by itself when the server is back.
 */
import { CLEAR, openSecret, sealSecret, type CredentialSealer } from './credential-sealer.js';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { conflict, StoreUnavailableError } from '../errors.js';
import { postgresPoolConfig, redactDatabaseUrl, type PostgresOptions } from './postgres-connection.js';
import { constraintError, isRetryable, isUnavailable, openError, storeError } from './postgres-errors.js';
import { migratePostgres } from './postgres-migrations.js';
import {
  clusterValues,
  toChange,
  toCluster,
  toReplica,
  toMember,
  toRole,
  toToken,
  toUser,
  toUserWithPassword,
  verdictUser,
  type ChangeRow,
  type ClusterRow,
  type ReplicaRow,
  type MemberRow,
  type RoleRow,
  type TokenRow,
  type UserRow,
  type VerdictRow,
} from './rows.js';
import { SQL, type Statement } from './postgres-statements.js';
import type {
  Change,
  Cluster,
  ClusterImport,
  ClusterPatch,
  Member,
  NewCluster,
  NewToken,
  NewUser,
  ReplicaRecord,
  Role,
  Store,
  StoreRevision,
  TokenKind,
  TokenRecord,
  TokenVerdictRecord,
  User,
  UserPatch,
  UserWithPassword,
} from './store.js';

export interface OpenPostgresOptions extends PostgresOptions {
  /** Keep retrying an unreachable server this long at start-up (replicas may start before it). */
  waitMs?: number;
  /** Told about each failed attempt while waiting. */
  onWait?: (err: unknown) => void;
  /** Told about errors of idle pooled connections (the pool drops them and reconnects). */
  onIdleError?: (err: Error) => void;
  /** Seals cluster credentials at rest; without one they are stored in clear. */
  sealer?: CredentialSealer;
}

/** Connects, migrates under the advisory lock, and returns the store. */
export async function openPostgresStore(url: string, options: OpenPostgresOptions = {}): Promise<PostgresStore> {
  const redacted = redactDatabaseUrl(url);
  const pool = new pg.Pool(postgresPoolConfig(url, options));
  // Without a listener an idle connection's error (server restart, 57P01) would crash the process.
  pool.on('error', (err) => options.onIdleError?.(err));
  const deadline = Date.now() + (options.waitMs ?? 0);
  try {
    for (let delay = 250; ; delay = Math.min(delay * 2, 5_000)) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        if (!isUnavailable(err) || Date.now() + delay > deadline) throw err;
        options.onWait?.(err);
        await sleep(delay);
        continue;
      }
      try {
        return new PostgresStore(pool, await migratePostgres(client), options.sealer ?? CLEAR);
      } finally {
        client.release();
      }
    }
  } catch (err) {
    await pool.end().catch(() => {});
    throw openError(redacted, err);
  }
}

export class PostgresStore implements Store {
  private closed = false;

  /** `migrated`: the migration versions this open applied (empty when another replica did). */
  constructor(
    private readonly pool: pg.Pool,
    readonly migrated: readonly number[],
    private readonly sealer: CredentialSealer = CLEAR,
  ) {}

  /** Runs one named statement; deadlocks are retried, an unusable database is StoreUnavailableError. */
  private async run<R extends pg.QueryResultRow>(statement: Statement, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    if (this.closed) throw new StoreUnavailableError(new Error('the store is closed'));
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.pool.query<R>({ name: statement.name, text: statement.text, values });
      } catch (err) {
        // A cascade (delete user → tokens) can deadlock with a concurrent token write on the
        // change-log counter; PostgreSQL rolled the statement back, so running it again is safe.
        if (attempt < 3 && isRetryable(err)) continue;
        throw storeError(err);
      }
    }
  }

  /** Like `run`, turning the named constraint violations into API errors. */
  private async write<R extends pg.QueryResultRow>(statement: Statement, values: unknown[], constraints: Record<string, string>): Promise<pg.QueryResult<R>> {
    try {
      return await this.run<R>(statement, values);
    } catch (err) {
      throw constraintError(err, constraints) ?? err;
    }
  }

  private async one<R extends pg.QueryResultRow>(statement: Statement, values: unknown[]): Promise<R | undefined> {
    return (await this.run<R>(statement, values)).rows[0];
  }

  private async changed(statement: Statement, values: unknown[]): Promise<number> {
    return (await this.run(statement, values)).rowCount ?? 0;
  }

  async ping(): Promise<void> {
    await this.run(SQL.ping);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  async createUser(user: NewUser): Promise<User> {
    const now = Date.now();
    const values = [user.id, user.username, user.passwordHash, JSON.stringify(user.groups), user.admin, user.enabled, user.source ?? 'local', user.subject ?? null, now, now];
    const { rows } = await this.write<UserRow>(SQL.insertUser, values, {
      users_username_key: `user "${user.username}" already exists`,
      users_username_lower: `user "${user.username}" already exists`,
      users_pkey: `user id "${user.id}" already exists`,
    });
    return toUser(rows[0]!);
  }

  async getUser(id: string): Promise<User | undefined> {
    const row = await this.one<UserRow>(SQL.getUser, [id]);
    return row && toUser(row);
  }

  async getUserByUsername(username: string): Promise<UserWithPassword | undefined> {
    const row = await this.one<UserRow>(SQL.getUserByUsername, [username]);
    return row && toUserWithPassword(row);
  }

  async listUsers(): Promise<User[]> {
    return (await this.run<UserRow>(SQL.listUsers)).rows.map(toUser);
  }

  async countUsers(): Promise<number> {
    return (await this.one<{ n: number }>(SQL.countUsers, []))?.n ?? 0;
  }

  async updateUser(id: string, patch: UserPatch): Promise<User | undefined> {
    const groups = patch.groups === undefined ? null : JSON.stringify(patch.groups);
    const values = [id, patch.passwordHash ?? null, groups, patch.admin ?? null, patch.enabled ?? null, Date.now(), patch.username ?? null];
    const { rows } = await this.write<UserRow>(SQL.updateUser, values, { users_username_key: `user "${patch.username}" already exists`, users_username_lower: `user "${patch.username}" already exists` });
    const row = rows[0];
    return row && toUser(row);
  }

  async deleteUser(id: string): Promise<boolean> {
    return (await this.changed(SQL.deleteUser, [id])) > 0;
  }

  async createToken(token: NewToken): Promise<TokenRecord> {
    const values = [token.id, token.kind, token.userId, token.clusterId, token.description, token.secretHash, Date.now(), token.expiresAt?.getTime() ?? null, null];
    const { rows } = await this.write<TokenRow>(SQL.insertToken, values, {
      tokens_pkey: `token "${token.id}" already exists`,
      tokens_user_id_fkey: `user "${token.userId}" not found`,
      tokens_cluster_id_fkey: `cluster "${token.clusterId}" not found`,
    });
    return toToken(rows[0]!);
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    const row = await this.one<TokenRow>(SQL.getToken, [id]);
    return row && toToken(row);
  }

  async getTokenVerdict(id: string): Promise<TokenVerdictRecord | undefined> {
    const row = await this.one<VerdictRow>(SQL.getTokenVerdict, [id]);
    return row && { token: toToken(row), user: verdictUser(row) };
  }

  async listTokens(filter: { userId?: string; clusterId?: string; kind?: TokenKind }): Promise<TokenRecord[]> {
    const { rows } = await this.run<TokenRow>(SQL.listTokens, [filter.userId ?? null, filter.clusterId ?? null, filter.kind ?? null]);
    return rows.map(toToken);
  }

  async deleteToken(id: string): Promise<boolean> {
    return (await this.changed(SQL.deleteToken, [id])) > 0;
  }

  async deleteUserTokens(userId: string, filter: { kind?: TokenKind; exceptId?: string } = {}): Promise<string[]> {
    const { rows } = await this.run<{ id: string }>(SQL.deleteUserTokens, [userId, filter.kind ?? null, filter.exceptId ?? null]);
    return rows.map((r) => r.id);
  }

  async touchTokens(lastUsed: ReadonlyMap<string, Date>): Promise<void> {
    if (lastUsed.size === 0) return;
    const ids = [...lastUsed.keys()];
    await this.run(SQL.touchTokens, [ids, ids.map((id) => lastUsed.get(id)!.getTime())]);
  }

  async deleteExpiredTokens(now: Date): Promise<number> {
    return this.changed(SQL.deleteExpiredTokens, [now.getTime()]);
  }

  async createCluster(cluster: NewCluster): Promise<Cluster> {
    const now = new Date();
    const full: Cluster = { ...cluster, createdAt: now, updatedAt: now };
    const { rows } = await this.write<ClusterRow>(SQL.insertCluster, clusterValues(full, this.sealer), { clusters_pkey: `cluster "${cluster.id}" already exists` });
    return toCluster(rows[0]!, this.sealer);
  }

  async getCluster(id: string): Promise<Cluster | undefined> {
    const row = await this.one<ClusterRow>(SQL.getCluster, [id]);
    return row && toCluster(row, this.sealer);
  }

  async listClusters(): Promise<Cluster[]> {
    return (await this.run<ClusterRow>(SQL.listClusters)).rows.map((r) => toCluster(r, this.sealer));
  }

  async updateCluster(id: string, patch: ClusterPatch): Promise<Cluster | undefined> {
    const row = await this.one<ClusterRow>(SQL.updateCluster, [
      id,
      patch.name ?? null,
      patch.server ?? null,
      // `caData` is optional, so an explicit `caData: undefined` in the patch clears it.
      'caData' in patch,
      patch.caData ?? null,
      patch.insecureSkipTLSVerify ?? null,
      patch.credential === undefined ? null : this.sealer.seal(JSON.stringify(patch.credential), id),
      patch.authorizedEndpoint === undefined ? null : JSON.stringify(patch.authorizedEndpoint),
      Date.now(),
    ]);
    return row && toCluster(row, this.sealer);
  }

  async reencryptCredentials(options: { onlyClear?: boolean } = {}): Promise<number> {
    let n = 0;
    for (const r of (await this.run<{ id: string; credential_json: string }>(SQL.clusterCredentials)).rows) {
      if (this.sealer.isCurrent(r.credential_json) || (options.onlyClear && r.credential_json.startsWith('"'))) continue;
      // Compare-and-set: a credential changed meanwhile (by another replica) is left as that write made it.
      n += await this.changed(SQL.setClusterCredential, [this.sealer.seal(this.sealer.open(r.credential_json, r.id), r.id), r.id, r.credential_json]);
    }
    for (const r of (await this.run<{ name: string; value: string }>(SQL.listSecrets)).rows) {
      if (this.sealer.isCurrent(r.value) || (options.onlyClear && r.value.startsWith('"'))) continue;
      n += await this.changed(SQL.setSecret, [sealSecret(this.sealer, r.name, openSecret(this.sealer, r.name, r.value)), r.name, r.value]);
    }
    return n;
  }

  async deleteCluster(id: string): Promise<boolean> {
    return (await this.changed(SQL.deleteCluster, [id])) > 0;
  }

  async setClusterImport(clusterId: string, pending: ClusterImport | null): Promise<void> {
    if (!pending) {
      await this.run(SQL.clearClusterImport, [clusterId]);
      return;
    }
    await this.write(SQL.setClusterImport, [clusterId, pending.secretHash, pending.sealedToken, pending.expiresAt.getTime()], {
      cluster_imports_cluster_id_fkey: `cluster "${clusterId}" not found`,
    });
  }

  async takeClusterImport(clusterId: string, secretHash: string, now: Date): Promise<string | undefined> {
    return (await this.one<{ sealed_token: string }>(SQL.takeClusterImport, [clusterId, secretHash, now.getTime()]))?.sealed_token;
  }

  async heartbeatReplica(replica: ReplicaRecord): Promise<void> {
    await this.run(SQL.heartbeatReplica, [replica.id, replica.peerUrl, replica.heartbeatAt.getTime()]);
  }

  async listReplicas(since: Date): Promise<ReplicaRecord[]> {
    return (await this.run<ReplicaRow>(SQL.listReplicas, [since.getTime()])).rows.map(toReplica);
  }

  async removeReplicas(filter: { id?: string; before?: Date }): Promise<number> {
    return this.changed(SQL.removeReplicas, [filter.id ?? null, filter.before?.getTime() ?? null]);
  }

  async ensureSecret(name: string, candidate: string): Promise<string> {
    // A replica inserting at the same moment may commit between our insert and select: ask again.
    for (;;) {
      const row = await this.one<{ value: string }>(SQL.ensureSecret, [name, sealSecret(this.sealer, name, candidate)]);
      if (row) return openSecret(this.sealer, name, row.value);
    }
  }

  async listMembers(clusterId: string): Promise<Member[]> {
    return (await this.run<MemberRow>(SQL.listMembers, [clusterId])).rows.map(toMember);
  }

  async putMember(member: Member): Promise<Member> {
    await this.write(SQL.putMember, [member.clusterId, member.principal, member.role], {
      members_cluster_id_fkey: `cluster "${member.clusterId}" not found`,
    });
    return { clusterId: member.clusterId, principal: member.principal, role: member.role };
  }

  async deleteMember(clusterId: string, principal: string): Promise<boolean> {
    return (await this.changed(SQL.deleteMember, [clusterId, principal])) > 0;
  }

  async membershipsOf(principals: readonly string[]): Promise<Member[]> {
    if (principals.length === 0) return [];
    return (await this.run<MemberRow>(SQL.membershipsOf, [principals])).rows.map(toMember);
  }

  async listRoles(): Promise<Role[]> {
    return (await this.run<RoleRow>(SQL.listRoles)).rows.map(toRole);
  }

  async createRole(role: Omit<Role, 'createdAt'>): Promise<Role> {
    const createdAt = Date.now();
    await this.write(SQL.insertRole, [role.name, role.clusterRole, createdAt], { roles_pkey: `role "${role.name}" already exists` });
    return { name: role.name, clusterRole: role.clusterRole, createdAt: new Date(createdAt) };
  }

  async deleteRole(name: string): Promise<boolean> {
    const row = (await this.one<{ held: boolean; deleted: number; existed: boolean }>(SQL.deleteRole, [name]))!;
    if (row.held && row.existed) throw conflict(`role "${name}" is held by members; change their role first`);
    return row.deleted > 0;
  }

  async getRevision(): Promise<StoreRevision> {
    const row = (await this.one<StoreRevision>(SQL.getRevision, []))!;
    return { epoch: row.epoch, revision: row.revision };
  }

  async listChanges(query: { clusterId: string; since: number; until: number }): Promise<Change[] | undefined> {
    const { rows } = await this.run<{ pruned_through: number } & { [K in keyof ChangeRow]: ChangeRow[K] | null }>(SQL.listChanges, [
      query.clusterId,
      query.since,
      query.until,
    ]);
    if (query.since < (rows[0]?.pruned_through ?? 0)) return undefined;
    return rows.filter((r): r is typeof r & ChangeRow => r.revision !== null).map(toChange);
  }

  async pruneChanges(before: Date): Promise<number> {
    return (await this.one<{ n: number }>(SQL.pruneChanges, [before.getTime()]))?.n ?? 0;
  }

  async getSettings(): Promise<Record<string, string>> {
    const { rows } = await this.run<{ name: string; value: string }>(SQL.getSettings);
    return Object.fromEntries(rows.map((r) => [r.name, r.value]));
  }

  async putSetting(name: string, value: string): Promise<void> {
    await this.run(SQL.putSetting, [name, value]);
  }
}
