/** Makes new tokens: TTLs from settings, capped by `auth-token-max-ttl-minutes` (docs/reference/tokens.md). */
import type { Store, TokenKind } from '../store/store.js';
import { readSettings } from '../settings.js';
import { issueToken } from './tokens.js';

export interface IssueRequest {
  kind: TokenKind;
  userId: string | null;
  clusterId: string | null;
  description: string;
  /** Requested lifetime; the kind's default when absent; always capped. */
  ttlSeconds?: number | undefined;
}

export interface Issued {
  token: string;
  tokenId: string;
  /** Null only for agent tokens, which live until rotated. */
  expiresAt: Date | null;
  clusterId: string | null;
}

export class TokenIssuer {
  constructor(
    private readonly store: Store,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Creates and stores a token; the secret is in the answer only. */
  async issue(request: IssueRequest): Promise<Issued> {
    const settings = await readSettings(this.store);
    const maxSeconds = settings['auth-token-max-ttl-minutes'] * 60;
    const defaultSeconds =
      request.kind === 'session'
        ? settings['session-ttl-minutes'] * 60
        : request.kind === 'kubeconfig'
          ? settings['kubeconfig-default-token-ttl-minutes'] * 60
          : maxSeconds;
    const ttl = Math.min(request.ttlSeconds ?? defaultSeconds, maxSeconds);
    const expiresAt = request.kind === 'agent' ? null : new Date(this.clock() + ttl * 1000);
    const issued = issueToken();
    await this.store.createToken({
      id: issued.id,
      kind: request.kind,
      userId: request.userId,
      clusterId: request.clusterId,
      description: request.description,
      secretHash: issued.secretHash,
      expiresAt,
    });
    return { token: issued.token, tokenId: issued.id, expiresAt, clusterId: request.clusterId };
  }
}
