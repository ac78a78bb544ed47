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
  method: string;
  path?: string | undefined;
  verb?: string | undefined;
  resource?: string | undefined;
  namespace?: string | undefined;
  name?: string | undefined;
  subresource?: string | undefined;
  status?: number | undefined;
  reason?: string | undefined;
  bytes?: number | undefined;
  durationMs?: number | undefined;
  clientAddress?: string | undefined;
  userAgent?: string | undefined;
}

export interface AuditOptions {
  /** A file path, or undefined for stdout. */
  path: string | undefined;
  maxBytes: number;
  maxFiles: number;
}

export class AuditLog {
  private readonly dest: Destination;
  private size = 0;
  private closed = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: AuditOptions) {
    // Lines are buffered up to 8 KiB and flushed at least every 250 ms: one write per batch
    // instead of one per request, at the price of at most that much on a crash.
    this.dest = pino.destination({ dest: options.path ?? 1, sync: false, mkdir: true, minLength: 8_192 });
    this.timer = setInterval(() => {
      try {
        if ((this.dest as unknown as { fd: number }).fd >= 0) this.dest.flush();
      } catch {
        // Still opening, or a write is under way: the next tick flushes.
      }
    }, 250);
    this.timer.unref();
    if (options.path) {
      try {
        this.size = statSync(options.path).size;
      } catch {
        this.size = 0;
      }
    }
  }

  /** Appends one line; rotates the file first when it would grow past the size limit. */
  write(record: AuditRecord): void {
    // A stream torn down during shutdown may finish after the log closed; its line is lost, not fatal.
    if (this.closed) return;
    const line = `${JSON.stringify({ log: 'audit', ...record })}\n`;
    if (this.options.path) {
      this.size += Buffer.byteLength(line);
      if (this.size > this.options.maxBytes) this.rotate(Buffer.byteLength(line));
    }
    this.dest.write(line);
  }

  private rotate(pending: number): void {
    const path = this.options.path!;
    flush(this.dest);
    for (let i = this.options.maxFiles - 1; i >= 1; i--) {
      try {
        renameSync(i === 1 ? path : `${path}.${i - 1}`, `${path}.${i}`);
      } catch {
        // Missing older files are fine.
      }
    }
    this.dest.reopen();
    this.size = pending;
  }

  /** Flushes and closes the destination. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
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
