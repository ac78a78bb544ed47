/**
 * The wire format of `GET /v1/clusters/{id}/authn-sync` (docs/reference/webhook.md), shared by the gateway that
 * serves it and the webhook that reads it.
 *
 * - No `revision` query parameter: a full copy (`full: true`) and the revision it reflects.
 * - `?revision=N&epoch=E&waitSeconds=S`: what changed after N, as upserts of current state plus
 *   token deletions. It answers at once when something changed, else after S seconds with no
 *   changes. A full copy comes back instead when N cannot be continued (changes pruned, another
 *   database, or N from the future).
 *
 * Hashes only, never a secret. The webhook keeps a user only while it holds one of the user's
 * tokens, so users need no deletions: a deleted user's tokens arrive as deletions.
 */
import { z } from 'zod';

export const SYNC_KIND = 'AuthnSync';
export const SYNC_API_VERSION = 'kubegate.io/v1';
/** Longest long-poll the gateway holds (seconds). */
export const MAX_WAIT_SECONDS = 60;

const Id = z.string().min(1).max(128);

export const SyncedTokenSchema = z
  .object({
    id: Id,
    kind: z.enum(['session', 'api', 'kubeconfig']),
    userId: Id,
    /** Hex SHA-256 from `auth/tokens.ts` `hashSecret`. */
    secretHash: z.string().regex(/^[0-9a-f]{64}$/),
    /** ISO time, or null for no expiry. */
    expiresAt: z.iso.datetime({ offset: true }).nullable(),
  })
  .strict();

export const SyncedUserSchema = z
  .object({
    id: Id,
    username: z.string().min(1).max(256),
    groups: z.array(z.string().max(256)).max(1024),
    enabled: z.boolean(),
    /** May reach this cluster: a member through `user:` or `group:`, or an admin (admins reach every cluster). */
    member: z.boolean(),
    /**
     * The user's roles on this cluster (docs/reference/identity.md), which become `kubegate:role:<role>`
     * groups; admins hold `owner`. Absent from gateways older than roles: then `member` alone.
     */
    roles: z.array(z.string().min(1).max(64)).max(64).optional(),
  })
  .strict();

export const AuthnSyncSchema = z
  .object({
    kind: z.literal(SYNC_KIND),
    apiVersion: z.literal(SYNC_API_VERSION),
    clusterId: z.string(),
    epoch: z.string().min(1).max(64),
    revision: z.number().int().nonnegative(),
    /** True: replace the whole copy with this one. */
    full: z.boolean(),
    tokens: z.array(SyncedTokenSchema),
    users: z.array(SyncedUserSchema),
    deletedTokens: z.array(Id),
  })
  .strict();

export type SyncedToken = z.infer<typeof SyncedTokenSchema>;
export type SyncedUser = z.infer<typeof SyncedUserSchema>;
export type AuthnSync = z.infer<typeof AuthnSyncSchema>;

/** True when a sync page carries nothing to apply. */
export function isEmptyDelta(page: AuthnSync): boolean {
  return !page.full && page.tokens.length === 0 && page.users.length === 0 && page.deletedTokens.length === 0;
}
