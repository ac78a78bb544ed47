/**
 * How kubegate connects to PostgreSQL: the `pg` pool and client settings built from
 * `--database-url`. TLS comes from the URL as `pg` reads it (`sslmode=require|verify-full|no-verify`,
 * `sslrootcert`, `sslcert`, `sslkey`); note that `pg` 8 verifies the server certificate for
 * `prefer`, `require` and `verify-ca` alike, unless the URL adds `uselibpqcompat=true`.
 */
import pg from 'pg';
import type { ClientConfig, PoolConfig } from 'pg';

export interface PostgresOptions {
  /** Most connections this process opens for queries. */
  poolSize?: number;
  /** `application_name`, shown in `pg_stat_activity` (a URL parameter wins). */
  applicationName?: string;
}

export const DEFAULT_POOL_SIZE = 10;
/** A connection attempt that takes longer than this counts as the store being unreachable. */
const CONNECT_TIMEOUT_MS = 5_000;
/** No query of ours runs long; one that does is stuck on a dead connection or a lock. */
const QUERY_TIMEOUT_MS = 15_000;

const INT8_OID = 20;

/**
 * `bigint` columns (epoch milliseconds, revisions, counts) as numbers: every value we store is
 * far below 2^53. Per connection, so other users of `pg` in the process keep the default.
 */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** Settings of one connection (the revocation listener uses this directly). */
export function postgresClientConfig(url: string, options: PostgresOptions = {}): ClientConfig {
  return {
    connectionString: url,
    application_name: options.applicationName ?? 'kubegate',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    // TCP keep-alive finds a peer that vanished without a FIN (a failed-over primary, a dropped NAT entry).
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    types,
  };
}

/** Settings of the store's pool. */
export function postgresPoolConfig(url: string, options: PostgresOptions = {}): PoolConfig {
  return {
    ...postgresClientConfig(url, options),
    max: options.poolSize ?? DEFAULT_POOL_SIZE,
    idleTimeoutMillis: 30_000,
  };
}

/** The URL without its password, for messages and logs. */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '*****';
    for (const key of [...u.searchParams.keys()]) if (/password|sslkey/i.test(key)) u.searchParams.set(key, '*****');
    return u.toString();
  } catch {
    return 'the database URL';
  }
}
