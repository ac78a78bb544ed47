/**
 * `kubegate serve --workers N`: the primary process. It does what must happen once (migrations,
 * the first administrator, the serving certificate), then forks N workers that each run the whole
 * gateway and share the listener (node:cluster hands each new connection to one of them). It
 * serves nothing itself: it passes revocations between workers (SQLite), aggregates `/metrics`
 * (prom-client's AggregatorRegistry), writes every worker's audit lines to the one audit log, replaces a worker that dies, and on SIGTERM/SIGINT drains
 * every worker (each runs the gateway's own graceful shutdown) before it exits.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry } from 'prom-client';
import { AuditLog, type AuditOptions } from '../observability/audit-log.js';
import { isWorkerMessage, type WorkerMessage } from './messages.js';

/** A worker that dies is replaced after this (not at once: a crash loop must not spin). */
const RESTART_DELAY_MS = 1_000;

export interface PrimaryOptions {
  workers: number;
  log: Logger;
  /** The audit log every worker's lines are written to. */
  audit: AuditOptions;
  /** The one-time start-up work, before any worker starts. */
  prepare(): Promise<void>;
}

/** Runs the primary until SIGTERM/SIGINT and every worker has drained; the exit status. */
export async function runPrimary(options: PrimaryOptions): Promise<number> {
  const { log, workers: count } = options;
  await options.prepare();
  const aggregator = new AggregatorRegistry();
  const audit = new AuditLog(options.audit);
  const listening = new Map<number, string>();
  let stopping = false;
  let failedAtStart = false;

  const send = (worker: Worker, message: WorkerMessage): void => {
    if (worker.isConnected()) worker.send(message);
  };

  function onMessage(worker: Worker, message: unknown): void {
    if (!isWorkerMessage(message)) return;
    switch (message.kubegate) {
      case 'revocation':
        for (const other of Object.values(cluster.workers ?? {})) if (other && other !== worker) send(other, message);
        break;
      case 'metrics-request':
        aggregator.clusterMetrics().then(
          (text) => send(worker, { kubegate: 'metrics', id: message.id, text, contentType: aggregator.contentType }),
          (err: Error) => send(worker, { kubegate: 'metrics', id: message.id, error: err.message }),
        );
        break;
      case 'audit':
        audit.writeBatch(message.batch);
        break;
      case 'listening':
        listening.set(worker.id, message.url);
        if (listening.size === count) log.info({ url: message.url, workers: count }, 'kubegate listening with every worker');
        break;
    }
  }

  function fork(): void {
    const worker = cluster.fork();
    worker.on('message', (message: unknown) => onMessage(worker, message));
  }

  cluster.on('exit', (worker, code, signal) => {
    const started = listening.delete(worker.id);
    if (stopping) return;
    if (!started) {
      // It never came up (a bad setting, a port in use): the others would fail the same way.
      failedAtStart = true;
      log.error({ worker: worker.id, code, signal }, 'a worker failed to start; stopping');
      stop();
      return;
    }
    log.error({ worker: worker.id, code, signal }, 'a worker exited; starting another');
    setTimeout(() => stopping || fork(), RESTART_DELAY_MS).unref();
  });

  let stopCheck: () => void = () => {};
  const exited = new Promise<void>((resolve) => {
    stopCheck = (): void => {
      if (stopping && Object.keys(cluster.workers ?? {}).length === 0) resolve();
    };
    // A worker leaves `cluster.workers` once it has exited and its channel closed, after its
    // last messages (audit lines) were read.
    cluster.on('exit', () => setImmediate(stopCheck));
    cluster.on('disconnect', () => setImmediate(stopCheck));
  });

  function stop(signal?: string): void {
    if (stopping) return;
    stopping = true;
    if (signal) log.info({ signal, workers: Object.keys(cluster.workers ?? {}).length }, 'shutting down every worker');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    stopCheck();
  }
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));

  log.info({ workers: count }, 'starting workers');
  for (let i = 0; i < count; i++) fork();
  await exited;
  await audit.close();
  return failedAtStart ? 1 : 0;
}
