/**
 * The composition root: builds the gateway's parts from its configuration and wires them
 * together (store and revocation bus, certificates, token authentication, the management API
 * with the web UI, the proxy) behind one HTTP(S) server. It decides nothing itself.
 */
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createApiApp } from './api/app.js';
import type { ApiContext } from './api/context.js';
import { bearerAuthenticator } from './auth/bearer-authenticator.js';
import { BAD_TOKENS_PER_ADDRESS, FailureThrottle } from './auth/failure-throttle.js';
import { IdTokenAuthenticator } from './auth/id-token-authenticator.js';
import { LastUsedRecorder } from './auth/last-used.js';
import { LocalUsers } from './auth/local-users.js';
import { PasswordLogin } from './auth/login.js';
import { OidcIdentityProvider } from './auth/oidc/oidc-identity-provider.js';
import { PgRevocationBus } from './auth/pg-revocation-bus.js';
import { LocalRevocationBus, type RevocationBus } from './auth/revocations.js';
import { StoreTokenAuthenticator } from './auth/store-authenticator.js';
import { timedAuthenticator } from './auth/timed-authenticator.js';
import { TokenIssuer } from './auth/token-issuer.js';
import { CachedTokenAuthenticator, FAILURE_TTL_MS } from './auth/verdict-cache.js';
import { bootstrapAdmin } from './bootstrap.js';
import { SERVE_COMMAND, type GatewayConfig } from './config/gateway-config.js';
import { settingName } from './config/settings.js';
import { ensureDir } from './ensure-dir.js';
import { tightenOwnedDir, tightenOwnedFile } from './file-modes.js';
import { loadKeyRing } from './encryption-key-file.js';
import type { KeyRing } from './store/credential-sealer.js';
import { closeSync, openSync } from 'node:fs';
import { ConfigError, GatewayError, notFound } from './errors.js';
import { writeStatusToSocket } from './http/render-error.js';
import { RequestTracker } from './http/request-tracker.js';
import { createGatewayServer, listen } from './http/server.js';
import { drainServer } from './http/shutdown.js';
import { expressOverHttp2 } from './http/express-over-http2.js';
import { closeConnectionAfter } from './http/http2-compat.js';
import { proxyTrust } from './http/trust-proxy.js';
import { AuditLog, type AuditOptions } from './observability/audit-log.js';
import { GatewayMetrics } from './observability/metrics.js';
import { ClusterHealth } from './clusters/health.js';
import { probeCluster } from './clusters/probe.js';
import { PROXY_PREFIX } from './proxy/cluster-path.js';
import { OpenStreams } from './proxy/open-streams.js';
import { streamRevoker } from './auth/stream-revocation.js';
import { createProxyHandler } from './proxy/handler.js';
import { openPostgresStore } from './store/postgres.js';
import { openSqliteStore } from './store/sqlite.js';
import type { Store } from './store/store.js';
import { ensureServingMaterial, type ServingMaterial } from './tls/certificates.js';
import { uiRoutes } from './ui/routes.js';
import { ClusterDirectory } from './upstream/cluster-directory.js';
import { acceptAgent, isAgentConnectPath } from './agents/accept-agent.js';
import { AgentDirectory } from './agents/agent-directory.js';
import { LocalAgents } from './agents/local-agents.js';
import { PeerMesh } from './agents/peer-mesh.js';
import { randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { WorkerLink } from './workers/worker-link.js';

/** Replicas may start before their database (docker compose): wait this long for it. */
const DATABASE_WAIT_MS = 60_000;

export interface Gateway {
  /** The listener (TLS with h2 and HTTP/1.1 by ALPN, or HTTP/1.1 only). */
  server: Server;
  /** The base URL the server listens on (the real port when `listen` asked for 0). */
  url: string;
  store: Store;
  /** The verdict cache (for tests and metrics). */
  cache: CachedTokenAuthenticator;
  caPem: string | undefined;
  /** Stops accepting, lets in-flight requests finish up to the shutdown timeout, closes the store. */
  close(): Promise<void>;
}

export interface GatewayOptions {
  /** Where a generated admin password is shown; defaults to stderr. */
  announce?: (line: string) => void;
  clock?: () => number;
  /** One of `--workers` processes (node:cluster), with its id: revocations, metrics and audit lines go through the primary. */
  worker?: number;
}

/**
 * The store and the bus that carries revocations to every verdict cache: embedded SQLite with the
 * in-process bus (one replica), or PostgreSQL with LISTEN/NOTIFY (every replica sharing it).
 */
/**
 * The key ring for cluster credentials: `--encryption-key-file`, or `<data dir>/encryption.key`;
 * either is generated 0600 when missing (never overwritten). Replicas on one PostgreSQL must be
 * given the same file.
 */
async function keyRing(config: GatewayConfig, log: Logger): Promise<KeyRing> {
  const s = SERVE_COMMAND.settings;
  let path = config.encryptionKeyFile;
  if (!path) {
    const setting = settingName(s.dataDir);
    await ensureDir(config.dataDir).catch((err: NodeJS.ErrnoException) => {
      throw new ConfigError(`${setting}: cannot create "${config.dataDir}": ${err.code ?? err.message}`);
    });
    await tightenOwnedDir(config.dataDir, setting);
    path = join(config.dataDir, 'encryption.key');
  }
  const { ring, generated } = await loadKeyRing(path, settingName(s.encryptionKeyFile), { generate: true });
  if (generated) log.info({ path }, 'generated the key that encrypts cluster credentials at rest; back it up (without it they cannot be read)');
  return ring;
}

async function openStore(config: GatewayConfig, log: Logger): Promise<{ store: Store; revocations: RevocationBus & { close?(): Promise<void> } }> {
  const sealer = await keyRing(config, log);
  const opened = await openStoreWith(config, log, sealer);
  // Credentials an older version stored in clear are sealed now; other keys wait for a re-encrypt.
  const sealed = await opened.store.reencryptCredentials({ onlyClear: true });
  if (sealed > 0) log.info({ clusters: sealed, key: sealer.activeKeyId }, 'encrypted cluster credentials stored in clear');
  return opened;
}

async function openStoreWith(config: GatewayConfig, log: Logger, sealer: KeyRing): Promise<{ store: Store; revocations: RevocationBus & { close?(): Promise<void> } }> {
  if (config.databaseUrl) {
    const url = config.databaseUrl;
    const store = await openPostgresStore(url, {
      poolSize: config.databasePoolSize,
      waitMs: DATABASE_WAIT_MS,
      onWait: (err) => log.warn({ err: (err as Error).message }, 'waiting for PostgreSQL'),
      onIdleError: (err) => log.debug({ err: err.message }, 'an idle PostgreSQL connection failed; the pool replaces it'),
      sealer,
    });
    return { store, revocations: await PgRevocationBus.start({ url, log }) };
  }
  const setting = settingName(SERVE_COMMAND.settings.dataDir);
  await ensureDir(config.dataDir).catch((err: NodeJS.ErrnoException) => {
    throw new ConfigError(`${setting}: cannot create "${config.dataDir}": ${err.code ?? err.message}`);
  });
  await tightenOwnedDir(config.dataDir, setting);
  const path = join(config.dataDir, 'kubegate.db');
  // Created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the database's mode.
  try {
    closeSync(openSync(path, 'a', 0o600));
  } catch (err) {
    throw new ConfigError(`${setting}: cannot create "${path}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  await tightenOwnedFile(path, setting);
  const store = await openSqliteStore(path, { sealer });
  await tightenOwnedDir(config.dataDir, setting);
  return { store, revocations: new LocalRevocationBus() };
}

/**
 * The serving certificate (generated, or the operator's). An unreadable file or a bad PEM is the
 * operator's to fix: a `ConfigError` naming the flag (one line, exit 2), not a stack trace.
 */
async function servingMaterial(config: GatewayConfig): Promise<ServingMaterial> {
  const s = SERVE_COMMAND.settings;
  const flags = config.tlsCert ? `--tls-cert/--tls-key (${s.tlsCert.env}/${s.tlsKey.env})` : settingName(s.certsDir);
  try {
    const material = await ensureServingMaterial({
      certsDir: config.certsDir,
      // URL.hostname keeps an IPv6 literal's brackets (`[::1]`); the certificate needs the bare address as an IP SAN.
      publicHost: config.publicUrl.hostname.replace(/^\[(.*)\]$/, '$1'),
      tlsCert: config.tlsCert,
      tlsKey: config.tlsKey,
    });
    // The generated CA key and serving key live here: the gateway's alone.
    if (!config.tlsCert) await tightenOwnedDir(config.certsDir, settingName(s.certsDir));
    return material;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code !== 'string' || !/^(E[A-Z]+$|ERR_OSSL)/.test(code)) throw err;
    throw new ConfigError(`${flags}: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** Where peers reach this replica by default: the bound address, or this host's first external IPv4 address for a wildcard. */
function derivedPeerUrl(bound: string, listenHost: string): URL {
  const url = new URL(bound);
  if (listenHost === '0.0.0.0' || listenHost === '::' || listenHost === '') {
    const external = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal);
    if (external) url.hostname = external.address;
  }
  return url;
}

/** Ends agent sessions whose cluster is gone or no longer takes agents (after a change here or on a peer). */
function dropStrayAgents(store: Store, agents: LocalAgents, log: Logger): void {
  for (const id of agents.clusterIds()) {
    store.getCluster(id).then(
      (c) => {
        if (!c || c.connection !== 'agent') agents.drop((s) => s.clusterId === id);
      },
      (err: unknown) => log.warn({ err: (err as Error).message, cluster: id }, 'could not check an agent cluster'),
    );
  }
}

/** Where audit lines go (docs/reference/configuration.md). */
export function auditOptions(config: GatewayConfig): AuditOptions {
  return { path: config.auditLog, maxBytes: config.auditLogMaxBytes, maxFiles: config.auditLogMaxFiles };
}

/**
 * What `--workers` does once, in the primary, before the workers start: migrations and the
 * serving certificate. Each worker then finds them done. The first administrator is created by
 * the workers once they are bound (the store's unique username lets exactly one create it), so a
 * start that cannot bind has not shown a generated password for nothing (issue 15, bug 6).
 */
export async function prepareGateway(config: GatewayConfig, log: Logger): Promise<void> {
  const { store, revocations } = await openStore(config, log);
  try {
    const tls = config.plainHttp ? undefined : await servingMaterial(config);
    if (tls?.generated) log.info({ certsDir: config.certsDir }, 'generated the gateway CA and serving certificate');
  } finally {
    await revocations.close?.();
    await store.close();
  }
}

/** A value sealed with a key this replica lacks is the operator's to fix (share the key file): one line, exit 2. */
function keyFileError(err: unknown): never {
  if (err instanceof GatewayError && /encrypted with key|does not open with key/.test(err.message)) {
    throw new ConfigError(`${settingName(SERVE_COMMAND.settings.encryptionKeyFile)}: ${err.message}`);
  }
  throw err;
}

/** Starts a gateway and resolves once it listens. */
export async function startGateway(config: GatewayConfig, log: Logger, options: GatewayOptions = {}): Promise<Gateway> {
  const opened = await openStore(config, log);
  try {
    // Before anything else starts: a replica whose keys cannot open the shared secret stops here.
    const peerSecret = config.databaseUrl ? await opened.store.ensureSecret('peer-secret', randomBytes(32).toString('base64url')).catch(keyFileError) : undefined;
    return await startOnStore(opened, peerSecret, config, log, options);
  } catch (err) {
    // A start that fails must not leave the database pool or the LISTEN connection holding the process open.
    await opened.revocations.close?.().catch(() => {});
    await opened.store.close().catch(() => {});
    throw err;
  }
}

async function startOnStore(
  opened: Awaited<ReturnType<typeof openStore>>,
  peerSecret: string | undefined,
  config: GatewayConfig,
  log: Logger,
  options: GatewayOptions,
): Promise<Gateway> {
  const { store } = opened;
  const tls = config.plainHttp ? undefined : await servingMaterial(config);
  if (tls?.generated) log.info({ certsDir: config.certsDir }, 'generated the gateway CA and serving certificate');

  const metrics = new GatewayMetrics();
  const worker = options.worker !== undefined ? new WorkerLink(metrics.registry) : undefined;
  // Workers on SQLite pass revocations through the primary; PostgreSQL's bus reaches every process itself.
  const revocations: RevocationBus & { close?(): Promise<void> } = worker && !config.databaseUrl ? worker.revocationBus() : opened.revocations;
  const sso = config.oidc && new OidcIdentityProvider({ config: config.oidc, store, revocations, log, clock: options.clock });
  const kubegateTokens = timedAuthenticator(new StoreTokenAuthenticator(store, options.clock), metrics.storeLookup);
  // Bearer ID tokens only with --oidc-accept-id-tokens; the cache in front serves both kinds.
  const idTokens = sso?.acceptsBearerTokens ? new IdTokenAuthenticator(sso, store, log) : undefined;
  const cache = new CachedTokenAuthenticator(bearerAuthenticator(kubegateTokens, idTokens), {
    successTtlMs: config.authCacheTtlMs,
    failureTtlMs: FAILURE_TTL_MS,
    maxEntries: config.authCacheSize,
    clock: options.clock,
  });
  metrics.observeVerdictCache(cache);
  const localAgents = new LocalAgents();
  const agents = new AgentDirectory(localAgents);
  const clusters = new ClusterDirectory(store, undefined, agents);
  await clusters.loadAll().catch(keyFileError);
  metrics.observeAgentClusters(() => clusters.agentClusterIds().map((id) => [id, agents.status(id).connected]));
  const health = new ClusterHealth({ probe: (id) => probeCluster(id, clusters.get(id)), clusterIds: () => clusters.ids(), log });
  metrics.observeClusterHealth(() => health.states());
  // An agent connecting (or reporting a new API address) is probed at once, not at the next round.
  agents.on('change', (id: string) => void health.check(id));
  const openStreams = new OpenStreams();
  const endRevokedStreams = streamRevoker(openStreams, store, log, options.clock);
  revocations.subscribe((event) => {
    metrics.revocations.inc({ type: event.type });
    cache.evict(event);
    endRevokedStreams(event);
    // A rotated agent token disconnects the agents that used it; a deleted cluster, its agents.
    if (event.type === 'token') localAgents.drop((s) => s.tokenId === event.tokenId);
    if (event.type === 'cluster' || event.type === 'all') dropStrayAgents(store, localAgents, log);
    // Cluster records live in every replica's memory: follow changes made anywhere.
    const reload = event.type === 'cluster' ? clusters.refresh(event.clusterId) : event.type === 'all' ? clusters.loadAll() : undefined;
    reload?.catch((err: unknown) => log.warn({ err: (err as Error).message }, 'could not reload clusters; they reload on the next change'));
  });
  // Workers hand their batches to the primary, which alone writes (and rotates) the audit file.
  const audit = new AuditLog({ ...auditOptions(config), forward: worker && ((batch) => worker.forwardAudit(batch)), worker: options.worker });
  const trust = proxyTrust(config.trustProxy);
  const lastUsed = new LastUsedRecorder(store, log);
  const requests = new RequestTracker();
  let draining = false;
  let starting = true;
  /** The links to the other replicas (PostgreSQL only); set once this one listens. */
  let peers: PeerMesh | undefined;
  let closing: Promise<void> | undefined;

  const ctx: ApiContext = {
    store,
    log,
    authenticator: cache,
    revocations,
    clusters,
    agents,
    health,
    tokens: new TokenIssuer(store, options.clock),
    lastUsed,
    publicUrl: config.publicUrl,
    caPem: tls?.caPem,
    isDraining: () => draining,
    isStarting: () => starting,
    audit,
    metrics,
    trust,
    metricsOpen: config.metricsOpen,
    servesTls: tls !== undefined,
    metricsToken: config.metricsTokenFile ? (await readFile(config.metricsTokenFile, 'utf8')).trim() : undefined,
    scrapeMetrics: worker && (() => worker.scrape()),
    bodyTimeoutMs: config.bodyTimeoutMs,
    builtInClusterRoles: config.builtInClusterRoles,
    login: new PasswordLogin({
      providers: [new LocalUsers(store, { adminOnly: !config.localLogin })],
      onAttempt: (ok) => metrics.logins.inc({ result: ok ? 'ok' : 'failed' }),
      clock: options.clock,
    }),
    localLogin: config.localLogin,
    sso,
  };
  const proxy = createProxyHandler({
    authenticator: cache,
    clusters,
    lastUsed,
    badTokens: new FailureThrottle({ ...BAD_TOKENS_PER_ADDRESS, clock: options.clock }),
    trust,
    observers: { audit, metrics, trust, health },
    requests,
    log,
    openStreams,
  });
  const app = createApiApp(ctx, [uiRoutes(ctx)]);
  const server = createGatewayServer(
    {
      tls,
      maxHeaderBytes: config.maxHeaderBytes,
      maxHeaderLines: config.maxHeaderLines,
      headerTimeoutMs: config.headerTimeoutMs,
      http2: config.http2 ? { maxConcurrentStreams: config.http2MaxStreams } : undefined,
    },
    {
      proxy,
      app,
      appOverHttp2: expressOverHttp2(app),
      isProxyPath: (url) => url.startsWith(PROXY_PREFIX),
      tunnels: {
        matches: (url) => isAgentConnectPath(url) || PeerMesh.matches(url),
        handleUpgrade: (req, socket) =>
          PeerMesh.matches(req.url!)
            ? peers
              ? peers.accept(req, socket, (s) => requests.trackTunnel(s))
              : writeStatusToSocket(socket, notFound('this gateway has no peers (it runs without --database-url)'))
            : acceptAgent(req, socket, { authenticator: cache, store, agents: localAgents, log, track: (s) => requests.trackTunnel(s) }),
      },
      onRequest: (req, res) => {
        requests.track(res);
        // While draining, every answer closes its connection so clients move to another replica.
        if (draining) closeConnectionAfter(req, res);
      },
    },
  );
  const url = await listen(server.listener, config.listen, { settingName: settingName(SERVE_COMMAND.settings.listen), secure: tls !== undefined });
  // Only once the port is ours (issue 15, bug 6): a start that fails before (the port taken, a bad
  // certificate) must not have used up the one showing of a generated password.
  await bootstrapAdmin(store, log, config.adminPassword, options.announce ?? ((l) => process.stderr.write(l)));
  starting = false;
  // Several replicas (PostgreSQL): link to the others, so an agent connected to any serves every one.
  // Not from a --workers worker: the workers share one URL, so no peer could reach a given one.
  if (config.databaseUrl && !worker) {
    const peerUrl = (config.peerUrl ?? derivedPeerUrl(url, config.listen.host)).href.replace(/\/$/, '');
    peers = new PeerMesh({
      store,
      replicaId: `r-${randomBytes(8).toString('hex')}`,
      peerUrl,
      secret: peerSecret!,
      local: localAgents,
      log,
    });
    agents.usePeers(peers);
    await peers.start();
    log.info({ peerUrl }, 'linking with the other replicas');
  }
  // Asked for any free port without --public-url: kubeconfigs carry the port actually bound (the
  // URL object is shared by every route that writes it, so it is changed in place).
  if (config.publicUrlFromListen && config.listen.port === 0) ctx.publicUrl.port = new URL(url).port;
  const kubeconfigUrl = ctx.publicUrl.href.replace(/\/$/, '');
  log.info({ url, publicUrl: kubeconfigUrl, from: config.publicUrlFromListen ? 'the --listen port' : '--public-url' }, `kubegate listening on ${url}; kubeconfigs will point at ${kubeconfigUrl}`);
  health.start();
  worker?.listening(url);

  return {
    server: server.listener,
    url,
    store,
    cache,
    caPem: tls?.caPem,
    close() {
      // Idempotent: a second call waits for the first shutdown.
      closing ??= (async () => {
        draining = true;
        health.close();
        await drainServer(server, requests, { graceMs: config.shutdownGraceMs, timeoutMs: config.shutdownTimeoutMs });
        await peers?.close();
        localAgents.close();
        clusters.close();
        await lastUsed.close();
        await revocations.close?.();
        await store.close();
        // A response's 'close' (which writes its audit line) fires on a tick after its socket closed,
        // possibly after the server's: let those run before the audit log closes, or they throw.
        await new Promise((resolve) => setImmediate(resolve));
        await audit.close();
      })();
      return closing;
    },
  };
}
