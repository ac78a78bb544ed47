/**
 * The webhook's copy on disk (`<state-dir>/authn-state.json`), so a restart serves at once even
 * when the gateway is unreachable (docs/reference/webhook.md). Written atomically: a temp file in the same
 * directory, fsync, rename over the old one, fsync the directory; a crash leaves either the old
 * or the new file, never half of one. A file that does not validate stops the webhook: serving
 * a garbled copy could let the wrong people in.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { SyncedTokenSchema, SyncedUserSchema } from '../sync/protocol.js';
import type { CopySnapshot } from './authn-copy.js';

export const STATE_FILE_NAME = 'authn-state.json';
const STATE_KIND = 'KubegateWebhookState';

const StateSchema = z
  .object({
    kind: z.literal(STATE_KIND),
    version: z.literal(1),
    clusterId: z.string(),
    gateway: z.string(),
    syncedAt: z.iso.datetime({ offset: true }),
    epoch: z.string().min(1),
    revision: z.number().int().nonnegative(),
    tokens: z.array(SyncedTokenSchema),
    users: z.array(SyncedUserSchema),
  })
  .strict();

export interface SavedState {
  clusterId: string;
  gateway: string;
  /** When this copy last came from the gateway. */
  syncedAt: Date;
  snapshot: CopySnapshot;
}

export function statePath(stateDir: string): string {
  return join(stateDir, STATE_FILE_NAME);
}

/** Reads the saved copy; undefined when there is none; `ConfigError` when it is unreadable or corrupt. */
export function readState(stateDir: string, clusterId: string): SavedState | undefined {
  const path = statePath(stateDir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read state file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const corrupt = (why: string): ConfigError =>
    new ConfigError(`state file ${path} is corrupt (${why}); refusing to serve from it — delete it to resync from the gateway`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw corrupt('not JSON');
  }
  const parsed = StateSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw corrupt(`${issue.path.join('.') || 'document'}: ${issue.message}`);
  }
  const s = parsed.data;
  if (s.clusterId !== clusterId) {
    throw new ConfigError(`state file ${path} holds cluster "${s.clusterId}", not "${clusterId}"; point --state-dir elsewhere or delete it`);
  }
  return {
    clusterId: s.clusterId,
    gateway: s.gateway,
    syncedAt: new Date(s.syncedAt),
    snapshot: { epoch: s.epoch, revision: s.revision, tokens: s.tokens, users: s.users },
  };
}

/** Replaces the state file atomically. */
export async function writeState(stateDir: string, state: SavedState): Promise<void> {
  const path = statePath(stateDir);
  const body = JSON.stringify({
    kind: STATE_KIND,
    version: 1,
    clusterId: state.clusterId,
    gateway: state.gateway,
    syncedAt: state.syncedAt.toISOString(),
    epoch: state.snapshot.epoch,
    revision: state.snapshot.revision,
    tokens: state.snapshot.tokens,
    users: state.snapshot.users,
  });
  const temp = join(stateDir, `.${STATE_FILE_NAME}.${randomBytes(6).toString('hex')}.tmp`);
  const file = await open(temp, 'wx', 0o600);
  try {
    await file.writeFile(body, 'utf8');
    await file.sync();
  } catch (err) {
    await file.close();
    await rm(temp, { force: true });
    throw err;
  }
  await file.close();
  try {
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  // The rename itself must reach the disk before we rely on it.
  const dir = await open(stateDir, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
