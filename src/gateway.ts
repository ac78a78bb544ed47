/**
 * Wires the gateway together: store, certificates, authentication, the management API and the
 * proxy, behind one HTTP(S) server. `/k8s/...` goes straight to the proxy handler; everything else
 * to the Express app.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSecureContext } from 'node:tls';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { createApiApp } from './api/app.js';
import { LastUsedRecorder } from './auth/last-used.js';
import { PgRevocationBus } from './auth/pg-revocation-bus.js';
import { LocalRevocationBus, type RevocationBus } from './auth/revocations.js';
import { StoreTokenAuthenticator } from './auth/store-authenticator.js';
import { TokenIssuer } from './auth/token-issuer.js';
import { CachedTokenAuthenticator } from './auth/verdict-cache.js';
import { bootstrapAdmin } from './bootstrap.js';
import type { GatewayConfig } from './config/gateway-config.js';
import { ConfigError } from './errors.js';
import { proxyTrust } from './http/trust-proxy.js';
import { RequestTracker } from './http/request-tracker.js';
import { drainServer } from './http/shutdown.js';
import { FailureThrottle } from './auth/failure-throttle.js';
import { AuditLog } from './observability/audit-log.js';
import { GatewayMetrics } from './observability/metrics.js';
import { readFile } from 'node:fs/promises';
import type { TokenAuthenticator } from './auth/identity.js';
import { ClusterDirectory } from './proxy/cluster-directory.js';
import { PROXY_PREFIX } from './proxy/cluster-path.js';
import { createProxyHandler } from './proxy/handler.js';
import { openPostgresStore } from './store/postgres.js';
import { openSqliteStore } from './store/sqlite.js';
import type { Store } from './store/store.js';
import { ensureServingMaterial, type ServingMaterial } from './tls/certificates.js';
import { ensureDir } from './ensure-dir.js';

export interface Gateway {
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
}

/**
 * The store and the bus that carries revocations to every verdict cache: embedded SQLite with the
 * in-process bus (one replica), or PostgreSQL with LISTEN/NOTIFY (every replica sharing it).
 */
async function openStore(config: GatewayConfig, log: Logger): Promise<{ store: Store; revocations: RevocationBus & { close?(): Promise<void> } }> {
  if (config.databaseUrl) {
    const url = config.databaseUrl;
    const store = await openPostgresStore(url, {
      poolSize: config.databasePoolSize,
      // Replicas may start before the database (docker compose): wait for it a while.
      waitMs: 60_000,
      onWait: (err) => log.warn({ err: (err as Error).message }, 'waiting for PostgreSQL'),
      onIdleError: (err) => log.debug({ err: err.message }, 'an idle PostgreSQL connection failed; the pool replaces it'),
    });
    return { store, revocations: await PgRevocationBus.start({ url, log }) };
  }
  await ensureDir(config.dataDir).catch((err: NodeJS.ErrnoException) => {
    throw new ConfigError(`--data-dir (KUBEGATE_DATA_DIR): cannot create "${config.dataDir}": ${err.code ?? err.message}`);
  });
  return { store: await openSqliteStore(join(config.dataDir, 'kubegate.db')), revocations: new LocalRevocationBus() };
}

/** Times the store lookups behind the verdict cache (cache misses). */
function timed(inner: TokenAuthenticator, metrics: GatewayMetrics): TokenAuthenticator {
  return {
    async authenticate(token) {
      const end = metrics.storeLookup.startTimer();
      try {
        return await inner.authenticate(token);
      } finally {
        end();
      }
    },
  };
}

/**
 * The serving certificate (generated, or the operator's). An unreadable file or a bad PEM is the
 * operator's to fix: a `ConfigError` naming the flag (one line, exit 2), not a stack trace.
 */
async function servingMaterial(config: GatewayConfig): Promise<ServingMaterial> {
  const flags = config.tlsCert ? '--tls-cert/--tls-key (KUBEGATE_TLS_CERT/KUBEGATE_TLS_KEY)' : '--certs-dir (KUBEGATE_CERTS_DIR)';
  try {
    const material = await ensureServingMaterial({
      certsDir: config.certsDir,
      // URL.hostname keeps an IPv6 literal's brackets (`[::1]`); the certificate needs the bare address as an IP SAN.
      publicHost: config.publicUrl.hostname.replace(/^\[(.*)\]$/, '$1'),
      tlsCert: config.tlsCert,
      tlsKey: config.tlsKey,
    });
    createSecureContext({ cert: material.certPem, key: material.keyPem });
    return material;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code !== 'string' || !/^(E[A-Z]+$|ERR_OSSL)/.test(code)) throw err;
    throw new ConfigError(`${flags}: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** Starts a gateway and resolves once it listens. */
export async function startGateway(config: GatewayConfig, log: Logger, options: GatewayOptions = {}): Promise<Gateway> {
  const { store, revocations } = await openStore(config, log);
  await bootstrapAdmin(store, log, config.adminPassword, options.announce ?? ((l) => process.stderr.write(l)));
  const tls = config.plainHttp ? undefined : await servingMaterial(config);
  if (tls?.generated) log.info({ certsDir: config.certsDir }, 'generated the gateway CA and serving certificate');

  let cache: CachedTokenAuthenticator | undefined;
  const metrics = new GatewayMetrics({ stats: () => cache!.stats, size: () => cache!.size() });
  cache = new CachedTokenAuthenticator(timed(new StoreTokenAuthenticator(store, options.clock), metrics), {
    successTtlMs: config.authCacheTtlMs,
    failureTtlMs: 2_000,
    maxEntries: config.authCacheSize,
    clock: options.clock,
  });
  const clusters = new ClusterDirectory(store);
  await clusters.loadAll();
  revocations.subscribe((event) => {
    metrics.revocations.inc({ type: event.type });
    cache!.evict(event);
    // Cluster records live in every replica's memory: follow changes made anywhere.
    const reload = event.type === 'cluster' ? clusters.refresh(event.clusterId) : event.type === 'all' ? clusters.loadAll() : undefined;
    reload?.catch((err: unknown) => log.warn({ err: (err as Error).message }, 'could not reload clusters; they reload on the next change'));
  });
  const audit = new AuditLog({ path: config.auditLog, maxBytes: config.auditLogMaxBytes, maxFiles: config.auditLogMaxFiles });
  const trust = proxyTrust(config.trustProxy);
  const metricsToken = config.metricsTokenFile ? (await readFile(config.metricsTokenFile, 'utf8')).trim() : undefined;
  const lastUsed = new LastUsedRecorder(store, log);
  let draining = false;
  let closing: Promise<void> | undefined;

  const app = createApiApp({
    store,
    log,
    authenticator: cache,
    revocations,
    clusters,
    tokens: new TokenIssuer(store, options.clock),
    lastUsed,
    publicUrl: config.publicUrl,
    caPem: tls?.caPem,
    isDraining: () => draining,
    audit,
    metrics,
    trust,
    metricsToken,
    bodyTimeoutMs: config.bodyTimeoutMs,
    loginThrottle: {
      byUser: new FailureThrottle({ freeFailures: 5, baseLockMs: 1_000, maxLockMs: 5 * 60_000, forgetAfterMs: 15 * 60_000, clock: options.clock }),
      byAddress: new FailureThrottle({ freeFailures: 20, baseLockMs: 1_000, maxLockMs: 15 * 60_000, forgetAfterMs: 15 * 60_000, clock: options.clock }),
    },
  });
  const requests = new RequestTracker();
  const proxy = createProxyHandler({
    authenticator: cache,
    clusters,
    lastUsed,
    // Invalid bearer tokens per client address on /k8s/...: 50 free, then backoff up to a minute.
    badTokens: new FailureThrottle({ freeFailures: 50, baseLockMs: 1_000, maxLockMs: 60_000, forgetAfterMs: 5 * 60_000, clock: options.clock }),
    observers: { audit, metrics, trust },
    requests,
    log,
  });

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    requests.track(res);
    // While draining, every answer closes its connection so clients move to another replica.
    if (draining) res.setHeader('Connection', 'close');
    if (req.url!.startsWith(PROXY_PREFIX)) void proxy.handleRequest(req, res);
    else app(req, res);
  };
  const serverOptions = {
    maxHeaderSize: config.maxHeaderBytes,
    // Slowloris: headers must arrive in time. No whole-request timeout: proxied uploads, watches
    // and exec streams run as long as they need; API bodies have their own limit (api/app.ts).
    headersTimeout: config.headerTimeoutMs,
    requestTimeout: 0,
    connectionsCheckingInterval: Math.min(30_000, Math.max(250, config.headerTimeoutMs / 4)),
    keepAliveTimeout: 65_000,
  };
  const server: Server = tls
    ? createHttpsServer({ ...serverOptions, cert: tls.certPem, key: tls.keyPem }, onRequest)
    : createHttpServer(serverOptions, onRequest);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (req.url!.startsWith(PROXY_PREFIX)) void proxy.handleUpgrade(req, socket, head);
    else socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable) return socket.destroy();
    const code = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${code}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    // Do not wait for a client that never reads or closes its side.
    setTimeout(() => socket.destroy(), 1_000).unref();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new ConfigError(`--listen (KUBEGATE_LISTEN): cannot listen on ${config.listen.host}:${config.listen.port}: ${err.code ?? err.message}`)),
    );
    server.listen(config.listen.port, config.listen.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${tls ? 'https' : 'http'}://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`;
  log.info({ url, publicUrl: config.publicUrl.href }, 'kubegate listening');

  return {
    server,
    url,
    store,
    cache,
    caPem: tls?.caPem,
    close() {
      // Idempotent: a second call waits for the first shutdown.
      closing ??= (async () => {
        draining = true;
        await drainServer(server, requests, { graceMs: config.shutdownGraceMs, timeoutMs: config.shutdownTimeoutMs });
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
