/**
 * Issue 15, bug 6: the first administrator is created only once the listener is bound, so a first
 * start that fails (here: the port is taken) has not printed the generated password "once" for
 * nothing; the next start creates the administrator and prints its password.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadGatewayConfig } from '../../src/config/gateway-config.js';
import { startGateway } from '../../src/gateway.js';
import { createLogger } from '../../src/log.js';
import { freePort } from '../support/ports.js';
import { login } from '../support/gateway.js';
import { Agent } from 'node:https';

describe('the first start', () => {
  let dir: string;
  let squatter: Server;
  let port: number;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kubegate-first-'));
    port = await freePort();
    squatter = createServer();
    await new Promise<void>((r) => squatter.listen(port, '127.0.0.1', r));
  });
  after(async () => {
    squatter.close();
    await rm(dir, { recursive: true, force: true });
  });

  const config = () =>
    loadGatewayConfig(['--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'data'), '--certs-dir', join(dir, 'certs'), '--audit-log', join(dir, 'audit.log'), '--shutdown-grace', '0s'], {});
  const quiet = createLogger('error', new Writable({ write: (_c, _e, cb) => cb() }));

  it('a start that cannot bind creates no administrator and prints no password; the next start does', async () => {
    const announced: string[] = [];
    await assert.rejects(startGateway(config(), quiet, { announce: (l) => announced.push(l) }), /--listen \(KUBEGATE_LISTEN\): cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
    assert.equal(announced.length, 0, 'no password shown for a start that failed');

    await new Promise<void>((r) => squatter.close(() => r()));
    const gw = await startGateway(config(), quiet, { announce: (l) => announced.push(l) });
    try {
      assert.equal(announced.length, 1);
      const password = /created user "admin" with password (\S+) /.exec(announced[0]!)?.[1];
      assert.ok(password !== undefined, announced[0]);
      const agent = new Agent({ ca: gw.caPem });
      try {
        assert.match(await login({ url: gw.url, agent }, 'admin', password), /^kgt_/);
      } finally {
        agent.destroy();
      }
    } finally {
      await gw.close();
    }
  });
});
