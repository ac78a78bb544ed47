/**
 * What a `pg` error means for kubegate: the database being unreachable (`StoreUnavailableError`,
 * rendered 503), a constraint the API reports (Conflict, NotFound, with SQLite's messages), a
 * transient conflict worth one more try, or a configuration mistake at start-up.
 */
import { ConfigError, StoreUnavailableError, conflict, notFound, type GatewayError } from '../errors.js';

interface PgError {
  code?: string;
  constraint?: string;
  message?: string;
}

function asPg(err: unknown): PgError {
  return typeof err === 'object' && err !== null ? (err as PgError) : {};
}

/** The SQLSTATE (or Node socket code) of an error, if any. */
export function pgCode(err: unknown): string | undefined {
  return asPg(err).code;
}

// Socket-level failures: the server is down, unreachable or went away.
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EPIPE',
]);

// SQLSTATEs that mean "not now" rather than "never": a retry later may succeed.
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown: the server is stopping
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or in recovery
  '57P05', // idle_session_timeout
  '57014', // query_canceled: statement_timeout
  '55P03', // lock_not_available: lock_timeout
  '25006', // read_only_sql_transaction: we reached a standby (mid-failover)
  '40001', // serialization_failure, after our retries
  '40P01', // deadlock_detected, after our retries
]);
// SQLSTATE classes: 08 connection exception, 53 insufficient resources, 58 system error.
const UNAVAILABLE_CLASSES = ['08', '53', '58'];

// `pg` reports these without a code.
const UNAVAILABLE_MESSAGES = [
  /^Connection terminated/,
  /timeout exceeded when trying to connect/,
  /^Query read timeout/,
  /is not queryable/,
  /Cannot use a pool after calling end on the pool/,
];

/** True when the error means the database cannot serve requests right now. */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true;
  const { code, message } = asPg(err);
  if (code !== undefined) {
    if (SOCKET_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && UNAVAILABLE_CLASSES.includes(code.slice(0, 2))) return true;
  }
  return typeof message === 'string' && UNAVAILABLE_MESSAGES.some((m) => m.test(message));
}

/** Deadlocks and serialization failures: PostgreSQL rolled the statement back; running it again is safe. */
export function isRetryable(err: unknown): boolean {
  const code = pgCode(err);
  return code === '40P01' || code === '40001';
}

/** Reports an unusable database as `StoreUnavailableError`; anything else passes through. */
export function storeError(err: unknown): unknown {
  return isUnavailable(err) && !(err instanceof StoreUnavailableError) ? new StoreUnavailableError(err) : err;
}

/**
 * Turns a unique violation (23505) or a foreign-key violation (23503) on a named constraint into
 * the API error in `messages`; undefined when the error is something else.
 */
export function constraintError(err: unknown, messages: Readonly<Record<string, string>>): GatewayError | undefined {
  const { code, constraint } = asPg(err);
  if ((code !== '23505' && code !== '23503') || constraint === undefined) return undefined;
  const message = messages[constraint];
  if (message === undefined) return undefined;
  return code === '23505' ? conflict(message) : notFound(message);
}

// At start-up these are the operator's to fix, not a passing outage.
const CONFIG_SQLSTATES: Record<string, string> = {
  '28P01': 'the password was refused',
  '28000': 'the server refused the login',
  '3D000': 'the database does not exist',
  '42501': 'the user lacks a privilege the schema needs',
};

/** A failure at open: a configuration mistake (`ConfigError`, exit 2) or an unreachable store. */
export function openError(redactedUrl: string, err: unknown): Error {
  if (err instanceof ConfigError) return err;
  const code = pgCode(err);
  const reason = code !== undefined ? CONFIG_SQLSTATES[code] : undefined;
  const message = asPg(err).message ?? String(err);
  const badTls = /SSL|certificate|self[- ]signed/i.test(message) && !isUnavailable(err);
  const missingFile = code === 'ENOENT' || code === 'EACCES';
  if (reason !== undefined || badTls || missingFile) {
    const configError = new ConfigError(`cannot open PostgreSQL database ${redactedUrl}: ${reason ?? message}`);
    configError.cause = err;
    return configError;
  }
  return err instanceof Error && isUnavailable(err) ? new StoreUnavailableError(err) : (err as Error);
}
