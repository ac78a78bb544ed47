/** The webhook's HTTP surface on a real socket: reviews in both versions, errors, limits, /healthz. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { request } from 'node:http';
import { AuthnCopy } from '../../src/webhook/authn-copy.js';
import { createWebhookServer, MAX_REVIEW_BYTES } from '../../src/webhook/server.js';
import { alice, page, tokenFor } from './fixtures.js';

function send(port: number, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const review = (token: string, apiVersion?: string) => JSON.stringify({ ...(apiVersion === undefined ? {} : { apiVersion }), kind: 'TokenReview', spec: { token } });

describe('webhook server', () => {
  const copy = new AuthnCopy('prod');
  const server = createWebhookServer(copy, (err) => assert.fail(String(err)));
  const good = tokenFor(alice);
  let port: number;
  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('is unhealthy and answers 503 until a copy is loaded', async () => {
    assert.equal((await send(port, 'GET', '/healthz')).status, 503);
    const res = await send(port, 'POST', '/v1/authenticate', review(good.issued.token, 'authentication.k8s.io/v1'));
    assert.equal(res.status, 503);
    copy.apply(page({ tokens: [good.synced], users: [alice] }));
    const healthy = await send(port, 'GET', '/healthz');
    assert.equal(healthy.status, 200);
    assert.equal(healthy.body, 'ok');
  });

  for (const [asked, answered] of [
    ['authentication.k8s.io/v1', 'authentication.k8s.io/v1'],
    ['authentication.k8s.io/v1beta1', 'authentication.k8s.io/v1beta1'],
    ['', 'authentication.k8s.io/v1beta1'],
    [undefined, 'authentication.k8s.io/v1beta1'],
  ] as const) {
    it(`answers a review asked as ${JSON.stringify(asked)} in ${answered}`, async () => {
      const res = await send(port, 'POST', '/v1/authenticate', review(good.issued.token, asked));
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /application\/json/);
      const body = JSON.parse(res.body);
      assert.equal(body.apiVersion, answered);
      assert.equal(body.kind, 'TokenReview');
      assert.deepEqual(body.status.user, {
        username: 'alice',
        uid: 'u-alice',
        groups: ['dev', 'ops', 'kubegate:authenticated'],
        extra: { 'kubegate.io/token-id': [good.issued.id] },
      });
      assert.ok(!res.body.includes(good.issued.secret), 'the answer never echoes the token');
    });
  }

  it('answers 200 authenticated:false with an error for a refused token', async () => {
    const res = await send(port, 'POST', '/v1/authenticate', review(tokenFor(alice).issued.token, 'authentication.k8s.io/v1'));
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body).status, { authenticated: false, error: 'invalid token' });
  });

  it('answers 400 with a Status for a malformed review', async () => {
    for (const body of ['{', '[]', JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'Pod', spec: { token: 'x' } }), JSON.stringify({ spec: {} })]) {
      const res = await send(port, 'POST', '/v1/authenticate', body);
      assert.equal(res.status, 400, body);
      const status = JSON.parse(res.body);
      assert.equal(status.kind, 'Status');
      assert.equal(status.reason, 'BadRequest');
      assert.match(status.message, /^malformed TokenReview: /);
    }
  });

  it('refuses bodies over the size limit, declared or streamed', async () => {
    const big = review('x'.repeat(MAX_REVIEW_BYTES));
    assert.equal((await send(port, 'POST', '/v1/authenticate', big)).status, 413);
    const chunked = await send(port, 'POST', '/v1/authenticate', big, { 'Transfer-Encoding': 'chunked' });
    assert.equal(chunked.status, 413);
    const justUnder = review('x'.repeat(MAX_REVIEW_BYTES - 200));
    assert.equal((await send(port, 'POST', '/v1/authenticate', justUnder)).status, 200);
  });

  it('reads a review that arrives in several chunks', async () => {
    const body = review(good.issued.token, 'authentication.k8s.io/v1');
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/authenticate', headers: { 'Content-Type': 'application/json' } }, (r) => {
        let text = '';
        r.on('data', (c) => (text += c));
        r.on('end', () => resolve({ status: r.statusCode!, body: text }));
      });
      req.on('error', reject);
      // Split inside the token, each piece flushed on its own, so the server sees more than one chunk.
      const pieces = [body.slice(0, 20), body.slice(20, 90), body.slice(90)];
      const next = (): void => {
        const piece = pieces.shift();
        if (piece === undefined) return void req.end();
        req.write(piece, () => setTimeout(next, 5));
      };
      next();
    });
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).status.user.username, 'alice');
  });

  it('survives a client that goes away mid-body, reporting it once', async () => {
    const errors: unknown[] = [];
    const other = createWebhookServer(copy, (err) => errors.push(err));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    try {
      const otherPort = (other.address() as AddressInfo).port;
      await new Promise<void>((resolve) => {
        const req = request({ host: '127.0.0.1', port: otherPort, method: 'POST', path: '/v1/authenticate', headers: { 'Content-Length': '100' } });
        req.on('error', () => resolve());
        req.write('{"spec":', () => setTimeout(() => req.destroy(), 20));
      });
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(errors.length, 1);
      const res = await send(otherPort, 'POST', '/v1/authenticate', review(good.issued.token, 'authentication.k8s.io/v1'));
      assert.equal(res.status, 200);
    } finally {
      other.closeAllConnections();
      other.close();
    }
  });

  it('answers 400 for an empty body', async () => {
    const res = await send(port, 'POST', '/v1/authenticate', '');
    assert.equal(res.status, 400);
    assert.match(JSON.parse(res.body).message, /^malformed TokenReview: /);
  });

  it('answers 405 for other methods and 404 elsewhere', async () => {
    assert.equal((await send(port, 'GET', '/v1/authenticate')).status, 405);
    assert.equal((await send(port, 'POST', '/v1/other', '{}')).status, 404);
    assert.equal((await send(port, 'GET', '/')).status, 404);
  });
});
