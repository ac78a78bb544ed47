/**
 * The one list of headers that belong to a single hop (RFC 9110 §7.6.1), dropped in both
 * directions as Go's `httputil.ReverseProxy` does; every header named in a request's `Connection`
 * line is dropped with them.
 */

/** Hop-by-hop header names, lower case. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * True for a client request header the gateway never forwards as sent: hop-by-hop ones, `Host`
 * (set for the upstream), `Expect` (Node's server already answered `100-continue`) and
 * `HTTP2-Settings` (an h2c upgrade's, refused anyway).
 */
export function isHopRequestHeader(lowerName: string): boolean {
  return HOP_BY_HOP.has(lowerName) || lowerName === 'host' || lowerName === 'expect' || lowerName === 'http2-settings';
}

/**
 * An upstream response's header lines minus hop-by-hop ones (Node frames the answer to our
 * client itself), as raw `[name, value, …]` pairs. Buffers (undici's raw lines) are read as
 * latin1, so header bytes reach the client exactly as the cluster sent them.
 */
export function forwardableResponseHeaders(raw: ArrayLike<string | Buffer>): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = latin1(raw[i]!);
    if (!HOP_BY_HOP.has(name.toLowerCase())) out.push(name, latin1(raw[i + 1]!));
  }
  return out;
}

const latin1 = (v: string | Buffer): string => (typeof v === 'string' ? v : v.toString('latin1'));
