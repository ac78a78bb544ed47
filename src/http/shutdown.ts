/**
 * Graceful shutdown (issue 6). On SIGTERM `/readyz` already fails (the caller set draining);
 * then: keep serving for `graceMs` so the balancer notices; stop accepting; let ordinary
 * in-flight requests finish, up to `timeoutMs`; then end watches, follows and tunnels (kubectl
 * re-establishes them through another replica) and close what is left.
 */
import type { Server } from 'node:http';
import type { RequestTracker } from './request-tracker.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export interface DrainOptions {
  graceMs: number;
  timeoutMs: number;
}

/** Drains the server; resolves when every connection is closed. */
export async function drainServer(server: Server, requests: RequestTracker, options: DrainOptions): Promise<void> {
  await sleep(options.graceMs);
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  await Promise.race([requests.idle(), sleep(options.timeoutMs)]);
  requests.closeStreams();
  server.closeAllConnections();
  await closed;
}
