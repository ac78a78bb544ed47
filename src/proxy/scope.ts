/**
 * The request scope of one proxied request: what the stages have found out so far. Each value is
 * set by the stage that finds it and read by later stages through a typed accessor, as
 * kube-apiserver's filters pass the user along (`WithUser`/`UserFrom`). Reading a value before
 * its stage ran is a bug in the stage list, never a client's doing, and throws.
 */
import type { IncomingMessage } from 'node:http';
import type { Identity, UserIdentity } from '../auth/identity.js';
import type { ClusterRoute } from '../upstream/cluster-directory.js';
import type { UpstreamTarget } from '../upstream/target.js';
import type { RequestedIdentity } from './checked-impersonation.js';
import type { ProxyTarget } from './cluster-path.js';
import type { ProxyExchange } from './exchange.js';
import type { RequestInfo } from './request-info.js';

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`proxy stages out of order: ${what} read before it was set`);
  return value;
}

export class ProxyScope {
  private parsed: ProxyTarget | undefined;
  private authenticated: Identity | undefined;
  private authorized: { user: UserIdentity; route: ClusterRoute } | undefined;
  private classified: RequestInfo | undefined;
  private outgoing: string[] | undefined;
  /** Checked impersonation: what the client asked to act as, once the cluster allowed it. */
  private asked: RequestedIdentity | null | undefined;

  constructor(
    readonly req: IncomingMessage,
    /** The audit record: stages note on it who and where, so refused requests are audited too. */
    readonly exchange: ProxyExchange,
  ) {}

  /** An upgrade (exec, attach, port-forward): tunnelled, not forwarded. */
  get upgrade(): boolean {
    return this.exchange.upgrade;
  }

  get clusterId(): string {
    return need(this.parsed, 'the cluster id').clusterId;
  }

  /** The kube path and query, as received. */
  get path(): string {
    return need(this.parsed, 'the path').path;
  }

  /** Whoever the token belongs to (a user or an agent) once authenticated. */
  get identity(): Identity {
    return need(this.authenticated, 'the identity');
  }

  /** The user, once authorized for the cluster. */
  get user(): UserIdentity {
    return need(this.authorized, 'the user').user;
  }

  get route(): ClusterRoute {
    return need(this.authorized, 'the route').route;
  }

  get info(): RequestInfo {
    return need(this.classified, 'the request info');
  }

  /** The outgoing header lines as raw pairs. */
  get headers(): string[] {
    return need(this.outgoing, 'the headers');
  }

  setPath(target: ProxyTarget): void {
    this.parsed = target;
    this.exchange.clusterId = target.clusterId;
  }

  setIdentity(identity: Identity): void {
    this.authenticated = identity;
    this.exchange.identity = identity;
  }

  setAuthorized(access: { user: UserIdentity; route: ClusterRoute }): void {
    this.authorized = access;
  }

  setInfo(info: RequestInfo): void {
    this.classified = info;
  }

  /** The identity the client asked for and the cluster allowed (kubectl --as), or null for none. */
  get impersonated(): RequestedIdentity | null {
    return need(this.asked, 'the impersonation check');
  }

  setImpersonated(asked: RequestedIdentity | null): void {
    this.asked = asked;
    this.exchange.impersonated = asked ?? undefined;
  }

  setHeaders(headers: string[]): void {
    this.outgoing = headers;
  }

  /** What goes upstream, once every stage has run. */
  target(): UpstreamTarget {
    return { route: this.route, path: this.path, headers: this.headers, longRunning: this.upgrade || this.info.longRunning };
  }
}
