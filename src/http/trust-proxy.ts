/** Whether a peer may speak for the client in `X-Forwarded-*` (SPEC §3 `--trust-proxy`). */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIPv4 } from 'node:net';
import type { TrustProxy } from '../config/values.js';

/** A predicate over requests: true when the direct peer is a trusted proxy. */
export function trustsForwardedFrom(trust: TrustProxy): (req: IncomingMessage) => boolean {
  if (trust.mode === 'off') return () => false;
  if (trust.mode === 'hops') return () => true;
  const list = new BlockList();
  for (const c of trust.cidrs) {
    const [ip, bits] = c.split('/') as [string, string | undefined];
    const type = isIPv4(ip) ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(ip, type);
    else list.addSubnet(ip, Number(bits), type);
  }
  return (req) => {
    const addr = req.socket.remoteAddress?.replace(/^::ffff:/, '');
    return addr !== undefined && list.check(addr, isIPv4(addr) ? 'ipv4' : 'ipv6');
  };
}
