/**
 * Records when tokens were last used without a store write per request: uses are collected in
 * memory and flushed in one batch; a token is re-recorded at most once per `resolutionMs`.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import type { TokenInfo } from './identity.js';

export class LastUsedRecorder {
  private pending = new Map<string, Date>();
  private readonly recorded = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly resolutionMs = 60_000,
    flushEveryMs = 5_000,
  ) {
    this.timer = setInterval(() => void this.flush(), flushEveryMs);
    this.timer.unref();
  }

  /** Notes a use of a token at `now` (cheap: a map lookup on most calls); ID tokens are not stored, so not recorded. */
  record(token: Pick<TokenInfo, 'id' | 'kind'>, now = Date.now()): void {
    if (token.kind === 'id-token') return;
    const tokenId = token.id;
    const last = this.recorded.get(tokenId);
    if (last !== undefined && now - last < this.resolutionMs) return;
    this.recorded.set(tokenId, now);
    this.pending.set(tokenId, new Date(now));
  }

  /** Writes collected uses; failures are logged and dropped (last-used is advisory). */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    if (this.recorded.size > 100_000) this.recorded.clear();
    try {
      await this.store.touchTokens(batch);
    } catch (err) {
      this.log.warn({ err, tokens: batch.size }, 'could not record token last use');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
