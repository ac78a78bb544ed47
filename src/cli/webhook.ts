/** `kubegate webhook`: runs the kube-api-auth TokenReview webhook until SIGTERM/SIGINT. */
import { createLogger } from '../log.js';
import { runUntilSignal } from './until-signal.js';
import { loadWebhookConfig, webhookHelp } from '../webhook/config.js';
import { startWebhook } from '../webhook/webhook.js';

export const webhookCommand = {
  summary: 'run the kube-api-auth TokenReview webhook for one cluster',
  async run(argv: string[]): Promise<number | void> {
    if (argv.includes('--help') || argv.includes('-h')) {
      process.stdout.write(webhookHelp());
      return 0;
    }
    const config = loadWebhookConfig(argv);
    const log = createLogger(config.logLevel);
    const webhook = await startWebhook(config, log);
    await runUntilSignal(webhook, log);
    return 0;
  },
};
