/** Shared helpers for the management API tests: the error shape and cluster registration. */
import assert from 'node:assert/strict';
import { call, type JsonResponse, type TestGateway } from '../support/gateway.js';

type Gw = Pick<TestGateway, 'url' | 'agent'>;

/** Asserts a management API error: exactly `{"error":{code,reason,message}}` with this status and reason. */
export function assertApiError(res: JsonResponse, status: number, reason: string, message?: string | RegExp): void {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assert.deepEqual(Object.keys(res.body), ['error']);
  assert.deepEqual(Object.keys(res.body.error).sort(), ['code', 'message', 'reason']);
  assert.equal(res.body.error.code, status);
  assert.equal(res.body.error.reason, reason);
  assert.equal(typeof res.body.error.message, 'string');
  assert.ok(res.body.error.message.length > 0, 'the message is not empty');
  if (typeof message === 'string') assert.equal(res.body.error.message, message);
  else if (message) assert.match(res.body.error.message, message);
}

/** Registers a cluster with a bearer-token credential as `adminToken`; returns the 201 answer. */
export async function registerCluster(gw: Gw, adminToken: string, id: string, extra: Record<string, unknown> = {}): Promise<JsonResponse> {
  const res = await call(gw, 'POST', '/v1/clusters', {
    token: adminToken,
    body: { id, server: 'https://127.0.0.1:6443', insecureSkipTLSVerify: true, credential: { token: `sa-secret-of-${id}` }, ...extra },
  });
  assert.equal(res.status, 201, `register ${id}: ${res.status} ${res.text}`);
  return res;
}

/** Adds (or changes) a cluster member as `token`. */
export async function putMember(gw: Gw, token: string, clusterId: string, principal: string, role = 'member'): Promise<void> {
  const res = await call(gw, 'PUT', `/v1/clusters/${clusterId}/members`, { token, body: { principal, role } });
  assert.equal(res.status, 200, `put member ${principal} on ${clusterId}: ${res.status} ${res.text}`);
}

/** Sets a runtime setting as admin. */
export async function putSetting(gw: Gw, adminToken: string, name: string, value: unknown): Promise<void> {
  const res = await call(gw, 'PUT', `/v1/settings/${name}`, { token: adminToken, body: { value } });
  assert.equal(res.status, 200, `put setting ${name}: ${res.status} ${res.text}`);
}

/** The token shape of docs/reference/tokens.md / `auth/tokens.ts`. */
export const TOKEN_PATTERN = /^kgt_(t-[a-z2-7]{16})\.[A-Za-z0-9_-]{43}$/;
