/** Audit lines, request ids and metrics for proxied and management requests (issue 7). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call } from '../support/gateway.js';
import { gatewayKubeconfig, kubectl, kubectlUntil, memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The audit file's lines, once it holds every line written so far (it is flushed every 250 ms). */
async function auditLines(path: string): Promise<any[]> {
  await wait(600);
  return (await readFile(path, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

describe('audit log and metrics', () => {
  let world: ProxyWorld;
  let alice: Awaited<ReturnType<typeof memberUser>>;
  const dir = mkdtempSync(join(tmpdir(), 'kubegate-audit-'));
  const auditPath = join(dir, 'audit.log');
  const metricsToken = 'metrics-secret-123';

  before(async () => {
    await writeFile(join(dir, 'metrics-token'), `${metricsToken}\n`);
    world = await startProxyWorld({ flags: ['--audit-log', auditPath, '--metrics-token-file', join(dir, 'metrics-token')] });
    alice = await memberUser(world, { username: 'alice', groups: ['dev'] });
  });
  after(() => world.stop());

  it('writes one line per proxied request with who, what and the outcome; the id matches X-Request-Id', async () => {
    const r = await call(world.gw, 'GET', `/k8s/clusters/${world.clusterId}/api/v1/namespaces/default/configmaps?limit=5`, { token: alice.token });
    assert.equal(r.status, 200);
    const id = r.headers['x-request-id'] as string;
    assert.match(id, /^[0-9a-f-]{36}$/);
    const line = (await auditLines(auditPath)).find((l) => l.requestId === id);
    assert.ok(line, 'audit line for the request');
    assert.equal(line.kind, 'proxy');
    assert.equal(line.user, 'alice');
    assert.equal(line.uid, alice.id);
    assert.deepEqual(line.groups, ['dev']);
    assert.equal(line.tokenId, alice.tokenId);
    assert.equal(line.cluster, world.clusterId);
    assert.equal(line.verb, 'list');
    assert.equal(line.resource, 'configmaps');
    assert.equal(line.namespace, 'default');
    assert.equal(line.status, 200);
    assert.ok(line.bytes > 0);
    assert.equal(typeof line.durationMs, 'number');
    assert.equal(line.clientAddress, '127.0.0.1');
  });

  it('audits denied requests and management API calls, and never a secret', async () => {
    const denied = await call(world.gw, 'GET', '/k8s/clusters/nope/api', { token: alice.token });
    assert.equal(denied.status, 403);
    const created = await call(world.gw, 'POST', '/v1/tokens', { token: alice.token, body: { description: 'audited' } });
    assert.equal(created.status, 201);
    const lines = await auditLines(auditPath);
    const d = lines.find((l) => l.requestId === denied.headers['x-request-id']);
    assert.equal(d.status, 403);
    assert.equal(d.reason, 'Forbidden');
    const api = lines.find((l) => l.requestId === created.headers['x-request-id']);
    assert.equal(api.kind, 'api');
    assert.equal(api.path, '/v1/tokens');
    assert.equal(api.user, 'alice');
    assert.equal(api.status, 201);
    const text = await readFile(auditPath, 'utf8');
    for (const secret of [alice.token, created.body.token, alice.password, world.double.gatewayToken]) assert.ok(!text.includes(secret), 'secret in audit log');
  });

  it('gives long-running requests a start line and an end line', async () => {
    const kubeconfig = await gatewayKubeconfig(world, alice.token, 'audit-kubeconfig.yaml');
    const follow = kubectlUntil(kubeconfig, ['logs', '-f', 'web-0'], /\n.*\n/);
    await follow.matched;
    follow.stop();
    await wait(300);
    const lines = (await auditLines(auditPath)).filter((l) => l.subresource === 'log');
    assert.ok(lines.some((l) => l.stage === 'start'));
    const end = lines.find((l) => l.stage === 'end');
    assert.ok(end, 'end line');
    assert.equal(end.user, 'alice');
    assert.ok(end.durationMs > 0);
  });

  it('accepts a caller X-Request-Id only from a trusted proxy', async () => {
    const r = await call(world.gw, 'GET', '/v1/me', { token: alice.token, headers: { 'X-Request-Id': 'spoofed-id' } });
    assert.notEqual(r.headers['x-request-id'], 'spoofed-id');
  });

  it('serves metrics behind the bearer token, with low-cardinality labels', async () => {
    const r0 = await kubectl(await gatewayKubeconfig(world, alice.token, 'm.yaml'), ['get', 'cm', '-o', 'name']);
    assert.equal(r0.code, 0, r0.stderr);
    const refused = await call(world.gw, 'GET', '/metrics');
    assert.equal(refused.status, 401);
    const r = await call(world.gw, 'GET', '/metrics', { headers: { Authorization: `Bearer ${metricsToken}` } });
    assert.equal(r.status, 200);
    assert.match(r.text, /kubegate_proxy_requests_total\{cluster="double",code="200",verb="list"\} \d+/);
    assert.match(r.text, /kubegate_proxy_requests_total\{cluster="",code="403",verb=""\} \d+/);
    assert.match(r.text, /kubegate_verdict_cache_hits_total \d+/);
    assert.match(r.text, /kubegate_verdict_cache_size [1-9]/);
    assert.match(r.text, /kubegate_proxy_overhead_seconds_bucket/);
    assert.match(r.text, /kubegate_upstream_response_seconds_bucket\{le="[\d.]+",cluster="double"\}/);
    assert.match(r.text, /kubegate_logins_total\{result="ok"\} [1-9]/);
    assert.match(r.text, /kubegate_store_lookup_seconds_count [1-9]/);
    assert.ok(!r.text.includes('alice'), 'user names never label metrics');
    assert.ok(!r.text.includes('nope'), 'cluster ids from refused paths never label metrics');
  });
});

describe('audit file rotation', () => {
  it('rotates by size and keeps the configured number of files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubegate-rotate-'));
    const world = await startProxyWorld({ flags: ['--audit-log', join(dir, 'audit.log'), '--audit-log-max-size', '4096', '--audit-log-max-files', '3'] });
    try {
      const alice = await memberUser(world, { username: 'alice' });
      for (let i = 0; i < 60; i++) await call(world.gw, 'GET', `/k8s/clusters/${world.clusterId}/api`, { token: alice.token });
      await wait(200);
      const files = (await readdir(dir)).sort();
      assert.deepEqual(files, ['audit.log', 'audit.log.1', 'audit.log.2']);
      for (const f of files) {
        const text = await readFile(join(dir, f), 'utf8');
        for (const l of text.split('\n').filter(Boolean)) JSON.parse(l); // whole lines only
      }
    } finally {
      await world.stop();
    }
  });
});
