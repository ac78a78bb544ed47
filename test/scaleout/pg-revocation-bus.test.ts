/**
 * `PgRevocationBus` on its own: what goes over NOTIFY (ids only), who receives it (the publisher at
 * once, exactly once; every other replica), what it ignores, and how it survives a listening
 * connection that dies silently — a TCP relay that stops forwarding without closing anything.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import pg from 'pg';
import { PgRevocationBus, REVOCATION_CHANNEL } from '../../src/auth/pg-revocation-bus.js';
import type { Revocation } from '../../src/auth/revocations.js';
import { createLogger } from '../../src/log.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { pollUntil } from './support.js';

let server: TestPostgres;
let url: string;
const buses: PgRevocationBus[] = [];

before(async () => {
  server = await startTestPostgres();
  url = await server.createDatabase();
});
after(async () => {
  await Promise.all(buses.map((b) => b.close()));
  await server?.destroy();
});

function logger(lines: string[] = []) {
  return createLogger('debug', new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
}

async function bus(options: { url?: string; lines?: string[]; livenessIntervalMs?: number; livenessTimeoutMs?: number } = {}) {
  const b = await PgRevocationBus.start({
    url: options.url ?? url,
    log: logger(options.lines),
    livenessIntervalMs: options.livenessIntervalMs,
    livenessTimeoutMs: options.livenessTimeoutMs,
    backoff: { initialMs: 50, maxMs: 500 },
  });
  buses.push(b);
  const events: Revocation[] = [];
  b.subscribe((e) => events.push(e));
  return { b, events };
}

/** A relay in front of PostgreSQL whose current connections can be frozen: no bytes, no FIN. */
async function freezableRelay(port: number): Promise<{ url: string; freeze(): void; close(): Promise<void> }> {
  const pairs: Array<[Socket, Socket]> = [];
  const frozen: Array<[Socket, Socket]> = [];
  const relay: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    pairs.push([client, upstream]);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const relayUrl = new URL(url);
  relayUrl.port = String((relay.address() as { port: number }).port);
  return {
    url: relayUrl.toString(),
    freeze() {
      for (const [client, upstream] of pairs.splice(0)) {
        frozen.push([client, upstream]);
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    async close() {
      for (const [client, upstream] of [...pairs, ...frozen]) client.destroy(), upstream.destroy();
      await new Promise((resolve) => relay.close(resolve));
    },
  };
}

describe('PgRevocationBus', () => {
  it('delivers to the publisher at once and exactly once, to other replicas via NOTIFY, with ids only', async () => {
    const a = await bus();
    const b = await bus();
    const raw: string[] = [];
    const spy = new pg.Client({ connectionString: url });
    await spy.connect();
    spy.on('notification', (m) => raw.push(m.payload ?? ''));
    await spy.query(`listen ${REVOCATION_CHANNEL}`);
    try {
      const publishing = a.b.publish({ type: 'token', tokenId: 't-abc' });
      assert.deepEqual(a.events, [{ type: 'token', tokenId: 't-abc' }], 'the publisher evicts before NOTIFY');
      await publishing;
      await a.b.publish({ type: 'principal', principal: 'group:ops team' });
      await a.b.publish({ type: 'user', userId: 'u-1' });
      const got = await pollUntil(async () => b.events.length, (n) => n === 3, { timeoutMs: 1_000 });
      assert.ok(got.ok);
      assert.deepEqual(b.events, [
        { type: 'token', tokenId: 't-abc' },
        { type: 'principal', principal: 'group:ops team' },
        { type: 'user', userId: 'u-1' },
      ]);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(a.events.length, 3, 'no second delivery of our own echo');
      const first = JSON.parse(raw[0]!) as Record<string, unknown>;
      assert.deepEqual(Object.keys(first).sort(), ['from', 'tokenId', 'type']);
    } finally {
      await spy.end();
    }
  });

  it('ignores notifications that are not ours to trust', async () => {
    const a = await bus();
    const lines: string[] = [];
    const b = await bus({ lines });
    for (const payload of ['not json', '{"type":"token"}', '{"type":"drop-table","from":"x"}', '{"type":"token","tokenId":"t\\u0000x","from":"x"}']) {
      await server.query('select pg_notify($1, $2)', [REVOCATION_CHANNEL, payload], url);
    }
    await a.b.publish({ type: 'all' });
    assert.ok((await pollUntil(async () => b.events.length, (n) => n >= 1, { timeoutMs: 1_000 })).ok);
    assert.deepEqual(b.events, [{ type: 'all' }]);
    assert.equal(lines.filter((l) => l.includes('malformed revocation')).length, 4);
  });

  it('finds a silently dead listening connection by its liveness query, reconnects and clears caches', async () => {
    const relay = await freezableRelay(Number(new URL(url).port));
    const a = await bus();
    const lines: string[] = [];
    const b = await bus({ url: relay.url, lines, livenessIntervalMs: 200, livenessTimeoutMs: 300 });
    try {
      assert.ok(b.b.listening);
      relay.freeze();
      // Published while B hears nothing: lost for B, which is why it must clear everything.
      await a.b.publish({ type: 'token', tokenId: 't-missed' });
      const cleared = await pollUntil(async () => b.events, (e) => e.some((x) => x.type === 'all'), { timeoutMs: 3_000 });
      assert.ok(cleared.ok, `B never noticed: ${lines.join('')}`);
      assert.ok(lines.some((l) => l.includes('liveness query got no answer')));
      assert.equal(b.b.stats.reconnects, 1);
      await a.b.publish({ type: 'token', tokenId: 't-after' });
      assert.ok((await pollUntil(async () => b.events, (e) => e.some((x) => x.type === 'token' && x.tokenId === 't-after'), { timeoutMs: 1_000 })).ok);
      // close() does not hang on the frozen connection either.
      const started = Date.now();
      await b.b.close();
      assert.ok(Date.now() - started < 2_000);
    } finally {
      await relay.close();
    }
  });

  it('keeps retrying while the server is down, then listens again and clears caches', async () => {
    const lines: string[] = [];
    const b = await bus({ lines });
    await server.stop();
    try {
      await pollUntil(async () => b.b.listening, (l) => !l, { timeoutMs: 2_000 });
      assert.equal(b.b.listening, false);
      assert.deepEqual(b.events, [], 'nothing is cleared while disconnected: cached verdicts keep serving');
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await server.start();
    }
    const back = await pollUntil(async () => b.events, (e) => e.some((x) => x.type === 'all'), { timeoutMs: 5_000 });
    assert.ok(back.ok, lines.join(''));
    assert.ok(b.b.listening);
    await assert.rejects(
      (async () => {
        const gone = await PgRevocationBus.start({ url: 'postgres://u:p@127.0.0.1:1/x', log: logger(), backoff: { initialMs: 50, maxMs: 100 } });
        buses.push(gone);
        assert.equal(gone.listening, false);
        await gone.publish({ type: 'all' });
      })(),
      (err: unknown) => (err as Error).name === 'StoreUnavailableError',
    );
  });
});
