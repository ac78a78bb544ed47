/**
 * Issue 15, bug 5, end to end: a gateway started with `--listen` on another port (here any free
 * one) and no `--public-url` says at start which URL kubeconfigs will carry, and a downloaded
 * kubeconfig works with real kubectl as it is.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { kubectl, memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';
import { call } from '../support/gateway.js';

describe('--public-url follows --listen', () => {
  let world: ProxyWorld;
  before(async () => {
    world = await startProxyWorld();
  });
  after(() => world?.stop());

  it('logs the URL kubeconfigs carry, which is where it listens; kubectl works with the file as downloaded', async () => {
    const port = new URL(world.gw.url).port;
    const listening = world.gw.logs.map((l) => JSON.parse(l)).find((l) => String(l.msg).startsWith('kubegate listening'));
    assert.equal(listening.msg, `kubegate listening on ${world.gw.url}; kubeconfigs will point at https://127.0.0.1:${port}`);
    assert.equal(listening.publicUrl, `https://127.0.0.1:${port}`);
    assert.equal(listening.from, 'the --listen port');

    const alice = await memberUser(world, { username: 'alice' });
    const res = await call(world.gw, 'POST', `/v1/clusters/${world.clusterId}/kubeconfig`, { token: alice.token });
    assert.equal(res.status, 200, res.text);
    assert.equal(parseYaml(res.text).clusters[0].cluster.server, `https://127.0.0.1:${port}/k8s/clusters/${world.clusterId}`);
    const file = join(world.gw.dir, 'downloaded.yaml');
    await writeFile(file, res.text, { mode: 0o600 });
    const r = await kubectl(file, ['get', 'ns', '-o', 'name']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /namespace\/default/);
  });
});
