/** The webhook's background sync against a scripted gateway: cursor, backoff, persistence, restart. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { issueToken } from '../../src/auth/tokens.js';
import { createLogger } from '../../src/log.js';
import type { AuthnSync } from '../../src/sync/protocol.js';
import { readState } from '../../src/webhook/state-file.js';
import { DEFAULT_BACKOFF, retryDelayMs } from '../../src/webhook/syncer.js';
import { startWebhook, type Webhook } from '../../src/webhook/webhook.js';
import { alice, page, tokenFor } from './fixtures.js';
import { eventually, tokenReview } from './support.js';

type Answer = { status: number; body: unknown } | AuthnSync;

/** A gateway that answers the feed from a script, recording each request. */
async function scriptedGateway(script: Answer[]) {
  const seen: Array<{ url: string; authorization: string | undefined }> = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    seen.push({ url: req.url!, authorization: req.headers.authorization });
    const next = script.shift() ?? { status: 503, body: { error: { code: 503, reason: 'ServiceUnavailable', message: 'script over' } } };
    const [status, body] = 'kind' in next ? [200, next] : [next.status, next.body];
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, seen, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('the retry schedule', () => {
  it('doubles from 250 ms and never waits more than 1 s, so the webhook is back within 2 s of the gateway', () => {
    const lowest = [1, 2, 3, 4, 50].map((n) => retryDelayMs(n, DEFAULT_BACKOFF, () => 0));
    const highest = [1, 2, 3, 4, 50].map((n) => retryDelayMs(n, DEFAULT_BACKOFF, () => 1));
    assert.deepEqual(lowest, [125, 250, 500, 500, 500]);
    assert.deepEqual(highest, [250, 500, 1000, 1000, 1000]);
  });
});

describe('webhook sync', () => {
  let dir: string;
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger('debug', new Writable({ write: (c, _e, cb) => (lines.push(...String(c).trim().split('\n').map((l) => JSON.parse(l))), cb()) }));
  const agentToken = issueToken().token;
  const one = tokenFor(alice);
  const two = tokenFor(alice);
  const config = (gateway: string) => ({
    gateway: new URL(gateway),
    clusterId: 'prod',
    agentToken,
    gatewayCaPem: undefined,
    listen: { host: '127.0.0.1', port: 0 },
    stateDir: dir,
    logLevel: 'debug',
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kubegate-sync-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('takes a full copy, then long-polls from its revision, backing off through failures', async () => {
    const gw = await scriptedGateway([
      page({ revision: 5, tokens: [one.synced], users: [alice] }),
      { status: 503, body: { error: { code: 503, reason: 'ServiceUnavailable', message: 'store down' } } },
      { status: 200, body: { not: 'a page' } },
      page({ full: false, revision: 6, tokens: [two.synced], users: [alice], deletedTokens: [one.synced.id] }),
    ]);
    let webhook: Webhook | undefined;
    try {
      webhook = await startWebhook(config(gw.url), log, { waitSeconds: 7, backoff: { initialMs: 20, maxMs: 40 } });
      await eventually('the delta to apply', async () => webhook!.copy.cursor?.revision === 6);
      // The copy is applied, then saved, then the recovery logged: wait for the last of them.
      await eventually('the recovery to be logged', async () => lines.some((l) => l.msg === 'sync with the gateway restored'));
      assert.equal((await tokenReview(webhook.url, two.issued.token)).body.status.authenticated, true);
      assert.equal((await tokenReview(webhook.url, one.issued.token)).body.status.authenticated, false);

      assert.equal(gw.seen[0]!.url, '/v1/clusters/prod/authn-sync');
      assert.equal(gw.seen[1]!.url, '/v1/clusters/prod/authn-sync?revision=5&epoch=e1&waitSeconds=7');
      assert.equal(gw.seen[3]!.url, '/v1/clusters/prod/authn-sync?revision=5&epoch=e1&waitSeconds=7');
      assert.ok(gw.seen.every((r) => r.authorization === `Bearer ${agentToken}`));

      const failures = lines.filter((l) => l.msg === 'sync with the gateway failed');
      assert.deepEqual(failures.slice(0, 2).map((l) => l.failures), [1, 2]);
      assert.match(String(failures[0]!.error), /503: store down/);
      assert.match(String(failures[1]!.error), /malformed sync page/);
      assert.ok(failures.every((l) => typeof l.lastSyncedAt === 'string'));

      const saved = readState(dir, 'prod');
      assert.equal(saved?.snapshot.revision, 6);
      assert.deepEqual(saved?.snapshot.tokens.map((t) => t.id), [two.synced.id]);
      assert.ok(!JSON.stringify(lines).includes(agentToken.split('.')[1]!), 'the agent token is never logged');
    } finally {
      await webhook?.close();
      gw.server.close();
    }
  });

  it('after a restart serves the saved copy at once and continues from its revision', async () => {
    const gw = await scriptedGateway([page({ full: false, revision: 7, users: [{ ...alice, enabled: false }] })]);
    let webhook: Webhook | undefined;
    try {
      webhook = await startWebhook(config(gw.url), log, { waitSeconds: 3, backoff: { initialMs: 1000, maxMs: 1000 } });
      assert.equal(webhook.copy.loaded, true);
      await eventually('the delta to apply', async () => webhook!.copy.cursor?.revision === 7);
      assert.equal(gw.seen[0]!.url, '/v1/clusters/prod/authn-sync?revision=6&epoch=e1&waitSeconds=3');
      assert.deepEqual((await tokenReview(webhook.url, two.issued.token)).body.status, { authenticated: false, error: 'user is disabled' });
    } finally {
      await webhook?.close();
      gw.server.close();
    }
  });

  it('refuses a page for another cluster', async () => {
    const gw = await scriptedGateway([page({ clusterId: 'dev', revision: 99 })]);
    let webhook: Webhook | undefined;
    try {
      webhook = await startWebhook(config(gw.url), log, { backoff: { initialMs: 1000, maxMs: 1000 } });
      await eventually('a failure', async () => lines.some((l) => String(l.error).includes('gateway sent cluster "dev"')));
      assert.equal(webhook.copy.cursor?.revision, 7);
    } finally {
      await webhook?.close();
      gw.server.close();
    }
  });
});
