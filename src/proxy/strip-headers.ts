/**
 * Stage: remove everything the client sent that could speak for an identity, before the
 * gateway adds its own (CVE-2021-31999: strip first, then impersonate; never the other way).
 *
 * Works on `rawHeaders`, so letter case and repeated lines cannot hide a header; over HTTP/2 the
 * same list carries the pseudo-headers and every `cookie` crumb as its own line (http2-compat.ts).
 */
import type { IncomingMessage } from 'node:http';
import { BEARER_PROTOCOL_PREFIX } from '../http/bearer.js';
import { isHopRequestHeader } from '../upstream/hop-by-hop.js';

export interface StripOptions {
  /** Keep `X-Forwarded-*` and `Forwarded` (the peer is a trusted proxy). */
  trustForwarded: boolean;
  /** The request is an upgrade: `Connection: Upgrade` and `Upgrade` are re-added. */
  upgrade: boolean;
}

/**
 * True when the header can carry an identity and must never reach a cluster from a client.
 * Underscores count as dashes (`Impersonate_User`, `X_Remote_User`): some servers and proxies
 * in front of a cluster fold them together (nginx with `underscores_in_headers`, CGI-style
 * `HTTP_X_REMOTE_USER`), so the underscore twin of an identity header is one too.
 */
export function isIdentityHeader(lowerName: string, trustForwarded: boolean): boolean {
  if (lowerName.includes('_')) lowerName = lowerName.replace(/_/g, '-');
  return (
    lowerName === 'authorization' ||
    // Browser cookies (the web UI's session and CSRF cookies) are credentials too.
    lowerName === 'cookie' ||
    lowerName.startsWith('impersonate-') ||
    lowerName.startsWith('x-remote-') ||
    (!trustForwarded && (lowerName.startsWith('x-forwarded-') || lowerName === 'forwarded'))
  );
}

/**
 * Returns the headers that may go upstream as raw `[name, value, …]` pairs. A client's
 * `Impersonate-*` never passes: checked-impersonation.ts reads it, and the cluster decides.
 */
export function stripClientIdentity(req: IncomingMessage, options: StripOptions): string[] {
  const raw = req.rawHeaders;
  const listed = new Set<string>();
  let upgrade: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === 'connection') for (const t of raw[i + 1]!.split(',')) listed.add(t.trim().toLowerCase());
    if (name === 'upgrade') upgrade ??= raw[i + 1]!;
  }

  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    // HTTP/2 pseudo-headers (`:path`, `:authority`, …) describe this hop's request; the upstream request has its own.
    if (lower.charCodeAt(0) === 0x3a || isHopRequestHeader(lower) || listed.has(lower) || isIdentityHeader(lower, options.trustForwarded)) continue;
    if (lower === 'sec-websocket-protocol') {
      // The bearer subprotocol carried the client's token; the cluster must not see it.
      const kept = raw[i + 1]!.split(',').map((p) => p.trim()).filter((p) => p && !p.startsWith(BEARER_PROTOCOL_PREFIX));
      if (kept.length > 0) out.push(name, kept.join(', '));
      continue;
    }
    out.push(name, raw[i + 1]!);
  }
  if (options.upgrade && upgrade !== undefined) out.push('Connection', 'Upgrade', 'Upgrade', upgrade);
  return out;
}
