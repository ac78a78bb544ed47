/**
 * Revocation fan-out across gateway replicas sharing one PostgreSQL (docs/reference/tokens.md: every replica
 * within 1 s), with the `RevocationBus` interface of the in-process bus.
 *
 * - `publish` delivers to this replica's subscribers at once (so the API's own replica never
 *   waits), then `NOTIFY kubegate_revocations` with the event's ids — never a secret. Every other
 *   replica receives it on a dedicated LISTEN connection and delivers it to its subscribers.
 *   Eviction is idempotent, so a duplicate does no harm; our own echo is skipped by origin id.
 * - The listening connection can drop (server restart, failover, `pg_terminate_backend`) or die
 *   silently (a peer gone without a FIN): a liveness query every few seconds finds the latter.
 *   Either way: reconnect with exponential backoff, LISTEN again, then deliver `{type:'all'}`,
 *   because events sent while we were not listening are lost and cached verdicts may be stale.
 *   Nothing is cleared while disconnected: with the store down, cached verdicts keep serving
 *   until their TTL (docs/reference/api.md).
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Logger } from 'pino';
import { StoreUnavailableError } from '../errors.js';
import { postgresClientConfig, postgresPoolConfig } from '../store/postgres-connection.js';
import type { Revocation, RevocationBus } from './revocations.js';

export const REVOCATION_CHANNEL = 'kubegate_revocations';
/** `application_name` of the listening connection, as seen in `pg_stat_activity`. */
export const LISTENER_APPLICATION_NAME = 'kubegate-revocations';

export interface PgRevocationBusOptions {
  url: string;
  log: Logger;
  /** How often the listening connection is checked with `SELECT 1`. */
  livenessIntervalMs?: number;
  /** A liveness answer slower than this means the connection is dead. */
  livenessTimeoutMs?: number;
  /** Reconnect backoff: first delay, doubling up to `maxMs` (with jitter). */
  backoff?: { initialMs: number; maxMs: number };
}

/** The NOTIFY payload: the event plus the publishing replica's random id. */
type Payload = Revocation & { from: string };

export class PgRevocationBus implements RevocationBus {
  /** Random per process: lets us skip the echo of our own NOTIFY. */
  private readonly origin = randomBytes(9).toString('base64url');
  private readonly listeners = new Set<(event: Revocation) => void>();
  /** Small pool for NOTIFY: a publish never waits behind the store's queries. */
  private readonly notifier: pg.Pool;
  private client: pg.Client | undefined;
  private reconnecting = false;
  private checking = false;
  private readonly stopping = new AbortController();
  private readonly liveness: NodeJS.Timeout;
  private readonly log: Logger;
  readonly stats = { received: 0, reconnects: 0 };

  private constructor(private readonly options: PgRevocationBusOptions) {
    this.log = options.log.child({ component: 'revocation-bus' });
    this.notifier = new pg.Pool(postgresPoolConfig(options.url, { poolSize: 2, applicationName: 'kubegate-notify' }));
    this.notifier.on('error', (err) => this.log.debug({ err }, 'idle notify connection failed'));
    this.liveness = setInterval(() => void this.checkLiveness(), options.livenessIntervalMs ?? 5_000);
    this.liveness.unref();
  }

  /** Starts listening; if the first connection fails it keeps retrying in the background. */
  static async start(options: PgRevocationBusOptions): Promise<PgRevocationBus> {
    const bus = new PgRevocationBus(options);
    try {
      await bus.listen();
    } catch (err) {
      bus.log.warn({ err: describe(err) }, 'cannot listen for revocations yet; retrying');
      bus.reconnect();
    }
    return bus;
  }

  async publish(event: Revocation): Promise<void> {
    this.deliver(event);
    const payload: Payload = { ...event, from: this.origin };
    try {
      await this.notifier.query('select pg_notify($1, $2)', [REVOCATION_CHANNEL, JSON.stringify(payload)]);
    } catch (err) {
      // The change is written but other replicas may keep a stale verdict until its TTL: say so.
      this.log.error({ err: describe(err), event: event.type }, 'could not announce a revocation to other replicas');
      throw new StoreUnavailableError(err);
    }
  }

  subscribe(listener: (event: Revocation) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** True while the LISTEN connection is up (for tests and readiness details). */
  get listening(): boolean {
    return this.client !== undefined;
  }

  async close(): Promise<void> {
    if (this.stopping.signal.aborted) return;
    this.stopping.abort();
    clearInterval(this.liveness);
    const client = this.client;
    this.client = undefined;
    await Promise.all([client && abandon(client, 1_000), this.notifier.end().catch(() => {})]);
  }

  private deliver(event: Revocation): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.log.error({ err, event: event.type }, 'revocation subscriber failed');
      }
    }
  }

  private receive(raw: string | undefined): void {
    const payload = parsePayload(raw);
    if (!payload) {
      this.log.warn('ignored a malformed revocation notification');
      return;
    }
    if (payload.from === this.origin) return;
    this.stats.received++;
    const { from: _, ...event } = payload;
    this.deliver(event as Revocation);
  }

  /** Opens the dedicated connection and LISTENs; it becomes `this.client` only once listening. */
  private async listen(): Promise<void> {
    const client = new pg.Client(postgresClientConfig(this.options.url, { applicationName: LISTENER_APPLICATION_NAME }));
    client.on('notification', (msg) => {
      if (client === this.client && msg.channel === REVOCATION_CHANNEL) this.receive(msg.payload);
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('listening connection ended')));
    try {
      await client.connect();
      await client.query(`listen ${REVOCATION_CHANNEL}`);
    } catch (err) {
      void abandon(client, 0);
      throw err;
    }
    if (this.stopping.signal.aborted) {
      void abandon(client, 0);
      return;
    }
    this.client = client;
  }

  private lost(client: pg.Client, err: unknown): void {
    if (client !== this.client || this.stopping.signal.aborted) return;
    this.client = undefined;
    void abandon(client, 0);
    this.log.warn({ err: describe(err) }, 'revocation listener lost its connection; reconnecting');
    this.reconnect();
  }

  /** Reconnects with backoff; once listening again, clears every cache (events may have been missed). */
  private reconnect(): void {
    if (this.reconnecting || this.stopping.signal.aborted) return;
    this.reconnecting = true;
    const { initialMs, maxMs } = this.options.backoff ?? { initialMs: 100, maxMs: 5_000 };
    void (async () => {
      try {
        for (let delay = initialMs; ; delay = Math.min(delay * 2, maxMs)) {
          await sleep(delay / 2 + Math.random() * (delay / 2), undefined, { signal: this.stopping.signal });
          try {
            await this.listen();
          } catch (err) {
            this.log.warn({ err: describe(err), retryInMs: Math.min(delay * 2, maxMs) }, 'revocation listener cannot reconnect yet');
            continue;
          }
          if (this.stopping.signal.aborted) return;
          this.stats.reconnects++;
          this.log.info('revocation listener reconnected; clearing cached verdicts');
          this.deliver({ type: 'all' });
          return;
        }
      } catch {
        // Aborted by close().
      } finally {
        this.reconnecting = false;
      }
    })();
  }

  /** A connection can die without a FIN or an error; a query that does not come back says so. */
  private async checkLiveness(): Promise<void> {
    const client = this.client;
    if (!client || this.checking) return;
    this.checking = true;
    const timeoutMs = this.options.livenessTimeoutMs ?? 2_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.query('select 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`liveness query got no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (err) {
      this.lost(client, err);
    } finally {
      clearTimeout(timer);
      this.checking = false;
    }
  }
}

/** Ends a client we no longer use without waiting on a dead peer for longer than `waitMs`. */
async function abandon(client: pg.Client, waitMs: number): Promise<void> {
  client.removeAllListeners('notification');
  client.on('error', () => {});
  const ended = client.end().catch(() => {});
  // `end()` on a silently dead socket may wait forever for the server's goodbye: cut it.
  const stream = (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
  if (waitMs === 0) stream?.destroy();
  else await Promise.race([ended, sleep(waitMs).then(() => stream?.destroy())]);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const ID = /^[\x21-\x7e]{1,512}$/;

/** Validates a notification: only the shapes we send, ids of bounded printable ASCII. */
function parsePayload(raw: string | undefined): Payload | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw ?? '');
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const id = (key: string): string | undefined => (typeof v[key] === 'string' && ID.test(v[key]) ? v[key] : undefined);
  const from = id('from');
  if (from === undefined) return undefined;
  switch (v.type) {
    case 'token': {
      const tokenId = id('tokenId');
      return tokenId === undefined ? undefined : { type: 'token', tokenId, from };
    }
    case 'user': {
      const userId = id('userId');
      return userId === undefined ? undefined : { type: 'user', userId, from };
    }
    case 'principal': {
      const principal = typeof v.principal === 'string' && v.principal.length <= 600 ? v.principal : undefined;
      return principal === undefined ? undefined : { type: 'principal', principal, from };
    }
    case 'cluster': {
      const clusterId = id('clusterId');
      return clusterId === undefined ? undefined : { type: 'cluster', clusterId, from };
    }
    case 'all':
      return { type: 'all', from };
    default:
      return undefined;
  }
}
