/**
 * SPDY/3.1 upgrades (kubectl's fallback for exec/attach/cp and its port-forward transport),
 * answered with the 101 kube-apiserver's spdystream upgrader writes and then a raw byte echo.
 * No SPDY framing: this is for proving that a proxy relays the handshake (including the
 * negotiated `X-Stream-Protocol-Version`) and then bytes in both directions.
 */
import type { IncomingMessage } from 'node:http';
import type { UpgradeContext } from './context.js';
import { sendSwitchingProtocols } from './respond.js';

export const isSpdyUpgrade = (req: IncomingMessage): boolean => (req.headers.upgrade ?? '').toLowerCase() === 'spdy/3.1';

export const serveSpdyEcho = (ctx: UpgradeContext): void => {
  const { socket, head, record } = ctx;
  const headers: Array<[string, string]> = [
    ['Connection', 'Upgrade'],
    ['Upgrade', 'SPDY/3.1'],
  ];
  // httpstream.Handshake picks the first client version it supports; the double supports them all.
  const version = record.streamProtocolVersions[0];
  if (version !== undefined) headers.push(['X-Stream-Protocol-Version', version]);
  sendSwitchingProtocols(socket, record, headers);

  const untrack = ctx.streams.open(() => socket.destroy());
  socket.on('close', untrack);
  socket.on('error', () => socket.destroy());
  if (head.length > 0) socket.write(head);
  socket.pipe(socket);
};
