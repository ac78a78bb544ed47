/**
 * Parsers and validators of configuration values, shared by every command's settings table; each
 * takes the setting's name and raw text and returns the typed value or throws a `ConfigError`
 * naming the setting. Built-ins only (`kubegate token` loads this before every kubectl command).
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseToken } from '../auth/tokens.js';
import { ConfigError } from '../errors.js';

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

// Durations become timers; Node turns a delay past 2^31-1 ms into 1 ms (a 1000h shutdown timeout would cut at once).
const MAX_DURATION_MS = 2 ** 31 - 1;

/** `500ms`, `10s`, `2m`, `1h` → milliseconds (at most about 596h). */
export function parseDuration(name: string, raw: string): number {
  const m = DURATION.exec(raw.trim());
  if (!m) throw new ConfigError(`${name}: invalid duration "${raw}" (use e.g. 500ms, 10s, 2m)`);
  const ms = Math.round(Number(m[1]) * UNIT_MS[m[2]!]!);
  if (ms > MAX_DURATION_MS) throw new ConfigError(`${name}: duration "${raw}" is too long (at most 596h)`);
  return ms;
}

/** A positive integer within bounds. */
export function parseCount(name: string, raw: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name}: "${raw}" is not a whole number`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(`${name}: ${n} is out of range (${min}..${max})`);
  return n;
}

/** `true/false/1/0/yes/no`. */
export function parseBoolean(name: string, raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off', ''].includes(v)) return false;
  throw new ConfigError(`${name}: "${raw}" is not a boolean (true or false)`);
}

export interface ListenAddress {
  host: string;
  port: number;
}

/** `host:port`, `[v6]:port` or `:port`. */
export function parseListen(name: string, raw: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(raw.trim());
  if (!m) throw new ConfigError(`${name}: "${raw}" is not host:port`);
  const host = m[1] ?? (m[2] || '0.0.0.0');
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError(`${name}: port ${port} is out of range`);
  return { host, port };
}

/** An absolute http(s) URL without query or fragment; trailing slash removed. */
export function parseBaseUrl(name: string, raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError(`${name}: "${raw}" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`${name}: must be an http(s) URL`);
  if (url.search || url.hash || url.username || url.password) {
    throw new ConfigError(`${name}: must not carry credentials, a query or a fragment`);
  }
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

/** Who may set `X-Forwarded-For`: nobody, the nearest N hops, or peers within CIDRs. */
export type TrustProxy = { mode: 'off' } | { mode: 'hops'; hops: number } | { mode: 'cidrs'; cidrs: string[] };

/** `off`, a hop count, or a comma-separated CIDR/IP list. */
export function parseTrustProxy(name: string, raw: string): TrustProxy {
  const v = raw.trim();
  if (v === '' || v === 'off' || v === 'false') return { mode: 'off' };
  if (/^\d+$/.test(v)) return { mode: 'hops', hops: parseCount(name, v, 1, 32) };
  const cidrs = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const c of cidrs) {
    const [ip, bits, extra] = c.split('/');
    const family = isIP(ip ?? '');
    const max = family === 6 ? 128 : 32;
    if (!family || extra !== undefined || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= max))) {
      throw new ConfigError(`${name}: "${c}" is not an IP address or CIDR`);
    }
  }
  return { mode: 'cidrs', cidrs };
}

/** DNS-1123 labels: cluster ids, namespaces, node names (docs/reference/api.md). */
const DNS_LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

/** True for a DNS-1123 label of at most 63 characters: the only cluster ids there are. */
export function isDnsLabel(value: string): boolean {
  return DNS_LABEL.test(value);
}

/** A DNS-1123 label (namespaces). */
export function parseDnsLabel(name: string, raw: string): string {
  if (!isDnsLabel(raw)) throw new ConfigError(`${name}: "${raw}" is not a DNS-1123 label`);
  return raw;
}

/** A cluster id: a DNS-1123 label. */
export function parseClusterId(name: string, raw: string): string {
  if (!isDnsLabel(raw)) throw new ConfigError(`${name}: "${raw}" is not a DNS-1123 label (cluster ids are lower-case letters, digits and -)`);
  return raw;
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** One of pino's levels. */
export function parseLogLevel(name: string, raw: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(raw)) throw new ConfigError(`${name}: "${raw}" is not one of ${LOG_LEVELS.join(', ')}`);
  return raw as LogLevel;
}

/** The text of a file a setting names. */
export function readTextFile(name: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${name}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** A file holding one or more PEM certificates (a CA bundle); its text. */
export function readCertificateFile(name: string, path: string): string {
  const pem = readTextFile(name, path);
  try {
    new X509Certificate(pem);
  } catch {
    throw new ConfigError(`${name}: ${path} is not a PEM certificate`);
  }
  return pem;
}

/** A file holding a kubegate token (an agent token); the token. */
export function readTokenFile(name: string, path: string): string {
  const token = readTextFile(name, path).trim();
  if (!parseToken(token)) throw new ConfigError(`${name}: ${path} does not hold a kubegate token`);
  return token;
}

/** A file holding a secret on its first line (a metrics token); the secret. */
export function readSecretFile(name: string, path: string): string {
  const secret = readTextFile(name, path).trim();
  if (!secret) throw new ConfigError(`${name}: ${path} is empty`);
  return secret;
}

/** A container image reference. */
export function parseImage(name: string, raw: string): string {
  if (/\s/.test(raw)) throw new ConfigError(`${name}: "${raw}" is not an image reference`);
  return raw;
}

/** An absolute path (relative ones resolved against the working directory). */
export function parsePath(_name: string, raw: string): string {
  return resolve(raw);
}
