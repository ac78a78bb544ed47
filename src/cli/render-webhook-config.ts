/** `kubegate render webhook-config`: prints kube-apiserver's TokenReview webhook config. */
import { defineCommand, readSettings } from '../config/settings.js';
import { parseBaseUrl } from '../config/values.js';
import { DEFAULT_WEBHOOK_SERVER, renderWebhookConfig } from '../render/webhook-config.js';

export const spec = defineCommand({
  name: 'render webhook-config',
  usage: ['render webhook-config [--server URL]'],
  description: 'Prints /etc/kubernetes/kube-api-authn-webhook.yaml, with the kube-apiserver flags as comments.',
  settings: {
    server: { flag: 'server', default: DEFAULT_WEBHOOK_SERVER, help: 'the webhook URL', parse: parseBaseUrl },
  },
});

export async function run(argv: string[]): Promise<number> {
  const v = readSettings(spec, argv);
  process.stdout.write(renderWebhookConfig(v.server.href));
  return 0;
}
