/** Stage: who is this? The bearer token's verdict (cached); any refusal is a 401. */
import type { IncomingMessage } from 'node:http';
import type { AuthResult, Identity, TokenAuthenticator } from '../auth/identity.js';
import { unauthorized } from '../errors.js';
import { bearerToken } from '../http/bearer.js';

/** The identity behind the request's bearer token; rejects with 400 (two tokens) or 401. */
export function authenticate(req: IncomingMessage, authenticator: TokenAuthenticator): Promise<Identity> {
  let token: string;
  try {
    token = bearerToken(req);
  } catch (err) {
    return Promise.reject(err);
  }
  return authenticator.authenticate(token).then(identityOf);
}

function identityOf(result: AuthResult): Identity {
  if (!result.authenticated) throw unauthorized();
  return result.identity;
}
