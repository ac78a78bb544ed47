/**
 * An upstream answer that refuses the gateway itself, not the user (issue 15, bug 3). The user's
 * token never reaches a cluster: every request carries the gateway's credential and impersonates
 * the user. So a 401 means the cluster refused the gateway's credential (wrong, expired, rotated),
 * and a 403 saying "cannot impersonate" means that credential lacks the `impersonate` permission
 * (clients' own `Impersonate-*` headers are stripped before forwarding, so it is never theirs).
 * Either way the user can do nothing about it: a 502 naming the cluster, asking for an administrator.
 */
import { GatewayError } from '../errors.js';

/** Answer bodies longer than this are not read for an impersonation refusal (a Status is small). */
export const REFUSAL_BODY_LIMIT = 16 * 1024;

/** kube-apiserver's impersonation filter: `… User "x" cannot impersonate resource "users" in API group "" …`. */
const IMPERSONATION_REFUSAL = /cannot impersonate resource/;

/** The upstream message when `body` is a `Status` refusing impersonation; else undefined. */
export function impersonationRefusal(body: Buffer): string | undefined {
  let status: { kind?: unknown; message?: unknown };
  try {
    status = JSON.parse(body.toString('utf8')) as typeof status;
  } catch {
    return undefined;
  }
  if (status?.kind !== 'Status' || typeof status.message !== 'string') return undefined;
  return IMPERSONATION_REFUSAL.test(status.message) ? status.message : undefined;
}

/** The 502 for a cluster that refused the gateway's credential (401). */
export function credentialRejected(clusterId: string): GatewayError {
  return new GatewayError(
    'BadGateway',
    `kubegate's own credential for cluster '${clusterId}' was refused by its API server (401 Unauthorized): it is wrong or expired; ask an administrator to renew it`,
  );
}

/** The 502 for a cluster where the gateway's credential may not impersonate (403 on impersonation). */
export function impersonationRejected(clusterId: string, upstreamMessage: string): GatewayError {
  return new GatewayError(
    'BadGateway',
    `kubegate's own credential for cluster '${clusterId}' may not impersonate users (${upstreamMessage.slice(0, 300)}); ask an administrator to apply the role that 'kubegate render impersonator' prints`,
  );
}

/** True for the errors above (the proxy records them as the cluster's `CredentialRejected` state). */
export function isCredentialRefusal(err: GatewayError): boolean {
  return err.reason === 'BadGateway';
}
