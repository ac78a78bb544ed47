/**
 * Encryption at rest of cluster credentials (SECURITY.md): AES-256-GCM under a key ring read from
 * `--encryption-key-file`, one key active (new credentials are sealed with it), the others kept to
 * open what they sealed until it is re-encrypted. The store seals on every write and opens on
 * every read, so the database file or a backup alone yields no credential.
 *
 * A sealed value is `kgenc:v1:<key id>:<iv>:<ciphertext and tag>` (base64url), stored as a JSON
 * string in the column that held the credential's JSON. The cluster id is the additional
 * authenticated data: a sealed credential copied into another cluster's row does not open.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { GatewayError } from '../errors.js';

const PREFIX = 'kgenc:v1:';
export const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Seals and opens credential JSON for one cluster row. */
export interface CredentialSealer {
  /** The id of the key new seals use; undefined when credentials are stored in clear. */
  readonly activeKeyId: string | undefined;
  seal(json: string, clusterId: string): string;
  open(stored: string, clusterId: string): string;
  /** True when `stored` is sealed with the active key (nothing to re-encrypt). */
  isCurrent(stored: string): boolean;
}

/** No encryption: what a store opened without a key ring does (tests, tools); still opens nothing sealed. */
export const CLEAR: CredentialSealer = {
  activeKeyId: undefined,
  seal: (json) => json,
  open(stored) {
    if (isSealed(stored)) throw new GatewayError('ServiceUnavailable', 'a cluster credential is encrypted and no encryption key was given');
    return stored;
  },
  isCurrent: (stored) => !isSealed(stored),
};

const isSealed = (stored: string): boolean => stored.startsWith(`"${PREFIX}`);

/** What a sealed value is, for messages: a cluster's credential or a shared secret (`secret:<name>`). */
const label = (aad: string): string => (aad.startsWith('secret:') ? `shared secret "${aad.slice(7)}"` : `cluster "${aad}": its credential`);

export interface EncryptionKey {
  id: string;
  key: Buffer;
}

/** AES-256-GCM with the first key active. */
export class KeyRing implements CredentialSealer {
  private readonly keys: ReadonlyMap<string, Buffer>;
  readonly activeKeyId: string;

  constructor(keys: readonly EncryptionKey[]) {
    if (keys.length === 0) throw new Error('a key ring needs at least one key');
    for (const k of keys) if (k.key.length !== KEY_BYTES) throw new Error(`key ${k.id}: must be ${KEY_BYTES} bytes`);
    this.keys = new Map(keys.map((k) => [k.id, k.key]));
    this.activeKeyId = keys[0]!.id;
  }

  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  seal(json: string, clusterId: string): string {
    if (json === 'null') return json;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.activeKeyId)!, iv);
    cipher.setAAD(Buffer.from(clusterId, 'utf8'));
    const sealed = Buffer.concat([cipher.update(json, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return JSON.stringify(`${PREFIX}${this.activeKeyId}:${iv.toString('base64url')}:${sealed.toString('base64url')}`);
  }

  open(stored: string, clusterId: string): string {
    if (!isSealed(stored)) return stored;
    const [keyId, iv, sealed] = (JSON.parse(stored) as string).slice(PREFIX.length).split(':');
    const key = this.keys.get(keyId ?? '');
    if (!key) throw new GatewayError('ServiceUnavailable', `${label(clusterId)} is encrypted with key "${keyId}", which the encryption key file does not hold`);
    try {
      const data = Buffer.from(sealed ?? '', 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv ?? '', 'base64url'));
      decipher.setAAD(Buffer.from(clusterId, 'utf8'));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      return Buffer.concat([decipher.update(data.subarray(0, data.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new GatewayError('ServiceUnavailable', `${label(clusterId)} does not open with key "${keyId}"`);
    }
  }

  isCurrent(stored: string): boolean {
    return stored === 'null' || stored.startsWith(`"${PREFIX}${this.activeKeyId}:`);
  }
}

/** A shared secret (`gateway_secrets`) as stored: sealed like a credential, with `secret:<name>` as its AAD. */
export function sealSecret(sealer: CredentialSealer, name: string, value: string): string {
  return sealer.activeKeyId === undefined ? value : sealer.seal(JSON.stringify(value), `secret:${name}`);
}

/** A stored shared secret in clear; one an older version stored in clear reads as it is. */
export function openSecret(sealer: CredentialSealer, name: string, stored: string): string {
  return isSealed(stored) ? (JSON.parse(sealer.open(stored, `secret:${name}`)) as string) : stored;
}
