/**
 * What a graceful shutdown waits for: ordinary in-flight requests, which finish on their own, and
 * long-running ones (watches, log follows, tunnels), which never do and are closed at the end.
 */
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** How long shutdown waits for destroyed streams to report closed. */
const CLOSE_WAIT_MS = 1_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export class RequestTracker {
  private ordinary = 0;
  private readonly longRunning = new Set<ServerResponse | Duplex>();
  private readonly counted = new WeakSet<ServerResponse>();
  private idleWaiters: Array<() => void> = [];

  /** Counts a request until its response closes. */
  track(res: ServerResponse): void {
    this.ordinary++;
    this.counted.add(res);
    res.on('close', () => {
      this.longRunning.delete(res);
      if (this.counted.delete(res)) this.finished();
    });
  }

  /** The request turned out to be long-running (a watch, a followed log): shutdown ends it. */
  markLongRunning(res: ServerResponse): void {
    if (this.counted.delete(res)) this.finished();
    if (!res.destroyed) this.longRunning.add(res);
  }

  /** An upgraded socket (exec, attach, port-forward): shutdown ends it. */
  trackTunnel(socket: Duplex): void {
    this.longRunning.add(socket);
    socket.once('close', () => this.longRunning.delete(socket));
  }

  /** Ordinary requests still running. */
  inFlight(): number {
    return this.ordinary;
  }

  /** Open watches, follows and tunnels. */
  streams(): number {
    return this.longRunning.size;
  }

  /** Resolves once no ordinary request is in flight. */
  idle(): Promise<void> {
    if (this.ordinary === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Ends every long-running stream: clients (kubectl) re-establish them through another replica.
   * Resolves once each has emitted 'close', so their closing audit lines are written (listeners
   * registered later on the same event, such as the exchange's, have run by then).
   */
  closeStreams(): Promise<void> {
    const closing = [...this.longRunning].map((s) => {
      const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
      s.destroy();
      return closed;
    });
    this.longRunning.clear();
    return Promise.race([Promise.all(closing).then(() => {}), sleep(CLOSE_WAIT_MS)]);
  }

  private finished(): void {
    this.ordinary--;
    if (this.ordinary === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
