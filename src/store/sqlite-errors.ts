/** How SQLite failures surface: conflicts, an unavailable store, or a bad path at open. */
import Database from 'better-sqlite3';
import { ConfigError, StoreUnavailableError, conflict } from '../errors.js';

export function sqliteCode(err: unknown): string | undefined {
  return err instanceof Database.SqliteError ? err.code : undefined;
}

/** Runs `write`, turning a unique-key violation on a `table.column` in `messages` into a Conflict. */
export function onUnique<T>(write: () => T, messages: Record<string, string>): T {
  try {
    return write();
  } catch (err) {
    const code = sqliteCode(err);
    if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
      // better-sqlite3 reports e.g. "UNIQUE constraint failed: users.username".
      const column = (err as Error).message.split(': ')[1] ?? '';
      const message = messages[column];
      if (message !== undefined) throw conflict(message);
    }
    throw err;
  }
}

// Codes that mean the database cannot serve requests right now; anything else is a bug.
const UNAVAILABLE_CODES = [
  'SQLITE_BUSY',
  'SQLITE_CANTOPEN',
  'SQLITE_CORRUPT',
  'SQLITE_FULL',
  'SQLITE_IOERR',
  'SQLITE_NOTADB',
  'SQLITE_READONLY',
];

function isUnavailable(err: unknown): boolean {
  const code = sqliteCode(err);
  if (code !== undefined) return UNAVAILABLE_CODES.some((c) => code === c || code.startsWith(`${c}_`));
  return err instanceof TypeError && err.message === 'The database connection is not open';
}

/** Runs a database call, reporting an unusable database as `StoreUnavailableError`. */
export function guard<T>(call: () => T): T {
  try {
    return call();
  } catch (err) {
    throw isUnavailable(err) ? new StoreUnavailableError(err) : err;
  }
}

/**
 * A failure at open. A path that cannot be opened or is not a database is the operator's to fix,
 * so it names the path (the CLI prints `ConfigError`s); anything else is an unavailable store.
 */
export function openError(path: string, err: unknown): Error {
  if (err instanceof ConfigError) return err;
  const code = sqliteCode(err);
  const missingDir = err instanceof TypeError && /directory does not exist/.test(err.message);
  if (missingDir || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_NOTADB') {
    const reason = missingDir ? 'its directory does not exist' : (err as Error).message;
    const configError = new ConfigError(`cannot open SQLite database "${path}": ${reason}`);
    configError.cause = err;
    return configError;
  }
  return isUnavailable(err) ? new StoreUnavailableError(err) : (err as Error);
}
