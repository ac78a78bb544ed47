/** `kubegate serve`: runs the gateway until SIGTERM/SIGINT. */
import { gatewayHelp, loadGatewayConfig } from '../config/gateway-config.js';
import { startGateway } from '../gateway.js';
import { createLogger } from '../log.js';
import { runUntilSignal } from './until-signal.js';

export const serveCommand = {
  summary: 'run the gateway (HTTPS API, proxy, web UI)',
  async run(argv: string[]): Promise<number | void> {
    if (argv.includes('--help') || argv.includes('-h')) {
      process.stdout.write(gatewayHelp());
      return 0;
    }
    const config = loadGatewayConfig(argv, process.env);
    const log = createLogger(config.logLevel);
    const gateway = await startGateway(config, log);
    await runUntilSignal(gateway, log);
    return 0;
  },
};
