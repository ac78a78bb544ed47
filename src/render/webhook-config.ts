/**
 * `kubegate render webhook-config`: the kubeconfig-format file kube-apiserver reads with
 * `--authentication-token-webhook-config-file` to ask kube-api-auth about bearer tokens (docs/reference/webhook.md).
 */
import { toYamlStream } from './documents.js';

export const WEBHOOK_CONFIG_PATH = '/etc/kubernetes/kube-api-authn-webhook.yaml';
export const DEFAULT_WEBHOOK_SERVER = 'http://127.0.0.1:6440/v1/authenticate';
/** Short, so a revoked token stops working on the direct door soon after the webhook hears of it. */
export const WEBHOOK_CACHE_TTL = '10s';

const COMMENT = `kube-api-auth: kube-apiserver's TokenReview webhook config for kubegate's authorized cluster endpoint.
Save as ${WEBHOOK_CONFIG_PATH} on every control-plane node and add to kube-apiserver:
  --authentication-token-webhook-config-file=${WEBHOOK_CONFIG_PATH}
  --authentication-token-webhook-version=v1
  --authentication-token-webhook-cache-ttl=${WEBHOOK_CACHE_TTL}
The cache TTL is short on purpose: kube-apiserver keeps each verdict that long, so a revoked token
(deleted, user disabled, membership removed) keeps working on the direct door until its cached
verdict expires. The webhook hears of a revocation within 5 s; the default TTL (2m) would add up to
two minutes. The webhook answers from memory in microseconds, so a short TTL costs little.
The webhook listens on 127.0.0.1 only (plain HTTP never leaves the node); kube-apiserver must run with
host networking, as static-pod control planes do.`;

/** The webhook config pointing at `server` (kube-api-auth on this node by default). */
export function renderWebhookConfig(server = DEFAULT_WEBHOOK_SERVER): string {
  return toYamlStream([
    {
      comment: COMMENT,
      value: {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'kube-api-auth', cluster: { server } }],
        users: [{ name: 'kube-apiserver', user: {} }],
        contexts: [{ name: 'kube-api-auth', context: { cluster: 'kube-api-auth', user: 'kube-apiserver' } }],
        'current-context': 'kube-api-auth',
      },
    },
  ]);
}
