/**
 * `kubegate webhook` configuration: its settings table, read and validated once here, files
 * included. Everything else receives a `WebhookConfig`. Throws `ConfigError` (exit 2, one line).
 */
import { defineCommand, readSettings } from '../config/settings.js';
import {
  parseBaseUrl,
  parseClusterId,
  parseListen,
  parseLogLevel,
  parsePath,
  readCertificateFile,
  readTokenFile,
  type ListenAddress,
} from '../config/values.js';

export interface WebhookConfig {
  gateway: URL;
  clusterId: string;
  /** The cluster's agent token (the sync credential). */
  agentToken: string;
  /** PEM of the CA that signs the gateway's certificate; undefined to trust the system roots. */
  gatewayCaPem: string | undefined;
  listen: ListenAddress;
  stateDir: string;
  logLevel: string;
}

/** `kubegate webhook` and its settings. */
export const WEBHOOK_COMMAND = defineCommand({
  name: 'webhook',
  usage: ['webhook --gateway URL --cluster ID --agent-token-file F [flags]'],
  description: [
    'Runs kube-api-auth: the TokenReview webhook kube-apiserver calls at http://<listen>/v1/authenticate.',
    "It answers from a local copy of the cluster's token hashes, synced from the gateway and kept in",
    '--state-dir, so it keeps working while the gateway is unreachable.',
  ].join('\n'),
  settings: {
    gateway: { flag: 'gateway', required: true, help: 'the gateway URL, e.g. https://kubegate.example.com', parse: parseBaseUrl },
    cluster: { flag: 'cluster', required: true, help: "this cluster's id at the gateway", parse: parseClusterId },
    agentToken: { flag: 'agent-token-file', required: true, help: "file holding the cluster's agent token", parse: readTokenFile },
    gatewayCa: { flag: 'gateway-ca-file', help: "CA certificate (PEM) that signs the gateway's certificate", parse: readCertificateFile },
    listen: { flag: 'listen', default: '127.0.0.1:6440', help: 'address for kube-apiserver to call', parse: parseListen },
    stateDir: { flag: 'state-dir', default: '/var/lib/kube-api-auth', help: 'where the synced copy is kept', parse: parsePath },
    logLevel: { flag: 'log-level', default: 'info', help: 'trace, debug, info, warn, error', parse: parseLogLevel },
  },
});

/** Parses `kubegate webhook` flags. */
export function loadWebhookConfig(argv: readonly string[]): WebhookConfig {
  const v = readSettings(WEBHOOK_COMMAND, argv);
  return {
    gateway: v.gateway,
    clusterId: v.cluster,
    agentToken: v.agentToken,
    gatewayCaPem: v.gatewayCa,
    listen: v.listen,
    stateDir: v.stateDir,
    logLevel: v.logLevel,
  };
}
