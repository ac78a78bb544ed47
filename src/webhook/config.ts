/**
 * `kubegate webhook` configuration (SPEC §8): flags only, read and validated once here, files
 * included. Everything else receives a `WebhookConfig`. Throws `ConfigError` (exit 2, one line).
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseToken } from '../auth/tokens.js';
import { parseBaseUrl, parseListen, type ListenAddress } from '../config/values.js';
import { ConfigError } from '../errors.js';

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

export const WEBHOOK_FLAGS = {
  gateway: { help: 'the gateway URL, e.g. https://kubegate.example.com (required)' },
  cluster: { help: 'this cluster\'s id at the gateway (required)' },
  'agent-token-file': { help: 'file holding the cluster\'s agent token (required)' },
  'gateway-ca-file': { help: 'CA certificate (PEM) that signs the gateway\'s certificate' },
  listen: { help: 'address for kube-apiserver to call', default: '127.0.0.1:6440' },
  'state-dir': { help: 'where the synced copy is kept', default: '/var/lib/kube-api-auth' },
  'log-level': { help: 'trace, debug, info, warn, error', default: 'info' },
} as const;

const CLUSTER_ID = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

function readText(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`--${flag}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Parses `kubegate webhook` flags. */
export function loadWebhookConfig(argv: readonly string[]): WebhookConfig {
  const options = Object.fromEntries(Object.keys(WEBHOOK_FLAGS).map((f) => [f, { type: 'string' as const }]));
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }) as { values: Record<string, string | undefined> });
  } catch (err) {
    throw new ConfigError((err as Error).message.split('\n')[0]!);
  }
  const required = (flag: keyof typeof WEBHOOK_FLAGS): string => {
    const v = values[flag];
    if (v === undefined || v === '') throw new ConfigError(`--${flag} is required`);
    return v;
  };
  const withDefault = (flag: 'listen' | 'state-dir' | 'log-level'): string => values[flag] ?? WEBHOOK_FLAGS[flag].default;

  const gateway = parseBaseUrl('--gateway', required('gateway'));
  const clusterId = required('cluster');
  if (clusterId.length > 63 || !CLUSTER_ID.test(clusterId)) throw new ConfigError(`--cluster: "${clusterId}" is not a cluster id (a DNS-1123 label)`);
  const tokenFile = required('agent-token-file');
  const agentToken = readText('agent-token-file', tokenFile).trim();
  if (!parseToken(agentToken)) {
    throw new ConfigError(`--agent-token-file: ${tokenFile} does not hold a kubegate token (put the agentToken from cluster registration there)`);
  }
  let gatewayCaPem: string | undefined;
  const caFile = values['gateway-ca-file'];
  if (caFile !== undefined) {
    gatewayCaPem = readText('gateway-ca-file', caFile);
    try {
      new X509Certificate(gatewayCaPem);
    } catch {
      throw new ConfigError(`--gateway-ca-file: ${caFile} is not a PEM certificate`);
    }
  }
  const logLevel = withDefault('log-level');
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`--log-level: "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);

  return {
    gateway,
    clusterId,
    agentToken,
    gatewayCaPem,
    listen: parseListen('--listen', withDefault('listen')),
    stateDir: resolve(withDefault('state-dir')),
    logLevel,
  };
}

/** The `--help` text of `kubegate webhook`. */
export function webhookHelp(): string {
  const lines = [
    'Usage: kubegate webhook --gateway URL --cluster ID --agent-token-file F [flags]',
    '',
    'Runs kube-api-auth: the TokenReview webhook kube-apiserver calls at http://<listen>/v1/authenticate.',
    'It answers from a local copy of the cluster\'s token hashes, synced from the gateway and kept in',
    '--state-dir, so it keeps working while the gateway is unreachable.',
    '',
    'Flags:',
  ];
  for (const [flag, s] of Object.entries(WEBHOOK_FLAGS)) {
    const def = 'default' in s ? ` (default ${s.default})` : '';
    lines.push(`  --${`${flag} VALUE`.padEnd(24)} ${s.help}${def}`);
  }
  return lines.join('\n') + '\n';
}
