/** The typed accessor for the authenticated caller of a management API request. */
import type { Request } from 'express';
import type { Identity, UserIdentity } from '../auth/identity.js';
import { GatewayError, unauthorized } from '../errors.js';

const identities = new WeakMap<Request, Identity>();

export function setIdentity(req: Request, identity: Identity): void {
  identities.set(req, identity);
}

/** The caller; throws 401 when the route forgot to authenticate (a bug, never a bypass). */
export function identityOf(req: Request): Identity {
  const id = identities.get(req);
  if (!id) throw unauthorized();
  return id;
}

/** The calling user; agents are refused. */
export function userOf(req: Request): UserIdentity {
  const id = identityOf(req);
  if (id.kind !== 'user') throw new GatewayError('Forbidden', 'agent tokens cannot use this endpoint');
  return id;
}

/** The calling user, who must be an admin. */
export function adminOf(req: Request): UserIdentity {
  const user = userOf(req);
  if (!user.admin) throw new GatewayError('Forbidden', 'this needs an administrator');
  return user;
}

/** The caller when authenticated, else undefined (for audit lines of refused requests). */
export function findIdentity(req: Request): Identity | undefined {
  return identities.get(req);
}

const requestIds = new WeakMap<Request, string>();

export function setRequestId(req: Request, id: string): void {
  requestIds.set(req, id);
}

/** The id of this request, as returned in `X-Request-Id`. */
export function requestIdOf(req: Request): string | undefined {
  return requestIds.get(req);
}
