/** Fetches one page of the gateway's sync feed (`sync/protocol.ts`) with the cluster's agent token. */
import http from 'node:http';
import https from 'node:https';
import { AuthnSyncSchema, type AuthnSync } from '../sync/protocol.js';
import type { SyncCursor } from './authn-copy.js';

// A page is at most a full copy; far more than any real cluster's tokens.
const MAX_PAGE_BYTES = 256 * 1024 * 1024;

export interface FeedClientOptions {
  gateway: URL;
  clusterId: string;
  agentToken: string;
  gatewayCaPem: string | undefined;
}

/** A failed fetch; `status` is the HTTP status when the gateway answered. */
export class FeedError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'FeedError';
  }
}

export class FeedClient {
  private readonly agent: http.Agent;

  constructor(private readonly options: FeedClientOptions) {
    const keepAlive = { keepAlive: true, maxSockets: 1 };
    this.agent = options.gateway.protocol === 'https:' ? new https.Agent({ ...keepAlive, ca: options.gatewayCaPem }) : new http.Agent(keepAlive);
  }

  /** A full copy without a cursor; else what changed after it, waiting up to `waitSeconds`. */
  fetch(cursor: SyncCursor | undefined, waitSeconds: number, signal?: AbortSignal): Promise<AuthnSync> {
    const url = new URL(`${this.options.gateway.href.replace(/\/$/, '')}/v1/clusters/${this.options.clusterId}/authn-sync`);
    if (cursor) {
      url.searchParams.set('revision', String(cursor.revision));
      url.searchParams.set('epoch', cursor.epoch);
      url.searchParams.set('waitSeconds', String(waitSeconds));
    }
    const client = url.protocol === 'https:' ? https : http;
    return new Promise<AuthnSync>((resolve, reject) => {
      const req = client.request(
        url,
        {
          method: 'GET',
          agent: this.agent,
          headers: { Authorization: `Bearer ${this.options.agentToken}`, Accept: 'application/json', 'User-Agent': 'kubegate-webhook' },
          timeout: (waitSeconds + 20) * 1000,
          signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_PAGE_BYTES) req.destroy(new FeedError('sync page too large'));
            else chunks.push(c);
          });
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode !== 200) return reject(new FeedError(`gateway answered ${res.statusCode}: ${errorMessage(text)}`, res.statusCode));
            try {
              resolve(this.validate(JSON.parse(text)));
            } catch (err) {
              reject(err instanceof FeedError ? err : new FeedError(`gateway sent a malformed sync page: ${(err as Error).message}`));
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new FeedError('gateway did not answer in time')));
      req.on('error', reject);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }

  private validate(json: unknown): AuthnSync {
    const parsed = AuthnSyncSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new FeedError(`gateway sent a malformed sync page (${issue.path.join('.') || 'document'}: ${issue.message})`);
    }
    if (parsed.data.clusterId !== this.options.clusterId) throw new FeedError(`gateway sent cluster "${parsed.data.clusterId}"`);
    return parsed.data;
  }
}

/** The message of a docs/reference/api.md error body, shortened; never the body wholesale. */
function errorMessage(text: string): string {
  try {
    const m = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
    if (typeof m === 'string') return m.slice(0, 200);
  } catch {
    // not JSON
  }
  return 'no error message';
}
