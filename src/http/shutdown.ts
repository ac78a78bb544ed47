/**
 * Graceful shutdown (issue 6). On SIGTERM `/readyz` already fails (the caller set draining);
 * then: keep serving for `graceMs` so the balancer notices; stop accepting; let ordinary
 * in-flight requests finish, up to `timeoutMs`; then end watches, follows and tunnels (kubectl
 * re-establishes them through another replica) and close what is left. HTTP/2 clients get a
 * GOAWAY when the listener closes: they open no new streams there, and the session ends once its
 * streams have.
 */
import type { GatewayServer } from './server.js';
import type { RequestTracker } from './request-tracker.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export interface DrainOptions {
  graceMs: number;
  timeoutMs: number;
}

/** Drains the server; resolves when every connection is closed. */
export async function drainServer(server: GatewayServer, requests: RequestTracker, options: DrainOptions): Promise<void> {
  await sleep(options.graceMs);
  const closed = new Promise<void>((resolve) => server.listener.close(() => resolve()));
  server.closeIdleConnections();
  await Promise.race([requests.idle(), sleep(options.timeoutMs)]);
  const streamsClosed = requests.closeStreams();
  server.closeAllConnections();
  await Promise.all([closed, streamsClosed]);
}
