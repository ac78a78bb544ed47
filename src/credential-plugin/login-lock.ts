/**
 * A lock file around logging in, so two kubectl processes that both miss the cache make one token
 * between them: the second waits, then finds the first one's credential in the cache.
 */
import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import { removeFile } from './cache.js';

/** A holder that died (or a prompt left unanswered) frees the lock after this long. */
const STALE_MS = 120_000;
const POLL_MS = 100;

export interface LockOptions {
  /** Give up waiting after this long and go ahead unlocked (a login is still correct, only wasteful). */
  maxWaitMs: number;
  /** Called while waiting: true when the cache now holds what we came for. */
  satisfied: () => boolean;
}

/**
 * Runs `fn` holding `lockPath`. While another process holds it, polls `satisfied` and returns
 * undefined as soon as it says the other process did the work.
 */
export async function withLoginLock<T>(lockPath: string, options: LockOptions, fn: () => Promise<T>): Promise<T | undefined> {
  const deadline = Date.now() + options.maxWaitMs;
  for (;;) {
    if (tryCreate(lockPath)) {
      try {
        return await fn();
      } finally {
        removeFile(lockPath);
      }
    }
    if (options.satisfied()) return undefined;
    if (isStale(lockPath)) {
      removeFile(lockPath);
      continue;
    }
    if (Date.now() > deadline) return fn();
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Creates the lock file; false when someone else holds it. */
function tryCreate(path: string): boolean {
  try {
    const fd = openSync(path, 'wx', 0o600);
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

function isStale(path: string): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs > STALE_MS;
  } catch {
    return false; // gone: the next attempt takes it
  }
}
