/** Whether a peer may speak for the client in `X-Forwarded-*`, and who the client is (docs/reference/configuration.md `--trust-proxy`). */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIPv4 } from 'node:net';
import type { TrustProxy } from '../config/values.js';

export interface ProxyTrust {
  /** True when the direct peer is a trusted proxy. */
  trustsForwarded(req: IncomingMessage): boolean;
  /** The client address for logs, audit and throttling: from `X-Forwarded-For` only through trusted hops. */
  clientAddress(req: IncomingMessage): string;
}

const plain = (addr: string | undefined): string => (addr === undefined ? '' : addr.startsWith('::ffff:') ? addr.slice(7) : addr);

/** Builds the trust policy from `--trust-proxy`. */
export function proxyTrust(trust: TrustProxy): ProxyTrust {
  let trusted: (addr: string) => boolean;
  if (trust.mode === 'cidrs') {
    const list = new BlockList();
    for (const c of trust.cidrs) {
      const [ip, bits] = c.split('/') as [string, string | undefined];
      const type = isIPv4(ip) ? 'ipv4' : 'ipv6';
      if (bits === undefined) list.addAddress(ip, type);
      else list.addSubnet(ip, Number(bits), type);
    }
    trusted = (addr) => addr !== '' && list.check(addr, isIPv4(addr) ? 'ipv4' : 'ipv6');
  } else {
    trusted = () => trust.mode === 'hops';
  }

  return {
    trustsForwarded: (req) => trusted(plain(req.socket.remoteAddress)),
    clientAddress(req) {
      const peer = plain(req.socket.remoteAddress);
      if (trust.mode === 'off' || !trusted(peer)) return peer;
      const forwarded = (req.headersDistinct['x-forwarded-for'] ?? []).flatMap((l) => l.split(',')).map((s) => plain(s.trim())).filter(Boolean);
      const chain = [...forwarded, peer];
      if (trust.mode === 'hops') return chain[Math.max(0, chain.length - 1 - trust.hops)]!;
      // Walk from the nearest hop outwards; the first untrusted address is the client.
      for (let i = chain.length - 1; i > 0; i--) if (!trusted(chain[i]!)) return chain[i]!;
      return chain[0]!;
    },
  };
}
