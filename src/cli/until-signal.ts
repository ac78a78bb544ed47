/** Keeps a long-running command alive until SIGTERM or SIGINT, then closes it gracefully. */
import type { Logger } from 'pino';

export function runUntilSignal(service: { close(): Promise<void> }, log: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'shutting down');
      void service.close().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
