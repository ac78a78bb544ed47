/** Stage: who is this? The bearer token's verdict (cached); any refusal is a 401. */
import type { IncomingMessage } from 'node:http';
import type { Identity, TokenAuthenticator } from '../auth/identity.js';
import { unauthorized } from '../errors.js';
import { bearerToken } from '../http/bearer.js';

/** The identity behind the request's bearer token; throws 400 (two tokens) or 401. */
export async function authenticate(req: IncomingMessage, authenticator: TokenAuthenticator): Promise<Identity> {
  const result = await authenticator.authenticate(bearerToken(req));
  if (!result.authenticated) throw unauthorized();
  return result.identity;
}
