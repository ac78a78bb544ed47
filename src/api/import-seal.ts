/**
 * An agent cluster's one-use import URL (docs/reference/api.md): `<public-url>/v1/clusters/<id>/import/<secret>.yaml`
 * serves the cluster's manifests, agent token included, without other authentication. The store
 * keeps only a hash of the secret and the token sealed (AES-256-GCM) under a key derived from the
 * secret, so neither the database nor its backups can produce the token or the URL.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { ClusterImport } from '../store/store.js';

/** How long an import URL stays valid when unused. */
export const IMPORT_TTL_MS = 24 * 3_600_000;

/** The secret's shape in the URL: 43 base64url characters (256 bits). */
export const IMPORT_SECRET = /^[A-Za-z0-9_-]{43}$/;

/** The hash the store keeps of an import secret. */
export function importSecretHash(clusterId: string, secret: string): string {
  return createHash('sha256').update(`kubegate-import-v1\0${clusterId}\0${secret}`).digest('hex');
}

function sealKey(clusterId: string, secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.from(clusterId, 'utf8'), 'kubegate-import-seal-v1', 32));
}

/** A new import for `agentToken`: the secret for the URL, and what the store keeps. */
export function newImport(clusterId: string, agentToken: string, now = Date.now()): { secret: string; pending: ClusterImport } {
  const secret = randomBytes(32).toString('base64url');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealKey(clusterId, secret), iv);
  const sealed = Buffer.concat([cipher.update(agentToken, 'utf8'), cipher.final()]);
  return {
    secret,
    pending: {
      secretHash: importSecretHash(clusterId, secret),
      sealedToken: Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url'),
      expiresAt: new Date(now + IMPORT_TTL_MS),
    },
  };
}

/** The agent token sealed in an import; throws if the secret does not open it. */
export function openImport(clusterId: string, secret: string, sealedToken: string): string {
  const raw = Buffer.from(sealedToken, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', sealKey(clusterId, secret), raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
}

/** The URL an admin runs `kubectl apply -f` on. */
export function importUrl(publicUrl: URL, clusterId: string, secret: string): string {
  return `${publicUrl.href.replace(/\/$/, '')}/v1/clusters/${clusterId}/import/${secret}.yaml`;
}
