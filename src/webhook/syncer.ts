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

export class Syncer {
  private readonly stop = new AbortController();
  private running: Promise<void> | undefined;
  private failures = 0;
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
    // A ceiling of 10 s: a webhook is back in step soon after the gateway returns, with jitter against stampedes.
    const backoff = this.o.backoff ?? { initialMs: 250, maxMs: 10_000 };
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
      } catch (err) {
        if (this.stop.signal.aborted) break;
        this.failures++;
        const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** (this.failures - 1));
        const delayMs = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
        log.warn(
          { error: (err as Error).message, failures: this.failures, retryInMs: delayMs, lastSyncedAt: this.lastSyncedAt ?? null, serving: copy.loaded },
          'sync with the gateway failed',
        );
        await sleep(delayMs, undefined, { signal: this.stop.signal }).catch(() => undefined);
      }
    }
  }
}
