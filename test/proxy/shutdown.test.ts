/** Graceful shutdown (issue 6): readyz fails at once, accepted requests finish, streams end, no drops. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { request } from 'node:https';
import { call } from '../support/gateway.js';
import { memberUser, startProxyWorld } from '../support/cluster.js';
import { h2Head, h2Session, h2Stream } from '../support/h2-client.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('graceful shutdown', () => {
  it('drains: readyz 503 during the grace, in-flight requests finish, watches end, then it stops', async () => {
    const world = await startProxyWorld({ flags: ['--shutdown-grace', '600ms', '--shutdown-timeout', '5s'] });
    let stopped = false;
    try {
      const { token } = await memberUser(world, { username: 'alice' });
      const base = `/k8s/clusters/${world.clusterId}`;

      // A long-running watch, open (its answer's headers in) before the shutdown starts.
      let watchOpen!: () => void;
      const watchStarted = new Promise<void>((resolve) => (watchOpen = resolve));
      const watchEnded = new Promise<string>((resolve) => {
        const r = request(new URL(`${base}/api/v1/namespaces/default/configmaps?watch=true`, world.gw.url), { agent: world.gw.agent, headers: { Authorization: `Bearer ${token}` } }, (res) => {
          watchOpen();
          res.on('data', () => {});
          res.on('end', () => resolve('end'));
          res.on('error', () => resolve('error'));
          res.on('close', () => resolve('close'));
        });
        r.on('error', () => resolve('error'));
        r.end();
      });
      await watchStarted;

      // An upload that is still sending its body when the shutdown starts.
      const upload = new Promise<number>((resolve, reject) => {
        const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'slow-upload' }, data: { a: 'b' } });
        const r = request(new URL(`${base}/api/v1/namespaces/default/configmaps`, world.gw.url), {
          method: 'POST',
          agent: world.gw.agent,
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
        }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        r.on('error', reject);
        r.write(body.slice(0, 10));
        setTimeout(() => r.end(body.slice(10)), 1_200);
      });
      // The upload is accepted once it reaches the cluster (its body streams on).
      while (!world.double.requests.some((r) => r.method === 'POST' && r.path.endsWith('/configmaps'))) await wait(10);

      // Draining starts synchronously with close().
      const closing = world.gw.close().then(() => (stopped = true));
      const ready = await call(world.gw, 'GET', '/readyz');
      assert.equal(ready.status, 503, 'readyz fails at once');
      const during = await call(world.gw, 'GET', `${base}/api`, { token });
      assert.equal(during.status, 200, 'still serving during the grace period');
      assert.equal(during.headers.connection, 'close');

      assert.equal(await upload, 201, 'the accepted upload finished');
      await closing;
      assert.ok(stopped);
      // The gateway cut the watch when the grace was over (client-go re-watches on another replica):
      // the client sees its answer aborted, not finished.
      assert.equal(await watchEnded, 'error');
      await assert.rejects(call(world.gw, 'GET', '/healthz'), 'no longer listening');
    } finally {
      if (!stopped) await world.gw.close().catch(() => {});
      await world.double.stop();
      await rm(world.gw.dir, { recursive: true, force: true });
    }
  });

  it('drains HTTP/2 connections: GOAWAY, the open streams finish (an upload), watches end, then it stops', async () => {
    const world = await startProxyWorld({ flags: ['--shutdown-grace', '300ms', '--shutdown-timeout', '5s'] });
    let stopped = false;
    const session = await h2Session(world.gw.url, world.gw.caPem!);
    try {
      const { token } = await memberUser(world, { username: 'alice' });
      const base = `/k8s/clusters/${world.clusterId}`;
      const watch = h2Stream(session, 'GET', `${base}/api/v1/namespaces/default/configmaps?watch=true`, { token });
      await h2Head(watch);
      watch.resume();
      const watchEnded = new Promise<void>((resolve) => watch.once('close', resolve));
      const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));

      // An upload whose body is still coming when the shutdown starts.
      const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'h2-upload' }, data: { a: 'b' } });
      const upload = session.request({ ':method': 'POST', ':path': `${base}/api/v1/namespaces/default/configmaps`, authorization: `Bearer ${token}`, 'content-type': 'application/json' });
      upload.write(body.slice(0, 10));
      const uploaded = h2Head(upload);
      upload.resume();

      const closing = world.gw.close().then(() => (stopped = true));
      // The GOAWAY comes while the upload is open; the upload may still finish on its stream.
      await goaway;
      upload.end(body.slice(10));
      assert.equal(Number((await uploaded)[':status']), 201, 'the accepted upload finished');
      await watchEnded;
      await closing;
      assert.ok(stopped);
      assert.ok(world.double.store.has({ group: '', resource: 'configmaps' }, 'default', 'h2-upload'));
    } finally {
      session.destroy();
      if (!stopped) await world.gw.close().catch(() => {});
      await world.double.stop();
      await rm(world.gw.dir, { recursive: true, force: true });
    }
  });
});
