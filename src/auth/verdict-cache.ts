/**
 * `CachedTokenAuthenticator`: an LRU of verdicts in front of another `TokenAuthenticator`, with
 * the same interface (the shape of kube-apiserver's cached_token_authenticator.go).
 *
 * - Keys are SHA-256 of a random per-process salt and the token: no raw token sits in memory as
 *   a key, and keys cannot be precomputed from a leaked token list. (One-shot `crypto.hash`
 *   costs about a sixth of `createHmac` on every request; a keyed MAC adds nothing here, as the
 *   key is never sent anywhere and the input is the secret itself.)
 * - Successes live `successTtlMs` but never past the token's expiry; failures `failureTtlMs`;
 *   thrown errors (store unreachable) are never cached.
 * - Concurrent misses for one token share one lookup.
 * - `evict()` drops what a revocation affects, so revocation never waits for a TTL.
 */
import { hash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { AuthResult, TokenAuthenticator } from './identity.js';
import type { Revocation } from './revocations.js';

/** How long a refusal is cached: long enough to absorb a retry storm, short enough to forgive a typo. */
export const FAILURE_TTL_MS = 2_000;

export interface VerdictCacheOptions {
  successTtlMs: number;
  failureTtlMs: number;
  maxEntries: number;
  /** Milliseconds; injectable for tests. */
  clock?: () => number;
}

export class CachedTokenAuthenticator implements TokenAuthenticator {
  private readonly salt = randomBytes(32).toString('base64');
  private readonly cache: LRUCache<string, AuthResult>;
  private readonly inflight = new Map<string, Promise<AuthResult>>();
  private readonly clock: () => number;
  /** Bumped by every eviction so a lookup that raced a revocation is not cached. */
  private generation = 0;
  readonly stats = { hits: 0, misses: 0, evictions: 0 };

  constructor(
    private readonly inner: TokenAuthenticator,
    private readonly options: VerdictCacheOptions,
  ) {
    this.clock = options.clock ?? (() => performance.timeOrigin + performance.now());
    const clock = this.clock;
    this.cache = new LRUCache<string, AuthResult>({
      max: options.maxEntries,
      ttlAutopurge: false,
      ttlResolution: 0,
      perf: { now: () => clock() },
    });
  }

  async authenticate(token: string): Promise<AuthResult> {
    const key = hash('sha256', this.salt + token, 'base64');
    const cached = this.cache.get(key);
    if (cached) {
      this.stats.hits++;
      return cached;
    }
    this.stats.misses++;
    let pending = this.inflight.get(key);
    if (!pending) {
      const started: Promise<AuthResult> = this.lookup(key, token).finally(() => {
        if (this.inflight.get(key) === started) this.inflight.delete(key);
      });
      pending = started;
      this.inflight.set(key, pending);
    }
    return pending;
  }

  private async lookup(key: string, token: string): Promise<AuthResult> {
    const generation = this.generation;
    const result = await this.inner.authenticate(token);
    const ttl = this.ttlFor(result);
    if (ttl > 0 && generation === this.generation) this.cache.set(key, result, { ttl });
    return result;
  }

  private ttlFor(result: AuthResult): number {
    if (!result.authenticated) return this.options.failureTtlMs;
    const expiresAt = result.identity.token.expiresAt;
    const ttl = this.options.successTtlMs;
    return expiresAt === null ? ttl : Math.min(ttl, expiresAt - this.clock());
  }

  /** Drops every cached verdict the revocation affects. */
  evict(event: Revocation): void {
    // Verdicts do not depend on cluster records; deleting a cluster also publishes `all`.
    if (event.type === 'cluster') return;
    this.generation++;
    // Lookups already in flight may have read the old state; let them finish uncached.
    this.inflight.clear();
    if (event.type === 'all') {
      this.stats.evictions += this.cache.size;
      this.cache.clear();
      return;
    }
    for (const [key, result] of this.cache.entries()) {
      // A failure names no user, and a changed user (enabled again) may own one: a user change
      // drops them all, or the user would be refused until the failure TTL ran out.
      if (result.authenticated ? affects(event, result) : event.type === 'user') {
        this.cache.delete(key);
        this.stats.evictions++;
      }
    }
  }

  size(): number {
    return this.cache.size;
  }
}

function affects(event: Exclude<Revocation, { type: 'all' | 'cluster' }>, result: Extract<AuthResult, { authenticated: true }>): boolean {
  const id = result.identity;
  switch (event.type) {
    case 'token':
      return id.token.id === event.tokenId;
    case 'user':
      return id.kind === 'user' && id.userId === event.userId;
    case 'principal':
      if (id.kind !== 'user') return false;
      return event.principal === `user:${id.username}` || id.groups.some((g) => event.principal === `group:${g}`);
  }
}
