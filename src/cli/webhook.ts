/** `kubegate webhook`: runs the kube-api-auth TokenReview webhook until SIGTERM/SIGINT. */
import { createLogger } from '../log.js';
import { loadWebhookConfig, WEBHOOK_COMMAND } from '../webhook/config.js';
import { startWebhook } from '../webhook/webhook.js';
import { runUntilSignal } from './until-signal.js';

export const spec = WEBHOOK_COMMAND;

export async function run(argv: string[]): Promise<number> {
  const config = loadWebhookConfig(argv);
  const log = createLogger(config.logLevel);
  const webhook = await startWebhook(config, log);
  await runUntilSignal(webhook, log);
  return 0;
}
