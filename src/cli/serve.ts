/** `kubegate serve`: runs the gateway until SIGTERM/SIGINT. */
import { loadGatewayConfig, SERVE_COMMAND } from '../config/gateway-config.js';
import { startGateway } from '../gateway.js';
import { createLogger } from '../log.js';
import { runUntilSignal } from './until-signal.js';

export const spec = SERVE_COMMAND;

export async function run(argv: string[]): Promise<number> {
  const config = loadGatewayConfig(argv, process.env);
  const log = createLogger(config.logLevel);
  const gateway = await startGateway(config, log);
  await runUntilSignal(gateway, log);
  return 0;
}
