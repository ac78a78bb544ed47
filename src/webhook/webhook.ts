/**
 * Wires `kubegate webhook` together: the saved copy is loaded first (so a restart serves at once
 * with the gateway down), then the server listens, then the background sync starts.
 */
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { ConfigError } from '../errors.js';
import { listen } from '../http/server.js';
import { AuthnCopy } from './authn-copy.js';
import type { WebhookConfig } from './config.js';
import { FeedClient } from './feed-client.js';
import { createWebhookServer } from './server.js';
import { readState, statePath } from './state-file.js';
import { Syncer } from './syncer.js';
import { ensureDir } from '../ensure-dir.js';

export interface Webhook {
  server: Server;
  /** `http://host:port` it listens on. */
  url: string;
  copy: AuthnCopy;
  syncer: Syncer;
  close(): Promise<void>;
}

export interface WebhookOptions {
  clock?: () => number;
  waitSeconds?: number;
  backoff?: { initialMs: number; maxMs: number };
}

/** Starts the webhook; resolves once it listens. Throws `ConfigError` for what the operator must fix. */
export async function startWebhook(config: WebhookConfig, log: Logger, options: WebhookOptions = {}): Promise<Webhook> {
  try {
    await ensureDir(config.stateDir);
  } catch (err) {
    throw new ConfigError(`--state-dir: cannot create ${config.stateDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const copy = new AuthnCopy(config.clusterId, options.clock);
  const saved = readState(config.stateDir, config.clusterId);
  if (saved) {
    copy.restore(saved.snapshot);
    log.info({ stateFile: statePath(config.stateDir), revision: saved.snapshot.revision, ...copy.size, lastSyncedAt: saved.syncedAt }, 'serving the saved copy');
  }

  const server = createWebhookServer(copy, (err) => log.error({ err }, 'review failed'));
  const url = await listen(server, config.listen, { settingName: '--listen', secure: false });

  const client = new FeedClient({ gateway: config.gateway, clusterId: config.clusterId, agentToken: config.agentToken, gatewayCaPem: config.gatewayCaPem });
  const syncer = new Syncer({
    copy,
    client,
    log,
    stateDir: config.stateDir,
    clusterId: config.clusterId,
    gateway: config.gateway.href,
    lastSyncedAt: saved?.syncedAt,
    waitSeconds: options.waitSeconds,
    backoff: options.backoff,
  });
  syncer.start();
  log.info({ url, cluster: config.clusterId, gateway: config.gateway.href }, 'kube-api-auth webhook listening');

  return {
    server,
    url,
    copy,
    syncer,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await syncer.close();
      client.close();
      await closed;
    },
  };
}
