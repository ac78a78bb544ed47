/**
 * Large bodies through the gateway (issue 8, scenario 4): uploads and downloads of many MiB arrive
 * byte for byte, a client that stops reading for a while still gets everything (back-pressure), and
 * the audit line counts the body bytes sent to the client.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createCa, signLeaf } from '../../src/tls/certificates.js';
import { ADMIN_PASSWORD, call, createUser, login, startTestGateway, type TestGateway } from '../support/gateway.js';

const MiB = 1024 * 1024;
const BODY = randomBytes(24 * MiB + 12_345);
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A cluster stand-in: `PUT` answers the length and SHA-256 of what it read; `GET ?bytes=N` streams
 * the first N bytes of BODY in 64 KiB writes, waiting for 'drain'.
 */
async function startBodyServer(gatewayToken: string): Promise<{ server: Server; url: string; caPem: string }> {
  const ca = await createCa('large-bodies-ca');
  const leaf = await signLeaf(ca, { commonName: 'cluster', hosts: ['127.0.0.1'], usage: 'server' });
  const server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    if (req.headers.authorization !== `Bearer ${gatewayToken}`) return void res.writeHead(401).end();
    if (req.method === 'PUT') {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        bytes += c.length;
        hash.update(c);
      });
      req.on('end', () => {
        const answer = JSON.stringify({ bytes, sha256: hash.digest('hex') });
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(answer) }).end(answer);
      });
      return;
    }
    const total = Number(new URL(req.url!, 'https://x').searchParams.get('bytes'));
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': total });
    let sent = 0;
    const pump = (): void => {
      while (sent < total) {
        const chunk = BODY.subarray(sent, Math.min(total, sent + 64 * 1024));
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, caPem: ca.certPem };
}

describe('large bodies through the gateway', () => {
  let gw: TestGateway;
  let cluster: Awaited<ReturnType<typeof startBodyServer>>;
  let token: string;
  const gatewayToken = 'large-bodies-gateway-token';
  const path = '/k8s/clusters/big/api/v1/namespaces/default/configmaps/big';

  before(async () => {
    cluster = await startBodyServer(gatewayToken);
    gw = await startTestGateway();
    const admin = await login(gw, 'admin', ADMIN_PASSWORD);
    const registered = await call(gw, 'POST', '/v1/clusters', {
      token: admin,
      body: { id: 'big', server: cluster.url, caData: Buffer.from(cluster.caPem).toString('base64'), credential: { token: gatewayToken } },
    });
    assert.equal(registered.status, 201, registered.text);
    await createUser(gw, admin, { username: 'bob', password: 'bob-password-1' });
    const member = await call(gw, 'PUT', '/v1/clusters/big/members', { token: admin, body: { principal: 'user:bob', role: 'member' } });
    assert.equal(member.status, 200, member.text);
    token = await login(gw, 'bob', 'bob-password-1');
  });
  after(async () => {
    await gw?.stop();
    cluster?.server.close();
  });

  /** GETs `bytes` bytes; `pauseAt` stops reading for a while once that many have arrived. */
  function download(bytes: number, pauseAt = Infinity): Promise<{ body: Buffer; requestId: string }> {
    return new Promise((resolve, reject) => {
      const req = request(new URL(`${path}?bytes=${bytes}`, gw.url), { agent: gw.agent, headers: { Authorization: `Bearer ${token}` } }, (res) => {
        assert.equal(res.statusCode, 200);
        const chunks: Buffer[] = [];
        let got = 0;
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          got += c.length;
          if (got >= pauseAt && got - c.length < pauseAt) {
            res.pause();
            setTimeout(() => res.resume(), 300);
          }
        });
        res.on('end', () => resolve({ body: Buffer.concat(chunks), requestId: res.headers['x-request-id'] as string }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  async function auditLine(requestId: string): Promise<any> {
    await wait(600); // the audit file is flushed every 250 ms
    const lines = (await readFile(join(gw.dir, 'audit.log'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
    return lines.find((l) => l.requestId === requestId);
  }

  it('uploads 24 MiB byte for byte, written in 64 KiB pieces with back-pressure', async () => {
    const answer = await new Promise<{ status: number; body: any; requestId: string }>((resolve, reject) => {
      const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/octet-stream', 'Content-Length': BODY.length };
      const req = request(new URL(path, gw.url), { method: 'PUT', agent: gw.agent, headers }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text), requestId: res.headers['x-request-id'] as string }));
      });
      req.on('error', reject);
      let sent = 0;
      const pump = (): void => {
        while (sent < BODY.length) {
          const chunk = BODY.subarray(sent, sent + 64 * 1024);
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { bytes: BODY.length, sha256: sha256(BODY) });
    const line = await auditLine(answer.requestId);
    assert.equal(line.status, 200);
    assert.equal(line.bytes, Buffer.byteLength(JSON.stringify(answer.body)), 'audit bytes = the answer body sent back');
  });

  it('downloads 24 MiB byte for byte, and the audit line counts every body byte', async () => {
    const { body, requestId } = await download(BODY.length);
    assert.equal(body.length, BODY.length);
    assert.equal(sha256(body), sha256(BODY));
    const line = await auditLine(requestId);
    assert.equal(line.status, 200);
    assert.equal(line.bytes, BODY.length);
  });

  it('delivers everything to a client that stops reading for a while', async () => {
    const { body } = await download(16 * MiB, 2 * MiB);
    assert.equal(body.length, 16 * MiB);
    assert.equal(sha256(body), sha256(BODY.subarray(0, 16 * MiB)));
  });
});
