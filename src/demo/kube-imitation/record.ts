/**
 * What the double saw: one entry per request, made the moment it arrives (so long-running
 * watches and upgrades are visible while open) and completed as authentication, impersonation
 * and the answer happen.
 */
import type { IncomingMessage } from 'node:http';
import type { RecordedRequest } from './types.js';

const pairs = (raw: string[]): Array<[string, string]> => {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i] ?? '', raw[i + 1] ?? '']);
  return out;
};

const distinct = (req: IncomingMessage): Record<string, string[]> => {
  const out: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(req.headersDistinct)) if (values) out[name] = [...values];
  return out;
};

/** Starts the record of a request; `isUpgrade` is whether Node routed it to the 'upgrade' event. */
export const recordRequest = (req: IncomingMessage, isUpgrade: boolean): RecordedRequest => ({
  method: req.method ?? 'GET',
  path: req.url ?? '/',
  rawHeaders: pairs(req.rawHeaders),
  headersDistinct: distinct(req),
  streamProtocolVersions: [...(req.headersDistinct['x-stream-protocol-version'] ?? [])],
  authenticatedAs: null,
  effective: null,
  status: 0,
  upgrade: isUpgrade,
  upgradeProtocol: isUpgrade ? req.headers.upgrade : undefined,
  body: '',
  rawBody: Buffer.alloc(0),
  receivedAt: Date.now(),
});
