/**
 * The gateway's own directories and files are its alone: at start the data and certs directories
 * are made 0700 and the files in them 0600 (the SQLite database holds password hashes and, before
 * encryption at rest, held cluster credentials; the certs directory holds the CA key). A path
 * that cannot be tightened (owned by someone else, a read-only mount) is the operator's to fix:
 * a `ConfigError` naming the setting, the path, its mode and why (one line, exit 2).
 */
import { chmod, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from './errors.js';

const octal = (mode: number): string => `0${(mode & 0o777).toString(8)}`;

/** Makes `path` exactly `want` (permission bits) unless it already is; throws a `ConfigError` when it cannot. */
async function tighten(path: string, want: number, setting: string, what: string): Promise<void> {
  const st = await stat(path);
  if ((st.mode & 0o777) === want) return;
  try {
    await chmod(path, want);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'failed';
    const owner = typeof process.getuid === 'function' && st.uid !== process.getuid() ? `, owned by uid ${st.uid}` : '';
    throw new ConfigError(`${setting}: ${what} "${path}" is mode ${octal(st.mode)}${owner} and cannot be made ${octal(want)} (${code}); it must be readable by the gateway only`);
  }
}

/** Tightens `dir` to 0700 and every regular file directly in it to 0600. */
export async function tightenOwnedDir(dir: string, setting: string): Promise<void> {
  await tighten(dir, 0o700, setting, 'directory');
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    // A file gone since the listing (another --workers process's temporary key file, linked and
    // removed meanwhile) has nothing left to tighten.
    await tighten(join(dir, entry.name), 0o600, setting, 'file').catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}

/** Makes a file unreadable to group and others (0400 and 0600 stay as they are); throws a `ConfigError` when it cannot. */
export async function ensurePrivateFile(path: string, setting: string): Promise<void> {
  const st = await stat(path);
  if ((st.mode & 0o077) === 0) return;
  await tighten(path, 0o600, setting, 'file');
}

/** Tightens one file to 0600 (when it exists). */
export async function tightenOwnedFile(path: string, setting: string): Promise<void> {
  try {
    await tighten(path, 0o600, setting, 'file');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
