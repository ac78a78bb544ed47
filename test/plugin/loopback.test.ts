/**
 * `kubegate token`'s loopback redirect (src/credential-plugin/loopback.ts): only this run's
 * `state` counts, anything else on the port is told off and ignored, the browser learns whether
 * the login worked, and a taken port falls through to the next.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { awaitLoopbackRedirect, listenOnLoopback } from '../../src/credential-plugin/loopback.js';
import { PluginError } from '../../src/credential-plugin/plugin-error.js';

const get = async (port: number, path: string): Promise<{ status: number; text: string; csp: string | null }> => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, text: await res.text(), csp: res.headers.get('content-security-policy') };
};

describe('the loopback redirect', () => {
  it('ignores other paths and other states, then completes with this run\'s answer', async () => {
    const loopback = await listenOnLoopback([0]);
    const completed: string[] = [];
    const result = awaitLoopbackRedirect(loopback, {
      state: 'the-state',
      timeoutMs: 10_000,
      complete: async (url) => {
        completed.push(url);
        return 'token';
      },
    });
    try {
      assert.equal((await get(loopback.port, '/')).status, 404);
      const foreign = await get(loopback.port, '/callback?code=stolen&state=another');
      assert.equal(foreign.status, 400);
      assert.equal(completed.length, 0, 'a foreign answer is never exchanged');
      const markup = await get(loopback.port, `/callback?code=x&state=${encodeURIComponent('<b>')}`);
      assert.doesNotMatch(markup.text, /<b>/);
      const ok = await get(loopback.port, '/callback?code=abc&state=the-state&iss=https%3A%2F%2Fidp');
      assert.equal(ok.status, 200);
      assert.equal(ok.csp, "default-src 'none'");
      assert.match(ok.text, /You are logged in to kubegate/);
      assert.equal(await result, 'token');
      assert.deepEqual(completed, [`http://127.0.0.1:${loopback.port}/callback?code=abc&state=the-state&iss=https%3A%2F%2Fidp`]);
    } finally {
      loopback.close();
    }
  });

  it('an error from the provider ends the wait with one line; a failed exchange shows its message in the browser', async () => {
    const loopback = await listenOnLoopback([0]);
    try {
      // The wait ends before the test looks at it: keep its outcome.
      const denied = awaitLoopbackRedirect(loopback, { state: 's', timeoutMs: 10_000, complete: async () => 'never' }).catch((e: unknown) => e);
      assert.equal((await get(loopback.port, '/callback?error=access_denied&state=s')).status, 401);
      const why = await denied;
      assert.ok(why instanceof PluginError && /cancelled or refused at the identity provider \(access_denied\)/.test(why.message), String(why));
      const failing = awaitLoopbackRedirect(loopback, { state: 't', timeoutMs: 10_000, complete: async () => Promise.reject(new PluginError('the gateway said no')) }).catch((e: unknown) => e);
      const page = await get(loopback.port, '/callback?code=c&state=t');
      assert.equal(page.status, 401);
      assert.match(page.text, /the gateway said no/);
      assert.match(String(await failing), /the gateway said no/);
    } finally {
      loopback.close();
    }
  });

  it('gives up after its timeout', async () => {
    const loopback = await listenOnLoopback([0]);
    try {
      await assert.rejects(awaitLoopbackRedirect(loopback, { state: 's', timeoutMs: 50, complete: async () => 'x' }), /no answer from the browser/);
    } finally {
      loopback.close();
    }
  });

  it('takes the next port when one is in use, and says which when none is free', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const loopback = await listenOnLoopback([taken, 0]);
      assert.notEqual(loopback.port, taken);
      loopback.close();
      await assert.rejects(listenOnLoopback([taken]), (e: unknown) => e instanceof PluginError && e.message.includes(`port ${taken}`) && e.message.includes('EADDRINUSE'));
    } finally {
      blocker.close();
    }
  });
});
