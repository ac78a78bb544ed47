/**
 * The audit log: one JSON line per proxied request and per management-API call (long-running
 * requests get a line when they start and when they end). Written to stdout or a file rotated by
 * size. Records never hold a token, password or credential: only ids and names.
 */
import { renameSync, statSync } from 'node:fs';
import { pino } from 'pino';

type Destination = ReturnType<typeof pino.destination>;

export interface AuditRecord {
  time: string;
  stage: 'start' | 'end' | 'complete';
  requestId: string;
  /** `proxy` (/k8s/...) or `api` (/v1/...). */
  kind: 'proxy' | 'api';
  user?: string | undefined;
  uid?: string | undefined;
  groups?: readonly string[] | undefined;
  tokenId?: string | undefined;
  cluster?: string | undefined;
  /** Checked impersonation (kubectl --as): who the request acted as; `user` is who asked. */
  impersonatedUser?: string | undefined;
  impersonatedGroups?: readonly string[] | undefined;
  method: string;
  path?: string | undefined;
  verb?: string | undefined;
  resource?: string | undefined;
  namespace?: string | undefined;
  name?: string | undefined;
  subresource?: string | undefined;
  status?: number | undefined;
  reason?: string | undefined;
  /** Why the gateway ended an open stream (a revocation: `token revoked`, `user disabled`, …). */
  revoked?: string | undefined;
  bytes?: number | undefined;
  durationMs?: number | undefined;
  clientAddress?: string | undefined;
  userAgent?: string | undefined;
  /** The client's HTTP version: `2.0` (one stream of an h2 connection) or `1.1`. */
  protocol?: string | undefined;
}

export interface AuditOptions {
  /** A file path, or undefined for stdout. */
  path: string | undefined;
  maxBytes: number;
  maxFiles: number;
  /**
   * Hands each batch to another process instead (a `--workers` worker to the primary, which
   * alone writes and rotates the file); resolves once it was handed over.
   */
  forward?: (batch: string) => Promise<void>;
  /** The `--workers` worker writing (its id goes into each line, so operators see which process served). */
  worker?: number;
}

/** Characters of lines collected before they are written as one batch. */
const BATCH_CHARS = 32_768;

export class AuditLog {
  private readonly dest: Destination | undefined;
  /** The last batch handed to `forward`, awaited on close. */
  private forwarded: Promise<void> = Promise.resolve();
  private size = 0;
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  /**
   * Lines not yet handed to the destination. They are joined once per batch: sonic-boom appends
   * to a string and measures its whole byte length on every write, which for one write per
   * request costs a copy of the growing buffer each time.
   */
  private pending: string[] = [];
  private pendingChars = 0;
  private readonly batchChars: number;
  /** What every line starts with. */
  private readonly marker: string;

  constructor(private readonly options: AuditOptions) {
    // Lines are batched up to 32 KiB and written at least every 250 ms: one write per batch
    // instead of one per request, at the price of at most that much on a crash.
    this.marker = options.worker === undefined ? '{"log":"audit",' : `{"log":"audit","worker":${options.worker},`;
    this.dest = options.forward ? undefined : pino.destination({ dest: options.path ?? 1, sync: false, mkdir: true });
    // A small rotation size gets smaller batches, so a file stays near its limit.
    this.batchChars = options.path ? Math.min(BATCH_CHARS, Math.floor(options.maxBytes / 2)) : BATCH_CHARS;
    this.timer = setInterval(() => this.writePending(), 250);
    this.timer.unref();
    if (options.path && !options.forward) {
      try {
        this.size = statSync(options.path).size;
      } catch {
        this.size = 0;
      }
    }
  }

  /** Appends one line (written with its batch). */
  write(record: AuditRecord): void {
    // A stream torn down during shutdown may finish after the log closed; its line is lost, not fatal.
    if (this.closed) return;
    // `record` always starts with `time`, so the marker is spliced in front of it rather than
    // spreading the record into a copy on every request.
    const line = `${this.marker}${JSON.stringify(record).slice(1)}\n`;
    this.pending.push(line);
    this.pendingChars += line.length;
    if (this.pendingChars >= this.batchChars) this.writePending();
  }

  /** Hands the collected lines to the destination; rotates the file first when they would not fit. */
  private writePending(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending.join('');
    this.pending = [];
    this.pendingChars = 0;
    if (this.options.forward) {
      const forward = this.options.forward;
      this.forwarded = this.forwarded.then(() => forward(batch)).catch(() => {});
      return;
    }
    this.writeBatch(batch);
  }

  /** Writes whole lines (a worker's batch, in the primary); rotates the file first when they would not fit. */
  writeBatch(batch: string): void {
    const dest = this.dest!;
    if (this.options.path) {
      const bytes = Buffer.byteLength(batch);
      if (this.size > 0 && this.size + bytes > this.options.maxBytes) this.rotate();
      this.size += bytes;
    }
    dest.write(batch);
  }

  private rotate(): void {
    const path = this.options.path!;
    flush(this.dest!);
    for (let i = this.options.maxFiles - 1; i >= 1; i--) {
      try {
        renameSync(i === 1 ? path : `${path}.${i - 1}`, `${path}.${i}`);
      } catch {
        // Missing older files are fine.
      }
    }
    this.dest!.reopen();
    this.size = 0;
  }

  /** Flushes and closes the destination. */
  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    this.writePending();
    this.closed = true;
    await this.forwarded;
    if (!this.dest) return;
    flush(this.dest);
    if (this.options.path) this.dest.end();
  }
}

/** Flushes pending lines; a destination that is still opening has none to flush. */
function flush(dest: Destination): void {
  try {
    dest.flushSync();
  } catch {
    // "sonic boom is not ready yet": nothing was written.
  }
}
