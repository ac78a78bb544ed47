/**
 * `--encryption-key-file`: the key ring for cluster credentials at rest. One key a line,
 * `<id> <32 bytes base64>`; the first line is the active key, the others open what they sealed
 * until `POST /v1/encryption/reencrypt` moves everything to the active one; `#` starts a comment.
 * Unset, the gateway keeps (and on first start generates) `<data dir>/encryption.key`, 0600.
 */
import { randomBytes } from 'node:crypto';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { ConfigError } from './errors.js';
import { ensurePrivateFile } from './file-modes.js';
import { KEY_BYTES, KeyRing, type EncryptionKey } from './store/credential-sealer.js';

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Parses the file's text; throws a `ConfigError` naming the setting and the line. */
export function parseKeyFile(setting: string, text: string): KeyRing {
  const keys: EncryptionKey[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const [id, b64, extra] = line.split(/\s+/);
    const key = Buffer.from(b64 ?? '', 'base64');
    if (!id || !KEY_ID.test(id) || extra !== undefined || key.length !== KEY_BYTES) {
      throw new ConfigError(`${setting}: line ${i + 1} must be "<id> <${KEY_BYTES} bytes in base64>"`);
    }
    if (keys.some((k) => k.id === id)) throw new ConfigError(`${setting}: key id "${id}" appears twice`);
    keys.push({ id, key });
  }
  if (keys.length === 0) throw new ConfigError(`${setting}: holds no key`);
  return new KeyRing(keys);
}

/** A new key line: `k<yyyymmdd>-<random> <base64>`. */
export function newKeyLine(now = new Date()): string {
  const day = now.toISOString().slice(0, 10).replace(/-/g, '');
  return `k${day}-${randomBytes(3).toString('hex')} ${randomBytes(KEY_BYTES).toString('base64')}`;
}

/** Reads the key ring, generating the file (0600, never overwriting) when `generate` and it is missing. */
export async function loadKeyRing(path: string, setting: string, options: { generate: boolean }): Promise<{ ring: KeyRing; generated: boolean }> {
  let generated = false;
  if (options.generate) {
    // Written aside and linked into place: replicas starting together on a shared file never
    // read a half-written one, and the first to link wins (link fails when the name exists).
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, `# kubegate encryption keys: the first is active (docs/reference/configuration.md)\n${newKeyLine()}\n`, { mode: 0o600, flag: 'wx' });
      await link(tmp, path);
      generated = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new ConfigError(`${setting}: cannot create "${path}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    } finally {
      await unlink(tmp).catch(() => {});
    }
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${setting}: cannot read "${path}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  await ensurePrivateFile(path, setting);
  return { ring: parseKeyFile(setting, text), generated };
}
