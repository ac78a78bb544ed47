/** Which authenticator a bearer token goes to (src/auth/bearer-authenticator.ts). */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { bearerAuthenticator } from '../../src/auth/bearer-authenticator.js';
import type { TokenAuthenticator } from '../../src/auth/identity.js';
import { refused } from '../../src/auth/token-decision.js';
import { issueToken } from '../../src/auth/tokens.js';

const recorder = (name: string, seen: string[]): TokenAuthenticator => ({
  authenticate: async () => {
    seen.push(name);
    return refused('unknown');
  },
});
const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl';

it('kubegate tokens go to the store, JWT-shaped ones to the ID-token authenticator, anything else to the store (malformed there)', async () => {
  const seen: string[] = [];
  const auth = bearerAuthenticator(recorder('store', seen), recorder('id-token', seen));
  for (const token of [issueToken().token, JWT, 'garbage', `kgt_${JWT}`]) await auth.authenticate(token);
  assert.deepEqual(seen, ['store', 'id-token', 'store', 'store']);
});

it('without --oidc-accept-id-tokens it is the store authenticator itself', () => {
  const store = recorder('store', []);
  assert.equal(bearerAuthenticator(store, undefined), store);
});
