/**
 * What the primary and its workers say to each other over the cluster IPC channel (`--workers`).
 * Every message carries `kubegate` so prom-client's own messages on the same channel are told apart.
 */
import type { Revocation } from '../auth/revocations.js';

export type WorkerMessage =
  /** A worker published a revocation; the primary passes it to every other worker. */
  | { kubegate: 'revocation'; event: Revocation }
  /** A worker serves `/metrics` and asks the primary for the whole gateway's. */
  | { kubegate: 'metrics-request'; id: number }
  | { kubegate: 'metrics'; id: number; text?: string; contentType?: string; error?: string }
  /** A batch of audit lines for the primary to write. */
  | { kubegate: 'audit'; batch: string }
  /** A worker listens (its URL), once its gateway is up. */
  | { kubegate: 'listening'; url: string };

export function isWorkerMessage(value: unknown): value is WorkerMessage {
  return typeof value === 'object' && value !== null && typeof (value as { kubegate?: unknown }).kubegate === 'string';
}
