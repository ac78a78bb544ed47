/**
 * The request path as a table: the real stage list and handler, with fakes for the token verdicts,
 * the clusters and the upstream; each row asserts the status the client gets and whether the
 * upstream was called (and with what).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FailureThrottle } from '../../src/auth/failure-throttle.js';
import type { AuthResult, Identity, TokenAuthenticator, UserIdentity } from '../../src/auth/identity.js';
import { refused } from '../../src/auth/token-decision.js';
import { forbidden, StoreUnavailableError } from '../../src/errors.js';
import { RequestTracker } from '../../src/http/request-tracker.js';
import { proxyTrust } from '../../src/http/trust-proxy.js';
import { createLogger } from '../../src/log.js';
import { GatewayMetrics } from '../../src/observability/metrics.js';
import { createProxyHandler, proxyStages, type Upstream } from '../../src/proxy/handler.js';
import type { AuditLog } from '../../src/observability/audit-log.js';
import type { ClusterRoute } from '../../src/upstream/cluster-directory.js';
import type { UpstreamTarget } from '../../src/upstream/target.js';

const token = (id: string, clusterId: string | null = null) => ({ id, kind: 'api' as const, clusterId, expiresAt: null });
const user = (name: string, roles: [string, string[]][], extra: Partial<UserIdentity> = {}): UserIdentity => ({
  kind: 'user',
  userId: `u-${name}`,
  username: name,
  groups: ['dev'],
  admin: false,
  token: token(`t-${name}`),
  clusterRoles: new Map(roles),
  ...extra,
});
const ok = (identity: Identity): AuthResult => ({ authenticated: true, identity });

/** Bearer token → verdict; 'down' means the store cannot be reached. */
const VERDICTS: Record<string, AuthResult | 'down'> = {
  alice: ok(user('alice', [['prod', ['member']]])),
  admin: ok(user('root', [], { admin: true })),
  scoped: ok(user('sam', [['prod', ['member']], ['dev', ['member']]], { token: token('t-sam', 'dev') })),
  agent: ok({ kind: 'agent', clusterId: 'prod', token: { ...token('t-agent', 'prod'), kind: 'agent' } }),
  outsider: ok(user('olga', [['dev', ['member']]])),
  expired: refused('expired'),
  down: 'down',
};

const authenticator: TokenAuthenticator = {
  async authenticate(bearer) {
    const verdict = VERDICTS[bearer] ?? refused('malformed');
    if (verdict === 'down') throw new StoreUnavailableError(new Error('store down'));
    return verdict;
  },
};

const route = { id: 'prod', host: 'prod.example:6443', basePath: '', credentialHeader: ['Authorization', 'Bearer gateway-credential'] } as unknown as ClusterRoute;

interface Row {
  name: string;
  path?: string;
  headers?: Record<string, string | string[]>;
  status: number;
  upstream: boolean;
}

const ROWS: Row[] = [
  { name: 'a member reaches the cluster', headers: { Authorization: 'Bearer alice' }, status: 200, upstream: true },
  { name: 'an admin reaches any cluster', headers: { Authorization: 'Bearer admin' }, status: 200, upstream: true },
  { name: 'a malformed cluster id is 400', path: '/k8s/clusters/Prod/api', headers: { Authorization: 'Bearer alice' }, status: 400, upstream: false },
  { name: 'dot segments are 400', path: '/k8s/clusters/prod/api/../../x', headers: { Authorization: 'Bearer alice' }, status: 400, upstream: false },
  { name: 'no token is 401', status: 401, upstream: false },
  { name: 'an unknown token is 401', headers: { Authorization: 'Bearer nope' }, status: 401, upstream: false },
  { name: 'an expired token is 401', headers: { Authorization: 'Bearer expired' }, status: 401, upstream: false },
  { name: 'two Authorization lines are 400', headers: { Authorization: ['Bearer alice', 'Bearer admin'] }, status: 400, upstream: false },
  { name: 'an agent token is 403', headers: { Authorization: 'Bearer agent' }, status: 403, upstream: false },
  { name: 'a token scoped to another cluster is 403', headers: { Authorization: 'Bearer scoped' }, status: 403, upstream: false },
  { name: 'a user who is not a member is 403', headers: { Authorization: 'Bearer outsider' }, status: 403, upstream: false },
  { name: 'an unknown cluster is 403, even for an admin', path: '/k8s/clusters/nowhere/api', headers: { Authorization: 'Bearer admin' }, status: 403, upstream: false },
  { name: 'client impersonation the cluster refuses is 403', headers: { Authorization: 'Bearer alice', 'Impersonate-User': 'root' }, status: 403, upstream: false },
  { name: 'client impersonation the cluster allows goes on', headers: { Authorization: 'Bearer alice', 'Impersonate-User': 'bob' }, status: 200, upstream: true },
  { name: 'impersonated groups without a user are 400', headers: { Authorization: 'Bearer alice', 'Impersonate-Group': 'ops' }, status: 400, upstream: false },
  { name: 'the store down is 503', headers: { Authorization: 'Bearer down' }, status: 503, upstream: false },
];

describe('the proxy handler with fakes', () => {
  let server: Server;
  let port: number;
  const sent: UpstreamTarget[] = [];
  const upstream: Upstream = {
    async forward({ res, target }) {
      sent.push(target);
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('from the cluster');
    },
    async tunnel() {
      throw new Error('no upgrades in this table');
    },
  };

  before(async () => {
    const trust = proxyTrust({ mode: 'off' });
    const handler = createProxyHandler({
      authenticator,
      badTokens: new FailureThrottle({ freeFailures: 1_000, baseLockMs: 1_000, maxLockMs: 1_000, forgetAfterMs: 60_000 }),
      clusters: { get: (id) => (id === 'prod' ? route : undefined) },
      lastUsed: { record: () => {} },
      trust,
      // The cluster's answer to `kubectl --as`: alice may impersonate bob only.
      impersonation: {
        check: async (_user, _route, asked) => {
          if (asked.user !== 'bob') throw forbidden(`cluster "prod" does not allow alice to impersonate user "${asked.user}" (kubectl --as)`);
        },
      },
      observers: { audit: { write: () => {} } as unknown as AuditLog, metrics: new GatewayMetrics(), trust },
      requests: new RequestTracker(),
      log: createLogger('silent'),
      upstream,
    });
    server = createServer((req, res) => void handler.handleRequest(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  function get(path: string, headers: Record<string, string | string[]>): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      // An array value is sent as that many header lines.
      const req = request({ host: '127.0.0.1', port, path, method: 'GET', headers }, (res: IncomingMessage) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  for (const row of ROWS) {
    it(row.name, async () => {
      const before = sent.length;
      const res = await get(row.path ?? '/k8s/clusters/prod/api/v1/pods', row.headers ?? {});
      assert.equal(res.status, row.status, res.body);
      assert.equal(sent.length - before, row.upstream ? 1 : 0, 'whether the upstream was called');
      if (row.status >= 400) assert.equal(JSON.parse(res.body).kind, 'Status');
    });
  }

  it('hands the upstream the gateway credential and the user, never the client token', async () => {
    await get('/k8s/clusters/prod/api/v1/pods?watch=1', { Authorization: 'Bearer alice', Accept: 'application/json' });
    const target = sent.at(-1)!;
    assert.equal(target.route, route);
    assert.equal(target.path, '/api/v1/pods?watch=1');
    assert.equal(target.longRunning, true, 'a watch is long-running');
    const pairs = target.headers;
    const names = pairs.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    assert.equal(names.filter((n) => n === 'authorization').length, 1, 'one Authorization line');
    assert.equal(pairs[pairs.indexOf('Authorization') + 1], 'Bearer gateway-credential');
    assert.equal(pairs[pairs.indexOf('Impersonate-User') + 1], 'alice');
    assert.equal(pairs.includes('Bearer alice'), false);
  });
});

describe('proxyStages', () => {
  it('runs in the order the request path needs (strip before impersonate: CVE-2021-31999)', () => {
    const stages = proxyStages({
      authenticator,
      badTokens: new FailureThrottle({ freeFailures: 1, baseLockMs: 1, maxLockMs: 1, forgetAfterMs: 1 }),
      clusters: { get: () => undefined },
      lastUsed: { record: () => {} },
      trust: proxyTrust({ mode: 'off' }),
    });
    assert.deepEqual(
      stages.map((s) => s.name),
      ['parse path', 'check upgrade', 'authenticate', 'authorize', 'classify', 'strip client identity', 'check impersonation', 'impersonate', 'record use'],
    );
  });
});
