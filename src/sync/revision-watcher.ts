/**
 * Wakes sync-feed long-polls when the store's revision moves. Changes made by this process are
 * seen at once (the revocation bus nudges a check); changes made by another replica sharing the
 * database are seen by polling the revision every `pollMs`, only while someone waits.
 */
import type { RevocationBus } from '../auth/revocations.js';
import type { Store } from '../store/store.js';

interface Waiter {
  beyond: number;
  wake: () => void;
}

export interface RevisionWatcherOptions {
  pollMs?: number;
  /** True while the gateway drains: every wait ends at once so shutdown is not held up. */
  isDraining?: () => boolean;
}

export class RevisionWatcher {
  private readonly waiters = new Set<Waiter>();
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  private again = false;
  private readonly pollMs: number;
  private readonly isDraining: () => boolean;

  constructor(
    private readonly store: Store,
    bus: RevocationBus,
    options: RevisionWatcherOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 1_000;
    this.isDraining = options.isDraining ?? (() => false);
    // Publishers announce after their write has committed, so a check now sees it.
    bus.subscribe(() => void this.check());
  }

  /**
   * Resolves once the store revision is beyond `revision`, after `timeoutMs`, or when `signal`
   * aborts, whichever comes first. Never rejects: a failed check just waits for the next poll.
   */
  waitBeyond(revision: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timeout);
        signal?.removeEventListener('abort', done);
        this.waiters.delete(waiter);
        if (this.waiters.size === 0) this.stopPolling();
        resolve();
      };
      const waiter: Waiter = { beyond: revision, wake: done };
      const timeout = setTimeout(done, Math.max(0, timeoutMs));
      if (signal?.aborted || this.isDraining()) return done();
      signal?.addEventListener('abort', done, { once: true });
      this.waiters.add(waiter);
      this.timer ??= setInterval(() => void this.check(), this.pollMs);
    });
  }

  /** Number of long-polls waiting (for tests and metrics). */
  get waiting(): number {
    return this.waiters.size;
  }

  private async check(): Promise<void> {
    if (this.waiters.size === 0) return;
    if (this.checking) {
      this.again = true;
      return;
    }
    this.checking = true;
    try {
      do {
        this.again = false;
        const draining = this.isDraining();
        let revision = -1;
        try {
          revision = (await this.store.getRevision()).revision;
        } catch {
          // Store unreachable: keep waiting; the long-poll ends at its deadline anyway.
        }
        for (const w of [...this.waiters]) if (draining || revision > w.beyond) w.wake();
      } while (this.again && this.waiters.size > 0);
    } finally {
      this.checking = false;
    }
  }

  private stopPolling(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
