/**
 * Keeps the copy in step with the gateway in the background: a full copy first (unless one was
 * loaded from disk), then long-polls for changes. Failures retry with exponential backoff and
 * jitter; the copy in hand keeps serving meanwhile. Every applied change is saved to the state
 * file before the next poll.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { AuthnCopy } from './authn-copy.js';
import type { FeedClient } from './feed-client.js';
import { writeState } from './state-file.js';

export interface SyncerOptions {
  copy: AuthnCopy;
  client: FeedClient;
  log: Logger;
  stateDir: string;
  clusterId: string;
  gateway: string;
  /** When the copy in hand last came from the gateway (from the state file at start). */
  lastSyncedAt: Date | undefined;
  /** Long-poll length asked of the gateway. */
  waitSeconds?: number;
  backoff?: { initialMs: number; maxMs: number };
}

/** The default back-off: a webhook is back in step within 2 s of the gateway's return (issue 15). */
export const DEFAULT_BACKOFF = { initialMs: 250, maxMs: 1_000 };
/** While failures go on, one WARN line per this long; the rest are DEBUG. */
const WARN_EVERY_MS = 30_000;

/**
 * The pause before retry number `failures` (1 for the first): exponential up to `maxMs`, with
 * jitter over its upper half against webhooks stampeding a returning gateway.
 */
export function retryDelayMs(failures: number, backoff: { initialMs: number; maxMs: number }, random: () => number = Math.random): number {
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** (failures - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export class Syncer {
  private readonly stop = new AbortController();
  private running: Promise<void> | undefined;
  private failures = 0;
  private warnedAt = -Infinity;
  private unsaved = false;
  lastSyncedAt: Date | undefined;

  constructor(private readonly o: SyncerOptions) {
    this.lastSyncedAt = o.lastSyncedAt;
  }

  start(): void {
    this.running ??= this.loop();
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.running;
  }

  private async save(): Promise<void> {
    await writeState(this.o.stateDir, {
      clusterId: this.o.clusterId,
      gateway: this.o.gateway,
      syncedAt: this.lastSyncedAt ?? new Date(),
      snapshot: this.o.copy.snapshot(),
    });
    this.unsaved = false;
  }

  private async loop(): Promise<void> {
    const { copy, client, log } = this.o;
    const wait = this.o.waitSeconds ?? 30;
    const backoff = this.o.backoff ?? DEFAULT_BACKOFF;
    while (!this.stop.signal.aborted) {
      try {
        // A copy that could not be saved (disk full) is saved before anything else: a restart
        // must never serve an older copy than the one in memory, revocations included.
        if (this.unsaved) await this.save();
        const page = await client.fetch(copy.cursor, wait, this.stop.signal);
        const changed = copy.apply(page);
        this.lastSyncedAt = new Date();
        if (changed) {
          this.unsaved = true;
          await this.save();
          log.info({ revision: page.revision, full: page.full, ...copy.size, lastSyncedAt: this.lastSyncedAt }, 'synced from the gateway');
        } else {
          log.debug({ revision: page.revision, lastSyncedAt: this.lastSyncedAt }, 'in sync with the gateway');
        }
        if (this.failures > 0) log.info({ after: this.failures }, 'sync with the gateway restored');
        this.failures = 0;
        this.warnedAt = -Infinity;
      } catch (err) {
        if (this.stop.signal.aborted) break;
        this.failures++;
        const delayMs = retryDelayMs(this.failures, backoff);
        // Retries are frequent (at most 1 s apart): an outage logs one WARN line per 30 s, not one per retry.
        const level = Date.now() - this.warnedAt >= WARN_EVERY_MS ? 'warn' : 'debug';
        if (level === 'warn') this.warnedAt = Date.now();
        log[level](
          { error: (err as Error).message, failures: this.failures, retryInMs: delayMs, lastSyncedAt: this.lastSyncedAt ?? null, serving: copy.loaded },
          'sync with the gateway failed',
        );
        await sleep(delayMs, undefined, { signal: this.stop.signal }).catch(() => undefined);
      }
    }
  }
}
