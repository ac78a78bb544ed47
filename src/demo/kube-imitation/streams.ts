/**
 * Bookkeeping of long-lived answers (watch, followed logs, exec, SPDY tunnels) so tests can see
 * leaks (`activeStreams()`) and `stop()` can end every one of them.
 */

export class StreamTracker {
  private readonly closers = new Set<() => void>();

  /** Registers an open stream; returns the function to call once it has ended (idempotent). */
  open(close: () => void): () => void {
    const entry = (): void => close();
    this.closers.add(entry);
    return () => {
      this.closers.delete(entry);
    };
  }

  count(): number {
    return this.closers.size;
  }

  /** Ends every open stream (used by `stop()`). */
  closeAll(): void {
    for (const close of [...this.closers]) {
      this.closers.delete(close);
      try {
        close();
      } catch {
        // Already gone: nothing left to end.
      }
    }
  }
}
