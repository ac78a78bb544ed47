/**
 * The request path of `/k8s/clusters/{id}/…`, top to bottom: `proxyStages()` lists every stage in
 * the order it runs, the same for plain requests and upgrades; then the request is forwarded (or
 * tunnelled). A stage throws a `GatewayError` to stop; `render-error.ts` answers with a
 * Kubernetes `Status`. Stages share what they find through the `ProxyScope`; its `ProxyExchange`
 * becomes the audit line.
 *
 * No Express, body parser or management-API middleware here: this is the hot path.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { FailureThrottle } from '../auth/failure-throttle.js';
import type { TokenAuthenticator } from '../auth/identity.js';
import type { LastUsedRecorder } from '../auth/last-used.js';
import { isCredentialRefusal } from '../clusters/credential-refusal.js';
import { GatewayError } from '../errors.js';
import { tokenPrefix } from '../http/bearer.js';
import { answerBeforeBody, hasRequestBody } from '../http/http2-compat.js';
import { sendStatus, writeStatusToSocket } from '../http/render-error.js';
import type { RequestTracker } from '../http/request-tracker.js';
import type { ProxyTrust } from '../http/trust-proxy.js';
import type { ClusterDirectory } from '../upstream/cluster-directory.js';
import { authenticate } from './authenticate.js';
import { authorizeCluster } from './authorize.js';
import { isDiscoveryRequest } from './discovery-refusal.js';
import { parseClusterPath } from './cluster-path.js';
import { ProxyExchange, type Observers } from './exchange.js';
import { forward } from './forward.js';
import { IMPERSONATION_CACHE_TTL_MS, ImpersonationChecker, requestedIdentity } from './checked-impersonation.js';
import { impersonate } from './impersonate.js';
import { requestInfo } from './request-info.js';
import type { OpenStreams } from './open-streams.js';
import { ProxyScope } from './scope.js';
import { stripClientIdentity } from './strip-headers.js';
import { tunnel } from './tunnel.js';
import { checkUpgrade } from './upgrade-check.js';

/** What the stages need. */
export interface StageDeps {
  authenticator: TokenAuthenticator;
  /** Invalid bearer tokens per client address and per token prefix. */
  badTokens: FailureThrottle;
  clusters: Pick<ClusterDirectory, 'get'>;
  lastUsed: Pick<LastUsedRecorder, 'record'>;
  trust: ProxyTrust;
  /** Checked `kubectl --as`; a fresh one with the default cache when not given. */
  impersonation?: Pick<ImpersonationChecker, 'check'>;
}

/** Throws 429 while the address or the token prefix is locked; else counts the failure against both. */
function throttleFailure(badTokens: FailureThrottle, address: string, prefix: string | undefined): void {
  badTokens.check(`addr:${address}`, 'bearer tokens from this address');
  if (prefix !== undefined) badTokens.check(`token:${prefix}`, 'attempts with this token');
  badTokens.failed(`addr:${address}`);
  if (prefix !== undefined) badTokens.failed(`token:${prefix}`);
}

/** One step of the request path; throws a `GatewayError` to refuse the request. */
export interface Stage {
  readonly name: string;
  run(scope: ProxyScope): void | Promise<void>;
}

/** Every stage before forwarding, in the order they run. */
export function proxyStages(deps: StageDeps): readonly Stage[] {
  const { authenticator, badTokens, clusters, lastUsed, trust } = deps;
  const impersonation = deps.impersonation ?? new ImpersonationChecker({ ttlMs: IMPERSONATION_CACHE_TTL_MS });
  return [
    // 400: a malformed cluster id, dot segments or encoded slashes.
    { name: 'parse path', run: (s) => s.setPath(parseClusterPath(s.req.url!)) },
    // 400: an upgrade other than WebSocket/SPDY (h2c), or one that declares a body.
    { name: 'check upgrade', run: (s) => (s.upgrade ? checkUpgrade(s.req) : undefined) },
    // 401: no token, or one that is not valid now. A valid token is never throttled; a failure
    // is counted against the address and the token's prefix, and once either has failed too
    // often its further failures are 429s (with Retry-After).
    {
      name: 'authenticate',
      run: (s) =>
        authenticate(s.req, authenticator).then(
          (identity) => s.setIdentity(identity),
          (err: unknown) => {
            if (err instanceof GatewayError && err.code === 401) throttleFailure(badTokens, s.exchange.clientAddress, tokenPrefix(s.req));
            throw err;
          },
        ),
    },
    // 403: an agent token, a token of another cluster, not a member, or no such cluster.
    { name: 'authorize', run: (s) => s.setAuthorized(authorizeCluster(s.identity, s.clusterId, clusters)) },
    // What it does (verb, resource, long-running), for the upstream choice and the audit line.
    { name: 'classify', run: (s) => s.setInfo(requestInfo(s.req.method ?? 'GET', s.path)) },
    // Order matters (CVE-2021-31999): strip what the client sent, then add our own identity.
    { name: 'strip client identity', run: (s) => s.setHeaders(stripClientIdentity(s.req, { trustForwarded: trust.trustsForwarded(s.req), upgrade: s.upgrade })) },
    // 403 naming what was refused: a client's Impersonate-* (kubectl --as) that the cluster, asked
    // as the user, does not allow; 400 for groups without a user.
    {
      name: 'check impersonation',
      run: (s) => {
        const asked = requestedIdentity(s.req);
        if (!asked) return s.setImpersonated(null);
        return impersonation.check(s.user, s.route, asked).then(() => s.setImpersonated(asked));
      },
    },
    { name: 'impersonate', run: (s) => s.setHeaders(impersonate(s.headers, s.user, s.route, s.impersonated)) },
    { name: 'record use', run: (s) => lastUsed.record(s.user.token) },
  ];
}

/**
 * Runs the stages in order; stops at the first that throws (or whose promise rejects). Most
 * stages are synchronous: only a stage that returns a promise makes the rest wait for it.
 */
export function runStages(stages: readonly Stage[], scope: ProxyScope, from = 0): void | Promise<void> {
  for (let i = from; i < stages.length; i++) {
    const pending = stages[i]!.run(scope);
    if (pending) return pending.then(() => runStages(stages, scope, i + 1));
  }
}

/** The last step: forward the request, or tunnel the upgrade (replaceable in tests). */
export interface Upstream {
  forward: typeof forward;
  tunnel: typeof tunnel;
}

export interface ProxyDeps extends StageDeps {
  observers: Observers;
  /** In-flight and long-running requests, for graceful shutdown. */
  requests: RequestTracker;
  log: Logger;
  upstream?: Upstream;
  /** Long-running requests by whom they run for, so revocations end them (open-streams.ts). */
  openStreams?: OpenStreams;
}

export interface ProxyHandler {
  handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void>;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void>;
}

/** Builds the proxy's request and upgrade handlers. */
export function createProxyHandler(deps: ProxyDeps): ProxyHandler {
  const stages = proxyStages(deps);
  const upstream = deps.upstream ?? { forward, tunnel };

  /** Runs the stages and notes the request as dispatched; the target it goes to. */
  async function prepare(scope: ProxyScope) {
    await runStages(stages, scope);
    const target = scope.target();
    scope.exchange.dispatched(scope.info, target.longRunning);
    return target;
  }

  /** A long-running request ends when a revocation takes away what let it in. */
  function watchRevocation(scope: ProxyScope, stream: Duplex | ServerResponse): void {
    if (!deps.openStreams) return;
    const exchange = scope.exchange;
    const remove = deps.openStreams.add({
      user: scope.user,
      clusterId: scope.clusterId,
      end(why) {
        exchange.revoked = why;
        exchange.reason = 'Revoked';
        stream.destroy();
      },
    });
    stream.once('close', remove);
  }

  function refused(exchange: ProxyExchange, err: unknown, render: () => GatewayError): void {
    const rendered = render();
    exchange.failed(rendered);
    // A refused credential is logged by the clusters' health, once per cluster per minute.
    if (rendered.code >= 500 && !isCredentialRefusal(rendered)) deps.log.warn({ requestId: exchange.requestId, cluster: exchange.clusterId, reason: rendered.reason, err: (err as Error).cause ?? err }, rendered.message);
  }

  return {
    async handleRequest(req, res) {
      const exchange = new ProxyExchange(req, deps.observers, false);
      // 'close' fires once: `on` spares the wrapper `once` allocates on every request.
      res.on('close', () => exchange.finish());
      try {
        const scope = new ProxyScope(req, exchange);
        const target = await prepare(scope);
        if (target.longRunning) {
          deps.requests.markLongRunning(res);
          watchRevocation(scope, res);
        }
        await upstream.forward({ req, res, target, exchange });
      } catch (err) {
        // A refused request's body is never read: answer at once and close, rather than drain
        // (or wait for) a body a stranger may trickle for ever.
        if (!req.complete && hasRequestBody(req) && !res.headersSent) answerBeforeBody(req, res);
        refused(exchange, err, () => sendStatus(res, err, exchange.requestId, { asText: isDiscoveryRequest(req) }));
      }
    },

    async handleUpgrade(req, socket, head) {
      const exchange = new ProxyExchange(req, deps.observers, true);
      socket.on('error', () => socket.destroy());
      deps.requests.trackTunnel(socket);
      socket.once('close', () => exchange.finish());
      try {
        const scope = new ProxyScope(req, exchange);
        const target = await prepare(scope);
        watchRevocation(scope, socket);
        await upstream.tunnel({ req, socket, head, target, exchange });
      } catch (err) {
        refused(exchange, err, () => writeStatusToSocket(socket, err));
      }
    },
  };
}
