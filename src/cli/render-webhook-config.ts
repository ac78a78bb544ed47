/** `kubegate render webhook-config`: prints kube-apiserver's TokenReview webhook config. */
import { parseBaseUrl } from '../config/values.js';
import { flagsHelp, parseFlags } from '../render/flags.js';
import { DEFAULT_WEBHOOK_SERVER, renderWebhookConfig } from '../render/webhook-config.js';

const FLAGS = { server: { help: `the webhook URL (default ${DEFAULT_WEBHOOK_SERVER})` } };

export const renderWebhookConfigCommand = {
  summary: 'print the kube-apiserver webhook config (kube-api-authn-webhook.yaml)',
  async run(argv: string[]): Promise<number | void> {
    if (argv.includes('--help') || argv.includes('-h')) {
      process.stdout.write(flagsHelp('kubegate render webhook-config [--server URL]', 'Prints /etc/kubernetes/kube-api-authn-webhook.yaml, with the kube-apiserver flags as comments.', FLAGS));
      return 0;
    }
    const values = parseFlags(argv, FLAGS);
    const server = values.server === undefined ? undefined : parseBaseUrl('--server', values.server).href;
    process.stdout.write(renderWebhookConfig(server));
    return 0;
  },
};
