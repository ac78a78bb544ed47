/**
 * Connections to a cluster through a Dialer and TLS: the connect deadline bounds only the opening,
 * the certificate is checked against the address, and a dialer's stream needs no TCP socket.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createNetServer, type Server as NetServer, type AddressInfo } from 'node:net';
import { PassThrough, Duplex } from 'node:stream';
import { createSecureContext, createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { createCa, signLeaf } from '../../src/tls/certificates.js';
import { Connector } from '../../src/upstream/connector.js';
import { tcpDialer, type Dialer } from '../../src/upstream/dialer.js';
import { freePort } from '../support/ports.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

function echoOnce(socket: Duplex, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    socket.once('data', (c: Buffer) => resolve(c.toString()));
    socket.once('error', reject);
    socket.write(text);
  });
}

describe('Connector', () => {
  let tlsServer: TlsServer;
  let silent: NetServer;
  let tlsPort: number;
  let silentPort: number;
  let caPem: string;

  before(async () => {
    const ca = await createCa('connector-test-ca');
    caPem = ca.certPem;
    const leaf = await signLeaf(ca, { commonName: 'cluster', hosts: ['127.0.0.1'], usage: 'server' });
    tlsServer = createTlsServer({ cert: leaf.certPem, key: leaf.keyPem, ALPNProtocols: ['h2', 'http/1.1'] }, (s) => s.pipe(s));
    // Accepts TCP and never answers the TLS handshake.
    silent = createNetServer(() => {});
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    tlsPort = (tlsServer.address() as AddressInfo).port;
    silentPort = (silent.address() as AddressInfo).port;
  });
  after(() => {
    tlsServer.close();
    silent.close();
  });

  const tls = () => ({ secureContext: createSecureContext({ ca: caPem }), servername: undefined, rejectUnauthorized: true });

  it('keeps a connection usable long after the connect deadline', async () => {
    // Long enough for a handshake on a loaded machine, short enough to wait past in a test.
    const deadlineMs = 1_500;
    const connector = new Connector({ host: '127.0.0.1', port: tlsPort }, tls(), tcpDialer, deadlineMs);
    const { socket, protocol } = await connector.open(['http/1.1']);
    assert.equal(protocol, 'http/1.1');
    await wait(deadlineMs + 300);
    assert.equal(await echoOnce(socket, 'still here'), 'still here');
    socket.destroy();
  });

  it('negotiates h2 when offered first', async () => {
    const connector = new Connector({ host: '127.0.0.1', port: tlsPort }, tls(), tcpDialer);
    const { socket, protocol } = await connector.open(['h2', 'http/1.1']);
    assert.equal(protocol, 'h2');
    socket.destroy();
  });

  it('checks the certificate against the address', async () => {
    const connector = new Connector({ host: '127.0.0.1', port: tlsPort }, { ...tls(), servername: 'elsewhere.example' }, tcpDialer);
    await assert.rejects(connector.open(['http/1.1']), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  it('gives up with ETIMEDOUT when the handshake does not complete in time', async () => {
    const connector = new Connector({ host: '127.0.0.1', port: silentPort }, tls(), tcpDialer, 100);
    await assert.rejects(connector.open(['http/1.1']), { code: 'ETIMEDOUT' });
  });

  it('reports a refused connection with its code', async () => {
    const connector = new Connector({ host: '127.0.0.1', port: await freePort() }, undefined, tcpDialer);
    await assert.rejects(connector.open(['http/1.1']), { code: 'ECONNREFUSED' });
  });

  it('runs over any dialer: a plain stream, no TCP socket', async () => {
    const dialed: string[] = [];
    const loopback: Dialer = {
      async dial(address) {
        dialed.push(`${address.host}:${address.port}`);
        const a = new PassThrough();
        const b = new PassThrough();
        // An in-memory pipe whose far end echoes: what an agent's tunnel stream looks like.
        const near = Duplex.from({ readable: a, writable: b });
        b.pipe(a);
        return near;
      },
    };
    const connector = new Connector({ host: 'cluster.internal', port: 6443 }, undefined, loopback);
    const { socket } = await connector.open(['http/1.1']);
    assert.deepEqual(dialed, ['cluster.internal:6443']);
    assert.equal(await echoOnce(socket, 'through the tunnel'), 'through the tunnel');
  });
});
