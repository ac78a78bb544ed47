/**
 * Issue 14, finding 3: nobody can hold a connection open by announcing a body and not sending it.
 * Every route outside the proxy has a body deadline (`--body-timeout`), whether or not it reads
 * the body; a proxied request refused before forwarding is answered at once with
 * `Connection: close` and the connection closed, without reading or waiting for its body.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type TLSSocket } from 'node:tls';
import { memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';
import { gatewayPort } from './raw-http.js';

const BODY_TIMEOUT_MS = 1_000;
/** Upper bound for "closed": the deadline plus the server's connection-check interval and load. */
const CLOSED_WITHIN_MS = 6_000;

interface Held {
  /** The answer's head, if one came. */
  head: () => string;
  /** Resolves true when the gateway closed the connection, false after `CLOSED_WITHIN_MS`. */
  closed: Promise<boolean>;
  stop(): void;
}

/** Opens a connection, sends `head`, then trickles one body byte every 200 ms (never completing). */
function hold(port: number, ca: string, head: string): Held {
  const socket: TLSSocket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => socket.write(head));
  socket.on('error', () => {});
  let text = '';
  socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
  const drip = setInterval(() => socket.writable && socket.write('x'), 200);
  let timer: NodeJS.Timeout;
  const closed = new Promise<boolean>((resolve) => {
    socket.once('close', () => resolve(true));
    timer = setTimeout(() => resolve(false), CLOSED_WITHIN_MS);
  }).finally(() => {
    clearInterval(drip);
    clearTimeout(timer);
  });
  return { head: () => text.split('\r\n\r\n')[0]!, closed, stop: () => socket.destroy() };
}

describe('held connections are closed', () => {
  let world: ProxyWorld;
  let port: number;
  let outsider: string;

  before(async () => {
    world = await startProxyWorld({ flags: ['--body-timeout', `${BODY_TIMEOUT_MS}ms`] });
    port = gatewayPort(world.gw.url);
    outsider = (await memberUser(world, { username: 'mallory' }, 'none')).token;
  });
  after(() => world.stop());

  const post = (path: string, length: number, extra = '') =>
    `POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${extra}\r\n`;

  for (const [what, head] of [
    ['POST /ui/login announcing 8000 bytes', post('/ui/login', 8_000)],
    ['POST /v1/login announcing 8000 bytes', post('/v1/login', 8_000)],
    ['GET /healthz announcing a body it does not read', `GET /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 8000\r\n\r\n`],
    ['POST / (the web UI) with a chunked body', `POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n`],
  ] as const) {
    it(`closes ${what} at the body deadline`, async () => {
      const held = hold(port, world.gw.caPem!, head);
      try {
        assert.equal(await held.closed, true, 'the gateway closed the connection');
      } finally {
        held.stop();
      }
    });
  }

  for (const [what, extra] of [
    ['no token (401)', ''],
    ['a bad token (401)', 'Authorization: Bearer kgt_t-nope.nope\r\n'],
    ["a non-member's token (403)", 'Authorization: Bearer OUTSIDER\r\n'],
  ] as const) {
    it(`answers a proxied POST announcing 100 MB with ${what} at once and closes the connection, the cluster seeing nothing`, async () => {
      world.double.clearRequests();
      const head = post(`/k8s/clusters/${world.clusterId}/api/v1/namespaces/default/configmaps`, 100_000_000, extra.replace('OUTSIDER', outsider));
      const held = hold(port, world.gw.caPem!, head);
      try {
        assert.equal(await held.closed, true, 'the gateway closed the connection');
        assert.match(held.head(), /^HTTP\/1\.1 40[13] /);
        assert.match(held.head(), /\r\nconnection: close/i);
        assert.equal(world.double.requests.length, 0);
      } finally {
        held.stop();
      }
    });
  }
});
