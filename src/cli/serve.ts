/** `kubegate serve`: runs the gateway until SIGTERM/SIGINT; with `--workers N`, N of them sharing the listener. */
import cluster from 'node:cluster';
import { loadGatewayConfig, SERVE_COMMAND } from '../config/gateway-config.js';
import { auditOptions, prepareGateway, startGateway } from '../gateway.js';
import { createLogger } from '../log.js';
import { runPrimary } from '../workers/primary.js';
import { runUntilSignal } from './until-signal.js';

export const spec = SERVE_COMMAND;

export async function run(argv: string[]): Promise<number> {
  const config = loadGatewayConfig(argv, process.env);
  if (config.workers > 1 && cluster.isPrimary) {
    const log = createLogger(config.logLevel).child({ role: 'primary' });
    return runPrimary({ workers: config.workers, log, audit: auditOptions(config), prepare: () => prepareGateway(config, log) });
  }
  const log = cluster.isWorker ? createLogger(config.logLevel).child({ worker: cluster.worker!.id }) : createLogger(config.logLevel);
  const gateway = await startGateway(config, log, { worker: cluster.worker?.id });
  await runUntilSignal(gateway, log);
  // A worker's IPC channel would keep it alive: drained, it lets go so it can exit.
  cluster.worker?.disconnect();
  return 0;
}
