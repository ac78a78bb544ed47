/**
 * Gateway configuration (SPEC §3): flags win over environment variables, both over defaults.
 * The only module that reads `process.env` for the gateway; everything else gets a `GatewayConfig`.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import {
  parseBaseUrl,
  parseBoolean,
  parseCount,
  parseDuration,
  parseListen,
  parseTrustProxy,
  type ListenAddress,
  type TrustProxy,
} from './values.js';

export interface GatewayConfig {
  listen: ListenAddress;
  publicUrl: URL;
  dataDir: string;
  databaseUrl: string | undefined;
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
  logLevel: string;
  /** Audit log file; undefined writes audit lines to stdout. */
  auditLog: string | undefined;
  auditLogMaxBytes: number;
  auditLogMaxFiles: number;
  /** When set, `/metrics` needs `Authorization: Bearer <this>`. */
  metricsTokenFile: string | undefined;
  /** A client must send its request headers within this time (slowloris). */
  headerTimeoutMs: number;
  /** Management API bodies must arrive within this time; proxied bodies stream without a limit. */
  bodyTimeoutMs: number;
}

interface Setting {
  flag: string;
  env: string;
  default: string | undefined;
  boolean?: boolean;
  help: string;
}

/** The settings table; `--help` is printed from it. */
export const GATEWAY_SETTINGS = {
  listen: { flag: 'listen', env: 'KUBEGATE_LISTEN', default: '0.0.0.0:8443', help: 'address to listen on' },
  publicUrl: {
    flag: 'public-url',
    env: 'KUBEGATE_PUBLIC_URL',
    default: 'https://localhost:8443',
    help: 'URL written into kubeconfigs (the balancer URL behind a load balancer)',
  },
  dataDir: { flag: 'data-dir', env: 'KUBEGATE_DATA_DIR', default: './data', help: 'directory of the embedded SQLite database' },
  databaseUrl: { flag: 'database-url', env: 'KUBEGATE_DATABASE_URL', default: undefined, help: 'postgres://… selects PostgreSQL' },
  databasePoolSize: { flag: 'database-pool-size', env: 'KUBEGATE_DATABASE_POOL_SIZE', default: '10', help: 'PostgreSQL connections per replica' },
  tlsCert: { flag: 'tls-cert', env: 'KUBEGATE_TLS_CERT', default: undefined, help: 'serving certificate (PEM)' },
  tlsKey: { flag: 'tls-key', env: 'KUBEGATE_TLS_KEY', default: undefined, help: 'serving key (PEM)' },
  certsDir: { flag: 'certs-dir', env: 'KUBEGATE_CERTS_DIR', default: './certs', help: 'where generated certificates live' },
  plainHttp: {
    flag: 'plain-http',
    env: 'KUBEGATE_PLAIN_HTTP',
    default: 'false',
    boolean: true,
    help: 'serve HTTP (a load balancer terminates TLS)',
  },
  trustProxy: { flag: 'trust-proxy', env: 'KUBEGATE_TRUST_PROXY', default: 'off', help: 'hop count or CIDR list whose X-Forwarded-For is believed' },
  adminPassword: {
    flag: 'admin-password',
    env: 'KUBEGATE_ADMIN_PASSWORD',
    default: undefined,
    help: 'password of the first user "admin" (else one is generated and printed once)',
  },
  authCacheTtl: { flag: 'auth-cache-ttl', env: 'KUBEGATE_AUTH_CACHE_TTL', default: '10s', help: 'how long a successful token verdict is cached' },
  authCacheSize: { flag: 'auth-cache-size', env: 'KUBEGATE_AUTH_CACHE_SIZE', default: '10000', help: 'verdict cache entries' },
  shutdownTimeout: { flag: 'shutdown-timeout', env: 'KUBEGATE_SHUTDOWN_TIMEOUT', default: '30s', help: 'grace for in-flight requests on SIGTERM' },
  shutdownGrace: { flag: 'shutdown-grace', env: 'KUBEGATE_SHUTDOWN_GRACE', default: '5s', help: 'serve on after SIGTERM (readyz failing) so the balancer notices' },
  maxHeaderSize: { flag: 'max-header-size', env: 'KUBEGATE_MAX_HEADER_SIZE', default: '65536', help: 'largest request header block, bytes' },
  logLevel: { flag: 'log-level', env: 'KUBEGATE_LOG_LEVEL', default: 'info', help: 'trace, debug, info, warn, error' },
  auditLog: { flag: 'audit-log', env: 'KUBEGATE_AUDIT_LOG', default: undefined, help: 'audit log file (default: stdout)' },
  auditLogMaxSize: { flag: 'audit-log-max-size', env: 'KUBEGATE_AUDIT_LOG_MAX_SIZE', default: '104857600', help: 'rotate the audit file past this many bytes' },
  auditLogMaxFiles: { flag: 'audit-log-max-files', env: 'KUBEGATE_AUDIT_LOG_MAX_FILES', default: '5', help: 'rotated audit files kept' },
  headerTimeout: { flag: 'header-timeout', env: 'KUBEGATE_HEADER_TIMEOUT', default: '30s', help: 'time allowed to send request headers' },
  bodyTimeout: { flag: 'body-timeout', env: 'KUBEGATE_BODY_TIMEOUT', default: '30s', help: 'time allowed to send a management API body' },
  metricsTokenFile: { flag: 'metrics-token-file', env: 'KUBEGATE_METRICS_TOKEN_FILE', default: undefined, help: 'file holding a bearer token that /metrics requires' },
} satisfies Record<string, Setting>;

type Key = keyof typeof GATEWAY_SETTINGS;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Reads flags and environment once and validates every value. Throws `ConfigError`. */
export function loadGatewayConfig(argv: readonly string[], env: NodeJS.ProcessEnv): GatewayConfig {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const s of Object.values(GATEWAY_SETTINGS) as Setting[]) options[s.flag] = { type: s.boolean ? 'boolean' : 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new ConfigError((err as Error).message.split('\n')[0]!);
  }

  const raw = (key: Key): string | undefined => {
    const s: Setting = GATEWAY_SETTINGS[key];
    const flag = values[s.flag];
    if (flag !== undefined) return String(flag);
    const fromEnv = env[s.env];
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
    return s.default;
  };
  const name = (key: Key): string => `--${GATEWAY_SETTINGS[key].flag} (${GATEWAY_SETTINGS[key].env})`;
  const req = (key: Key): string => raw(key) as string;

  const plainHttp = parseBoolean(name('plainHttp'), req('plainHttp'));
  const tlsCert = raw('tlsCert');
  const tlsKey = raw('tlsKey');
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new ConfigError(`${name('tlsCert')} and ${name('tlsKey')} must be given together`);
  }
  const databaseUrl = raw('databaseUrl');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(`${name('databaseUrl')}: only postgres:// URLs are supported`);
  }
  const logLevel = req('logLevel');
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`${name('logLevel')}: "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  const authCacheTtlMs = parseDuration(name('authCacheTtl'), req('authCacheTtl'));
  const adminPassword = raw('adminPassword');
  if (adminPassword !== undefined && adminPassword.length < 8) {
    throw new ConfigError(`${name('adminPassword')}: must be at least 8 characters`);
  }

  return {
    listen: parseListen(name('listen'), req('listen')),
    publicUrl: parseBaseUrl(name('publicUrl'), req('publicUrl')),
    dataDir: resolve(req('dataDir')),
    databaseUrl,
    databasePoolSize: parseCount(name('databasePoolSize'), req('databasePoolSize'), 1, 1000),
    tlsCert: tlsCert && resolve(tlsCert),
    tlsKey: tlsKey && resolve(tlsKey),
    certsDir: resolve(req('certsDir')),
    plainHttp,
    trustProxy: parseTrustProxy(name('trustProxy'), req('trustProxy')),
    adminPassword,
    authCacheTtlMs,
    authCacheSize: parseCount(name('authCacheSize'), req('authCacheSize'), 1, 10_000_000),
    shutdownTimeoutMs: parseDuration(name('shutdownTimeout'), req('shutdownTimeout')),
    shutdownGraceMs: parseDuration(name('shutdownGrace'), req('shutdownGrace')),
    maxHeaderBytes: parseCount(name('maxHeaderSize'), req('maxHeaderSize'), 8192, 1 << 20),
    logLevel,
    auditLog: raw('auditLog') && resolve(raw('auditLog')!),
    auditLogMaxBytes: parseCount(name('auditLogMaxSize'), req('auditLogMaxSize'), 4096),
    auditLogMaxFiles: parseCount(name('auditLogMaxFiles'), req('auditLogMaxFiles'), 1, 1000),
    metricsTokenFile: raw('metricsTokenFile') && resolve(raw('metricsTokenFile')!),
    headerTimeoutMs: parseDuration(name('headerTimeout'), req('headerTimeout')),
    bodyTimeoutMs: parseDuration(name('bodyTimeout'), req('bodyTimeout')),
  };
}

/** The `--help` text of `kubegate serve`. */
export function gatewayHelp(): string {
  const lines = ['Usage: kubegate serve [flags]', '', 'Runs the gateway (HTTPS API, proxy, web UI).', '', 'Flags (env, default):'];
  for (const s of Object.values(GATEWAY_SETTINGS) as Setting[]) {
    const flag = s.boolean ? `--${s.flag}` : `--${s.flag} VALUE`;
    lines.push(`  ${flag.padEnd(26)} ${s.help} (${s.env}${s.default !== undefined ? `, ${s.default}` : ''})`);
  }
  return lines.join('\n') + '\n';
}
