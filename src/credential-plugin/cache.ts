/**
 * The plugin's credential cache: one JSON file per gateway and cluster under
 * `<config dir>/credentials/` (dir 0700, files 0600). Writes go to a temp file and are renamed
 * into place, so a concurrent reader sees the old file or the new one, never half of one.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CachedCredential {
  server: string;
  clusterId: string;
  token: string;
  tokenId: string;
  /** ISO timestamps. */
  obtainedAt: string;
  expiresAt: string;
  /** When the gateway last confirmed the token (login or `GET /v1/me`). */
  verifiedAt: string;
  /** The gateway CA (base64 PEM) trusted at login, so `--logout` can revoke the token later. */
  caData?: string | undefined;
  /** Process ids of the last kubectl processes the token was handed to (see plugin.ts). */
  handedTo?: number[] | undefined;
}

const FIELDS = ['server', 'clusterId', 'token', 'tokenId', 'obtainedAt', 'expiresAt', 'verifiedAt'] as const;

/** A readable file name; the file repeats server and cluster, which are checked on read. */
function fileName(server: string, clusterId: string): string {
  return `${server.replace(/^([a-z]+):\/\//, '$1_').replace(/[^A-Za-z0-9.-]/g, '_')}__${clusterId}.json`;
}

export class CredentialCache {
  readonly dir: string;

  constructor(configDir: string) {
    this.dir = join(configDir, 'credentials');
  }

  pathOf(server: string, clusterId: string): string {
    return join(this.dir, fileName(server, clusterId));
  }

  /** The cached credential, or undefined when there is none (or the file is not ours). */
  read(server: string, clusterId: string): CachedCredential | undefined {
    const entry = readEntry(this.pathOf(server, clusterId));
    return entry && entry.server === server && entry.clusterId === clusterId ? entry : undefined;
  }

  /** Replaces the entry atomically. */
  write(entry: CachedCredential): void {
    this.ensureDir();
    const path = this.pathOf(entry.server, entry.clusterId);
    const tmp = `${path}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(entry, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
      renameSync(tmp, path);
    } catch (err) {
      try {
        unlinkSync(tmp);
      } catch {
        // already gone
      }
      throw err;
    }
  }

  /** Removes one entry; true when there was one. */
  remove(server: string, clusterId: string): boolean {
    return removeFile(this.pathOf(server, clusterId));
  }

  /** Every entry, optionally only those of one gateway (for `--logout`). */
  list(server?: string): Array<{ path: string; entry: CachedCredential }> {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: Array<{ path: string; entry: CachedCredential }> = [];
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const path = join(this.dir, name);
      const entry = readEntry(path);
      if (entry && (server === undefined || entry.server === server)) out.push({ path, entry });
    }
    return out;
  }

  /** Creates the directory private to the user (and tightens it if it already existed). */
  ensureDir(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
  }
}

function readEntry(path: string): CachedCredential | undefined {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  for (const f of FIELDS) if (typeof parsed[f] !== 'string') return undefined;
  for (const f of ['obtainedAt', 'expiresAt', 'verifiedAt']) if (Number.isNaN(Date.parse(parsed[f] as string))) return undefined;
  if (parsed.handedTo !== undefined && !(Array.isArray(parsed.handedTo) && parsed.handedTo.every((p) => Number.isSafeInteger(p)))) delete parsed.handedTo;
  return parsed as unknown as CachedCredential;
}

/** Unlinks a file; true when it existed. */
export function removeFile(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
