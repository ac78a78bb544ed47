/**
 * A worker's side of `--workers`: revocations it publishes reach the other workers through the
 * primary (the embedded SQLite store has no LISTEN/NOTIFY; with PostgreSQL every worker listens on
 * its own and this bus is not used), `/metrics` is the primary's aggregate of every worker, audit
 * lines are written by the primary (one file, rotated by one process), and the primary hears when
 * this worker listens.
 */
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Revocation, RevocationBus } from '../auth/revocations.js';
import { isWorkerMessage, type WorkerMessage } from './messages.js';

/** The primary answers a metrics request within this, or the scrape fails (503). */
const SCRAPE_TIMEOUT_MS = 10_000;

export interface Scrape {
  contentType: string;
  text: string;
}

const send = (message: WorkerMessage): void => {
  process.send?.(message);
};

/** Carries revocations between this worker and the others; delivers locally at once. */
export class WorkerRevocationBus implements RevocationBus {
  private readonly listeners = new Set<(event: Revocation) => void>();

  constructor() {
    process.on('message', (message: unknown) => {
      if (isWorkerMessage(message) && message.kubegate === 'revocation') this.deliver(message.event);
    });
  }

  async publish(event: Revocation): Promise<void> {
    this.deliver(event);
    send({ kubegate: 'revocation', event });
  }

  subscribe(listener: (event: Revocation) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private deliver(event: Revocation): void {
    for (const l of this.listeners) l(event);
  }
}

export class WorkerLink {
  private nextId = 0;
  private readonly pending = new Map<number, (m: Extract<WorkerMessage, { kubegate: 'metrics' }>) => void>();

  constructor(registry: Registry) {
    // prom-client answers the primary's requests for this worker's metrics from these registries.
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([registry]);
    process.on('message', (message: unknown) => {
      if (isWorkerMessage(message) && message.kubegate === 'metrics') {
        this.pending.get(message.id)?.(message);
        this.pending.delete(message.id);
      }
    });
  }

  /** The revocation bus for a store without one of its own (SQLite). */
  revocationBus(): RevocationBus {
    return new WorkerRevocationBus();
  }

  /** The whole gateway's metrics (every worker), as the primary aggregates them. */
  scrape(): Promise<Scrape> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error('the primary did not answer with the metrics in time'));
      }, SCRAPE_TIMEOUT_MS);
      timer.unref();
      this.pending.set(id, (m) => {
        clearTimeout(timer);
        if (m.text !== undefined) resolve({ text: m.text, contentType: m.contentType ?? 'text/plain' });
        else reject(new Error(m.error ?? 'no metrics'));
      });
      send({ kubegate: 'metrics-request', id });
    });
  }

  /** Hands a batch of audit lines to the primary; resolves once it is on the channel. */
  forwardAudit(batch: string): Promise<void> {
    return new Promise((resolve) => {
      if (!process.send?.({ kubegate: 'audit', batch } satisfies WorkerMessage, undefined, {}, () => resolve())) resolve();
    });
  }

  listening(url: string): void {
    send({ kubegate: 'listening', url });
  }
}
