/**
 * `/readyz` (docs/reference/api.md): not ready while starting (the listener is bound before the
 * first administrator exists, issue 15 bug 6, so a balancer or a script must not send logins
 * yet), nor while draining or with the store unreachable; `/healthz` answers throughout.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import request from 'supertest';
import type { ApiContext } from '../../src/api/context.js';
import { healthRoutes } from '../../src/api/routes/health.js';

function app(state: { starting?: boolean; draining?: boolean; storeUp?: boolean }) {
  const ctx = {
    isStarting: () => state.starting ?? false,
    isDraining: () => state.draining ?? false,
    store: { ping: async () => (state.storeUp === false ? Promise.reject(new Error('down')) : undefined) },
  } as unknown as ApiContext;
  return express().use(healthRoutes(ctx));
}

describe('/readyz and /healthz', () => {
  it('says starting until start-up has finished, then ok', async () => {
    const state = { starting: true };
    const a = app(state);
    const early = await request(a).get('/readyz');
    assert.equal(early.status, 503);
    assert.equal(early.text, 'starting');
    assert.equal((await request(a).get('/healthz')).status, 200);
    state.starting = false;
    const ready = await request(a).get('/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.text, 'ok');
  });

  it('says draining, and store unreachable, with 503', async () => {
    assert.equal((await request(app({ draining: true })).get('/readyz')).text, 'draining');
    const down = await request(app({ storeUp: false })).get('/readyz');
    assert.equal(down.status, 503);
    assert.equal(down.text, 'store unreachable');
  });
});
