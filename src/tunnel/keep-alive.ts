/** Pings an HTTP/2 session of a tunnel, and ends it when the far end stops answering. */
import type { Http2Session } from 'node:http2';
import { PING_INTERVAL_MS, PING_TIMEOUT_MS } from './protocol.js';

/**
 * Both ends ping: a tunnel through a balancer or NAT that silently dropped it would otherwise look
 * alive for as long as TCP keeps trying (minutes), and requests would wait on it instead of
 * failing over. Returns a function that stops the pings.
 */
export function keepSessionAlive(session: Http2Session, intervalMs = PING_INTERVAL_MS, timeoutMs = PING_TIMEOUT_MS): () => void {
  const timer = setInterval(() => {
    if (session.destroyed || session.closed) return;
    const deadline = setTimeout(() => session.destroy(new Error('the tunnel stopped answering pings')), timeoutMs).unref();
    const sent = session.ping((err) => {
      clearTimeout(deadline);
      if (err && !session.destroyed) session.destroy(err);
    });
    if (!sent) clearTimeout(deadline);
  }, intervalMs).unref();
  const stop = (): void => clearInterval(timer);
  session.once('close', stop);
  return stop;
}
