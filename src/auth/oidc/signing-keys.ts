/**
 * The provider's signing keys (its JWKS), cached, following key rotation: a token signed with a
 * key the cache does not hold makes it fetch the keys again, so a rotated-in key is accepted on
 * its first token. Refetches for unknown keys are at most one per `refetchCooldownMs`, and one at
 * a time, so tokens with made-up `kid`s cannot turn the gateway against its provider. Keys older
 * than `maxAgeMs` are refreshed in the background on next use (a rotated-out key stops working),
 * never making a verdict wait; while the provider cannot be reached the keys already held keep
 * verifying, and a refresh is retried at most every `retryMs`.
 */
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { ProviderFetch } from './provider-fetch.js';

/** A JWKS larger than this is not a key set. */
const MAX_JWKS_BYTES = 256 * 1024;

export interface SigningKeysOptions {
  fetch: ProviderFetch;
  /** The provider's `jwks_uri` (from discovery, which may not have happened yet). */
  jwksUri: () => Promise<string>;
  clock?: () => number;
  refetchCooldownMs?: number;
  maxAgeMs?: number;
  retryMs?: number;
}

export class SigningKeys {
  private keys: ReturnType<typeof createLocalJWKSet> | undefined;
  private fetchedAt = 0;
  private lastUnknownKeyFetch = Number.NEGATIVE_INFINITY;
  private nextRefresh = 0;
  private pending: Promise<void> | undefined;
  private readonly clock: () => number;
  private readonly cooldownMs: number;
  private readonly maxAgeMs: number;
  /** How many times the key set was fetched (for tests and the bench). */
  fetches = 0;

  constructor(private readonly options: SigningKeysOptions) {
    this.clock = options.clock ?? Date.now;
    this.cooldownMs = options.refetchCooldownMs ?? 5_000;
    this.maxAgeMs = options.maxAgeMs ?? 10 * 60_000;
  }

  /** jose's key lookup: the key for a token's header, fetching the set when it must. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    if (!this.keys) await this.refresh();
    else if (this.clock() - this.fetchedAt > this.maxAgeMs && this.clock() >= this.nextRefresh) {
      this.nextRefresh = this.clock() + (this.options.retryMs ?? 30_000);
      this.refresh().catch(() => undefined);
    }
    try {
      return await this.keys!(header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey) || this.clock() - this.lastUnknownKeyFetch < this.cooldownMs) throw err;
      this.lastUnknownKeyFetch = this.clock();
      await this.refresh();
      return this.keys!(header, token);
    }
  };

  /** Fetches the key set; concurrent callers share one fetch. */
  private refresh(): Promise<void> {
    this.pending ??= this.load().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async load(): Promise<void> {
    const uri = await this.options.jwksUri();
    const res = await this.options.fetch(uri, { headers: { accept: 'application/json, application/jwk-set+json' }, redirect: 'manual' });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`the provider's jwks_uri answered ${res.status}`);
    if (text.length > MAX_JWKS_BYTES) throw new Error("the provider's key set is too large");
    // createLocalJWKSet checks the shape (an object with a `keys` array) and throws when it is not.
    this.keys = createLocalJWKSet(JSON.parse(text) as JSONWebKeySet);
    this.fetchedAt = this.clock();
    this.fetches++;
  }
}
