/** A `TokenAuthenticator` decorator that times each lookup (the verdict cache's misses). */
import type { TokenAuthenticator } from './identity.js';

/** Something that starts a timer and returns its stop (prom-client's `Histogram.startTimer`). */
export interface LookupTimer {
  startTimer(): () => void;
}

export function timedAuthenticator(inner: TokenAuthenticator, timer: LookupTimer): TokenAuthenticator {
  return {
    async authenticate(token) {
      const end = timer.startTimer();
      try {
        return await inner.authenticate(token);
      } finally {
        end();
      }
    },
  };
}
