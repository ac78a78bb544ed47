/**
 * `kubegate serve` configuration: the settings table (docs/reference/configuration.md is printed
 * from it), read once here. The only place the gateway's flags and environment are read;
 * everything else gets a `GatewayConfig`.
 */
import { availableParallelism } from 'node:os';
import { ConfigError } from '../errors.js';
import { OIDC_SETTINGS, oidcConfigOf, type OidcConfig } from './oidc-config.js';
import { BUILT_IN_ROLE_SETTINGS, builtInClusterRolesOf, type BuiltInClusterRoles } from '../render/rbac.js';
import { defineCommand, readSettings, settingName, commandHelp } from './settings.js';
import {
  parseBaseUrl,
  parseBoolean,
  parseCount,
  parseDuration,
  parseListen,
  parseLogLevel,
  parsePath,
  parseTrustProxy,
  type ListenAddress,
  type TrustProxy,
} from './values.js';

export interface GatewayConfig {
  listen: ListenAddress;
  publicUrl: URL;
  /** No `--public-url`: `publicUrl` was derived from `--listen` (and follows the bound port when that is 0). */
  publicUrlFromListen: boolean;
  dataDir: string;
  /** The key ring sealing cluster credentials at rest; undefined: `<dataDir>/encryption.key`, generated when missing. */
  encryptionKeyFile: string | undefined;
  databaseUrl: string | undefined;
  /** Where the other replicas reach this one (agent clusters across replicas); undefined: derived from the listener. */
  peerUrl: URL | undefined;
  /** Most PostgreSQL connections this replica opens for queries. */
  databasePoolSize: number;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  certsDir: string;
  plainHttp: boolean;
  trustProxy: TrustProxy;
  adminPassword: string | undefined;
  authCacheTtlMs: number;
  authCacheSize: number;
  shutdownTimeoutMs: number;
  /** After SIGTERM, keep serving (with /readyz failing) this long before closing the listener. */
  shutdownGraceMs: number;
  /** Largest request header block accepted (kubeconfig tokens can be large). */
  maxHeaderBytes: number;
  /** More request header lines than this are refused with 431. */
  maxHeaderLines: number;
  logLevel: string;
  /** Audit log file; undefined writes audit lines to stdout. */
  auditLog: string | undefined;
  auditLogMaxBytes: number;
  auditLogMaxFiles: number;
  /** When set, `/metrics` needs `Authorization: Bearer <the file's token>`. */
  metricsTokenFile: string | undefined;
  /** `/metrics` without any credential. */
  metricsOpen: boolean;
  /** A client must send its request headers within this time (slowloris). */
  headerTimeoutMs: number;
  /** Management API bodies must arrive within this time; proxied bodies stream without a limit. */
  bodyTimeoutMs: number;
  /** False: password logins only for the bootstrap administrator (`admin`). */
  localLogin: boolean;
  /** Single sign-on; undefined when no provider is configured. */
  oidc: OidcConfig | undefined;
  /** Offer HTTP/2 by ALPN on the TLS listener (HTTP/1.1 is always offered). */
  http2: boolean;
  /** Concurrent streams an HTTP/2 client may open on one connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
  http2MaxStreams: number;
  /** The ClusterRole each built-in role grants (`GET /v1/roles/rbac.yaml`). */
  builtInClusterRoles: BuiltInClusterRoles;
  /** Gateway processes sharing the listener (node:cluster); 1 runs in this process. */
  workers: number;
}

const count = (min: number, max?: number) => (name: string, raw: string) => parseCount(name, raw, min, max);

function parseDatabaseUrl(name: string, raw: string): string {
  if (!/^postgres(ql)?:\/\//.test(raw)) throw new ConfigError(`${name}: only postgres:// URLs are supported`);
  return raw;
}

/** A worker count, or `auto`: one per CPU this process may use. */
function parseWorkers(name: string, raw: string): number {
  if (raw === 'auto') return availableParallelism();
  return parseCount(name, raw, 1, 256);
}

function parseAdminPassword(name: string, raw: string): string {
  // Never echo the value: it is a password.
  if (raw.length < 8) throw new ConfigError(`${name}: must be at least 8 characters`);
  return raw;
}

/** `kubegate serve` and its settings. */
export const SERVE_COMMAND = defineCommand({
  name: 'serve',
  usage: ['serve [flags]'],
  description: 'Runs the gateway (HTTPS API, proxy, web UI).',
  settings: {
    listen: { flag: 'listen', env: 'KUBEGATE_LISTEN', default: '0.0.0.0:8443', help: 'address to listen on', parse: parseListen },
    publicUrl: {
      flag: 'public-url',
      env: 'KUBEGATE_PUBLIC_URL',
      help: "URL written into kubeconfigs (the balancer URL behind a load balancer; default: https://localhost:PORT with --listen's port, its host when not 0.0.0.0 or ::)",
      parse: parseBaseUrl,
    },
    dataDir: { flag: 'data-dir', env: 'KUBEGATE_DATA_DIR', default: './data', help: 'directory of the embedded SQLite database', parse: parsePath },
    encryptionKeyFile: {
      flag: 'encryption-key-file',
      env: 'KUBEGATE_ENCRYPTION_KEY_FILE',
      help: 'keys sealing cluster credentials at rest, "<id> <base64 32 bytes>" a line, the first active (default: <data-dir>/encryption.key; generated 0600 when missing; replicas must share one file)',
      parse: parsePath,
    },
    peerUrl: {
      flag: 'peer-url',
      env: 'KUBEGATE_PEER_URL',
      help: "this replica's own URL for the other replicas, which forward agent clusters' streams over it (with --database-url; default: the listen address, or this host's first non-loopback IPv4 address for 0.0.0.0)",
      parse: parseBaseUrl,
    },
    databaseUrl: { flag: 'database-url', env: 'KUBEGATE_DATABASE_URL', help: 'postgres://… selects PostgreSQL (13 or later; sslmode in the URL)', parse: parseDatabaseUrl },
    databasePoolSize: { flag: 'database-pool-size', env: 'KUBEGATE_DATABASE_POOL_SIZE', default: '10', help: 'PostgreSQL connections per replica', parse: count(1, 1000) },
    tlsCert: { flag: 'tls-cert', env: 'KUBEGATE_TLS_CERT', help: 'serving certificate (PEM)', parse: parsePath },
    tlsKey: { flag: 'tls-key', env: 'KUBEGATE_TLS_KEY', help: 'serving key (PEM)', parse: parsePath },
    certsDir: { flag: 'certs-dir', env: 'KUBEGATE_CERTS_DIR', default: './certs', help: 'where generated certificates live', parse: parsePath },
    plainHttp: { flag: 'plain-http', env: 'KUBEGATE_PLAIN_HTTP', boolean: true, help: 'serve HTTP (a load balancer terminates TLS)' },
    trustProxy: { flag: 'trust-proxy', env: 'KUBEGATE_TRUST_PROXY', default: 'off', help: 'hop count or CIDR list whose X-Forwarded-For is believed', parse: parseTrustProxy },
    adminPassword: {
      flag: 'admin-password',
      env: 'KUBEGATE_ADMIN_PASSWORD',
      help: 'password of the first user "admin" (else one is generated and printed once)',
      parse: parseAdminPassword,
    },
    authCacheTtl: { flag: 'auth-cache-ttl', env: 'KUBEGATE_AUTH_CACHE_TTL', default: '10s', help: 'how long a successful token verdict is cached', parse: parseDuration },
    authCacheSize: { flag: 'auth-cache-size', env: 'KUBEGATE_AUTH_CACHE_SIZE', default: '10000', help: 'verdict cache entries', parse: count(1, 10_000_000) },
    shutdownTimeout: { flag: 'shutdown-timeout', env: 'KUBEGATE_SHUTDOWN_TIMEOUT', default: '30s', help: 'grace for in-flight requests on SIGTERM', parse: parseDuration },
    shutdownGrace: {
      flag: 'shutdown-grace',
      env: 'KUBEGATE_SHUTDOWN_GRACE',
      default: '5s',
      help: 'serve on after SIGTERM (readyz failing) so the balancer notices',
      parse: parseDuration,
    },
    maxHeaderSize: { flag: 'max-header-size', env: 'KUBEGATE_MAX_HEADER_SIZE', default: '65536', help: 'largest request header block, bytes', parse: count(8192, 1 << 20) },
    maxHeaderLines: {
      flag: 'max-header-lines',
      env: 'KUBEGATE_MAX_HEADER_LINES',
      default: '200',
      help: 'most request header lines; more is refused with 431 before anything is looked up',
      parse: count(20, 10_000),
    },
    logLevel: { flag: 'log-level', env: 'KUBEGATE_LOG_LEVEL', default: 'info', help: 'trace, debug, info, warn, error', parse: parseLogLevel },
    auditLog: { flag: 'audit-log', env: 'KUBEGATE_AUDIT_LOG', help: 'audit log file (default: stdout)', parse: parsePath },
    auditLogMaxSize: { flag: 'audit-log-max-size', env: 'KUBEGATE_AUDIT_LOG_MAX_SIZE', default: '104857600', help: 'rotate the audit file past this many bytes', parse: count(4096) },
    auditLogMaxFiles: { flag: 'audit-log-max-files', env: 'KUBEGATE_AUDIT_LOG_MAX_FILES', default: '5', help: 'rotated audit files kept', parse: count(1, 1000) },
    headerTimeout: { flag: 'header-timeout', env: 'KUBEGATE_HEADER_TIMEOUT', default: '30s', help: 'time allowed to send request headers', parse: parseDuration },
    bodyTimeout: { flag: 'body-timeout', env: 'KUBEGATE_BODY_TIMEOUT', default: '30s', help: 'time allowed to send a management API body', parse: parseDuration },
    metricsTokenFile: {
      flag: 'metrics-token-file',
      env: 'KUBEGATE_METRICS_TOKEN_FILE',
      help: 'file holding a bearer token that /metrics requires',
      parse: parsePath,
    },
    metricsOpen: {
      flag: 'metrics-open',
      env: 'KUBEGATE_METRICS_OPEN',
      boolean: true,
      help: '/metrics without a credential (by default it needs an admin token or the --metrics-token-file token)',
    },
    localLogin: {
      flag: 'local-login',
      env: 'KUBEGATE_LOCAL_LOGIN',
      default: 'true',
      help: 'password logins for local users; false: only the bootstrap admin',
      parse: parseBoolean,
    },
    http2: {
      flag: 'http2',
      env: 'KUBEGATE_HTTP2',
      default: 'true',
      help: 'offer HTTP/2 (h2) by ALPN beside HTTP/1.1 on the TLS listener, as kube-apiserver does',
      parse: parseBoolean,
    },
    http2MaxStreams: {
      flag: 'http2-max-streams-per-connection',
      env: 'KUBEGATE_HTTP2_MAX_STREAMS_PER_CONNECTION',
      default: '1000',
      help: "concurrent HTTP/2 streams (requests, watches) per client connection (kube-apiserver's default)",
      parse: count(1, 100_000),
    },
    ...BUILT_IN_ROLE_SETTINGS,
    workers: {
      flag: 'workers',
      env: 'KUBEGATE_WORKERS',
      default: '1',
      help: 'gateway processes sharing the listener, one per core at most (auto: one per CPU); see docs/reference/configuration.md',
      parse: parseWorkers,
    },
    ...OIDC_SETTINGS,
  },
});

/**
 * The public URL when `--public-url` is unset (issue 15, bug 5): the listen address's port, with
 * host `localhost` for the wildcard addresses, else the listen host itself.
 */
export function publicUrlFor(listen: ListenAddress, plainHttp: boolean, port = listen.port): URL {
  const wildcard = listen.host === '0.0.0.0' || listen.host === '::' || listen.host === '';
  const host = wildcard ? 'localhost' : listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return new URL(`${plainHttp ? 'http' : 'https'}://${host}:${port}`);
}

/** Reads flags and environment once and validates every value. Throws `ConfigError`. */
export function loadGatewayConfig(argv: readonly string[], env: NodeJS.ProcessEnv): GatewayConfig {
  const v = readSettings(SERVE_COMMAND, argv, env);
  const s = SERVE_COMMAND.settings;
  if ((v.tlsCert === undefined) !== (v.tlsKey === undefined)) {
    throw new ConfigError(`${settingName(s.tlsCert)} and ${settingName(s.tlsKey)} must be given together`);
  }
  return {
    listen: v.listen,
    publicUrl: v.publicUrl ?? publicUrlFor(v.listen, v.plainHttp),
    publicUrlFromListen: v.publicUrl === undefined,
    dataDir: v.dataDir,
    encryptionKeyFile: v.encryptionKeyFile,
    databaseUrl: v.databaseUrl,
    peerUrl: v.peerUrl,
    databasePoolSize: v.databasePoolSize,
    tlsCert: v.tlsCert,
    tlsKey: v.tlsKey,
    certsDir: v.certsDir,
    plainHttp: v.plainHttp,
    trustProxy: v.trustProxy,
    adminPassword: v.adminPassword,
    authCacheTtlMs: v.authCacheTtl,
    authCacheSize: v.authCacheSize,
    shutdownTimeoutMs: v.shutdownTimeout,
    shutdownGraceMs: v.shutdownGrace,
    maxHeaderBytes: v.maxHeaderSize,
    maxHeaderLines: v.maxHeaderLines,
    logLevel: v.logLevel,
    auditLog: v.auditLog,
    auditLogMaxBytes: v.auditLogMaxSize,
    auditLogMaxFiles: v.auditLogMaxFiles,
    metricsTokenFile: v.metricsTokenFile,
    metricsOpen: v.metricsOpen,
    headerTimeoutMs: v.headerTimeout,
    bodyTimeoutMs: v.bodyTimeout,
    localLogin: v.localLogin,
    oidc: oidcConfigOf(v),
    http2: v.http2,
    http2MaxStreams: v.http2MaxStreams,
    builtInClusterRoles: builtInClusterRolesOf(v),
    workers: v.workers,
  };
}

/** The `--help` text of `kubegate serve`. */
export function gatewayHelp(): string {
  return commandHelp(SERVE_COMMAND);
}
