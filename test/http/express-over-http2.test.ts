/**
 * The management API's Express app over HTTP/2 behaves as over HTTP/1.1 where routes rely on it:
 * chained `setHeader` (the single sign-on callback chains it), several Set-Cookie lines, status
 * codes and bodies.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { expressOverHttp2 } from '../../src/http/express-over-http2.js';
import { GatewayHttp2Request, GatewayHttp2Response } from '../../src/http/http2-compat.js';

describe('Express over HTTP/2', () => {
  let server: http2.Http2Server;
  let client: http2.ClientHttp2Session;

  before(async () => {
    const app = express();
    app.get('/chained', (_req, res) => {
      res.status(303).set({ Location: '/#/clusters' }).setHeader('Set-Cookie', ['a=1; Path=/', 'b=2; Path=/']).end();
    });
    app.get('/plain', (_req, res) => {
      res.setHeader('X-Chained', 'yes').end('ok');
    });
    server = http2.createServer({ Http2ServerRequest: GatewayHttp2Request, Http2ServerResponse: GatewayHttp2Response }, expressOverHttp2(app) as never);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });

  after(() => {
    client.close();
    server.close();
  });

  function get(path: string): Promise<{ headers: http2.IncomingHttpHeaders; body: string }> {
    return new Promise((resolve, reject) => {
      const stream = client.request({ ':path': path });
      let body = '';
      let headers: http2.IncomingHttpHeaders = {};
      stream.on('response', (h) => (headers = h));
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => (body += c));
      stream.on('end', () => resolve({ headers, body }));
      stream.on('error', reject);
    });
  }

  it('chains setHeader into the answer, with each cookie on its own line', async () => {
    const r = await get('/chained');
    assert.equal(r.headers[':status'], 303);
    assert.equal(r.headers.location, '/#/clusters');
    assert.deepEqual(r.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/']);
  });

  it('sends the body after a chained setHeader', async () => {
    const r = await get('/plain');
    assert.equal(r.headers[':status'], 200);
    assert.equal(r.headers['x-chained'], 'yes');
    assert.equal(r.body, 'ok');
  });
});
