/**
 * Who may open a tunnel (issue 17): only a cluster's own agent token, for a cluster registered
 * with `connection: agent`, upgrading to kubegate-tunnel.v1. Every refusal is a `Status` and the
 * socket closes; nothing is accepted as a tunnel.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { ADMIN_PASSWORD, call, login, startTestGateway, type TestGateway } from '../support/gateway.js';

describe('the agent connect endpoint', () => {
  let gw: TestGateway;
  let admin: string;
  let edgeToken: string;
  let otherToken: string;
  let directToken: string;

  before(async () => {
    gw = await startTestGateway();
    admin = await login(gw, 'admin', ADMIN_PASSWORD);
    const reg = async (body: object) => (await call(gw, 'POST', '/v1/clusters', { token: admin, body })).body.agentToken as string;
    edgeToken = await reg({ id: 'edge', connection: 'agent' });
    otherToken = await reg({ id: 'other', connection: 'agent' });
    directToken = await reg({ id: 'direct', server: 'https://10.0.0.1:6443', credential: { token: 'x' } });
  });
  after(() => gw?.stop());

  /** Sends an upgrade and reads the whole answer (the gateway closes the socket after a refusal). */
  function upgrade(path: string, headers: Record<string, string>): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: Number(new URL(gw.url).port), ca: gw.caPem, servername: 'localhost' }, () => {
        const lines = Object.entries({ Host: 'localhost', Connection: 'Upgrade', Upgrade: 'kubegate-tunnel.v1', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
        s.write(`GET ${path} HTTP/1.1\r\n${lines.join('')}\r\n`);
      });
      let text = '';
      s.on('data', (c) => {
        text += c;
        if (text.startsWith('HTTP/1.1 101')) {
          s.destroy();
          resolve(text);
        }
      });
      s.on('end', () => resolve(text));
      s.on('error', reject);
    });
  }

  it('refuses no token, a user token, another cluster\'s agent token, a direct cluster and a wrong protocol', async () => {
    const path = '/v1/clusters/edge/agent/connect';
    const cases: Array<[string, Record<string, string>, number, RegExp]> = [
      [path, {}, 401, /Unauthorized/],
      [path, { Authorization: `Bearer ${admin}` }, 403, /only the cluster agent token/],
      [path, { Authorization: `Bearer ${otherToken}` }, 403, /belongs to another cluster/],
      ['/v1/clusters/direct/agent/connect', { Authorization: `Bearer ${directToken}` }, 403, /reached directly/],
      [path, { Authorization: `Bearer ${edgeToken}`, Upgrade: 'websocket' }, 400, /kubegate-tunnel\.v1 only/],
      [path, { Authorization: `Bearer ${edgeToken.slice(0, -1)}x` }, 401, /Unauthorized/],
    ];
    for (const [p, headers, code, message] of cases) {
      const answer = await upgrade(p, headers);
      assert.match(answer, new RegExp(`^HTTP/1\\.1 ${code} `), `${JSON.stringify(headers)} → ${answer.split('\r\n')[0]}`);
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
      assert.equal(body.kind, 'Status');
      assert.match(body.message, message);
    }
    const status = (await call(gw, 'GET', '/v1/clusters/edge', { token: admin })).body.status;
    assert.deepEqual([status.state, status.agent.connected], ['Unavailable', false]);
  });

  it('takes the cluster\'s own agent token', async () => {
    assert.match(await upgrade('/v1/clusters/edge/agent/connect', { Authorization: `Bearer ${edgeToken}` }), /^HTTP\/1\.1 101 /);
  });

  it('has no peer endpoint on a single replica', async () => {
    const answer = await upgrade('/v1/peers/connect', {});
    assert.match(answer, /^HTTP\/1\.1 404 /);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
    assert.equal(body.kind, 'Status');
    assert.match(body.message, /no peers/);
  });

  it('refuses to turn a direct cluster into an agent one, or to give an agent cluster a server', async () => {
    const toAgent = await call(gw, 'PATCH', '/v1/clusters/direct', { token: admin, body: { connection: 'agent' } });
    assert.equal(toAgent.status, 400);
    const withServer = await call(gw, 'PATCH', '/v1/clusters/edge', { token: admin, body: { server: 'https://10.0.0.9:6443' } });
    assert.equal(withServer.status, 400);
    assert.match(withServer.body.error.message, /unknown field "server"/);
    const bad = await call(gw, 'POST', '/v1/clusters', { token: admin, body: { id: 'x', connection: 'agent', server: 'https://a' } });
    assert.equal(bad.status, 400);
  });
});
