/**
 * Which handler answers a request, once it is authenticated, impersonated and authorized.
 * Plain requests and upgrade requests are routed separately because Node hands them over
 * differently (a response object versus a raw socket).
 */
import { serveAccessReview } from './access-review.js';
import { findResource } from './catalog.js';
import type { HttpContext, UpgradeContext } from './context.js';
import { discoveryReply } from './discovery.js';
import { isWebSocketRequest } from './authn.js';
import { chooseProtocol, parseAttachRequest, parseExecRequest, serveExec, wantsTty } from './exec.js';
import { serveSpdyExec, SPDY_EXEC_PROTOCOL } from './spdy-exec.js';
import { serveSpdyPortForward, SPDY_PORTFORWARD_PROTOCOL } from './spdy-portforward.js';
import { offersWebSocketPortForward, serveWebSocketPortForward, WEBSOCKET_PORTFORWARD_PROTOCOL } from './websocket-portforward.js';
import { serveLog } from './logs.js';
import { openapiReply } from './openapi.js';
import { send } from './respond.js';
import { serveStoredResource } from './rest.js';
import { serveSelfSubjectReview } from './selfsubjectreview.js';
import { serveTokenRequest } from './service-account-tokens.js';
import { isSpdyUpgrade, serveSpdyEcho } from './spdy.js';
import { badRequest, methodNotAllowed, pathNotFound, upgradeRefused } from './status.js';
import type { KubeObject } from './types.js';

const PODS = { group: '', resource: 'pods' };
const STREAM_SUBRESOURCES = new Set(['exec', 'attach', 'portforward']);
const HEALTH_PATHS = new Set(['/healthz', '/livez', '/readyz']);

const serveNonResource = (ctx: HttpContext): void => {
  const { path } = ctx.info;
  if (HEALTH_PATHS.has(path)) {
    send(ctx.res, ctx.record, { status: 200, contentType: 'text/plain; charset=utf-8', body: 'ok', headers: { 'X-Content-Type-Options': 'nosniff' } });
    return;
  }
  const reply = discoveryReply(path, ctx.req.headers.accept, new URL(ctx.url()).host) ?? openapiReply(path);
  if (!reply) throw pathNotFound();
  send(ctx.res, ctx.record, reply);
};

const podOf = (ctx: HttpContext | UpgradeContext): KubeObject => ctx.store.get(PODS, ctx.info.namespace, ctx.info.name);

/** Routes a plain (non-upgrade) request. */
export const routeHttp = async (ctx: HttpContext): Promise<void> => {
  const { info } = ctx;
  if (!info.resourceRequest) return serveNonResource(ctx);
  const def = findResource(info.apiGroup, info.apiVersion, info.resource);
  if (!def) throw pathNotFound();

  if (info.subresource) {
    if (def.resource === 'serviceaccounts' && info.subresource === 'token' && info.namespace && info.name) return serveTokenRequest(ctx);
    if (def.resource !== 'pods' || !info.namespace || !info.name) throw pathNotFound();
    if (info.subresource === 'log') {
      if (info.verb !== 'get') throw methodNotAllowed();
      return serveLog(ctx, podOf(ctx));
    }
    if (STREAM_SUBRESOURCES.has(info.subresource)) {
      podOf(ctx); // a missing pod is a 404 before anything else
      throw badRequest('Upgrade request required');
    }
    throw pathNotFound();
  }
  if (!def.stored) {
    if (info.verb !== 'create') throw methodNotAllowed();
    return def.resource === 'selfsubjectreviews' ? serveSelfSubjectReview(ctx) : serveAccessReview(ctx, def);
  }
  return serveStoredResource(ctx, def);
};

/** Routes an upgrade request (WebSocket exec, SPDY tunnels). */
export const routeUpgrade = (ctx: UpgradeContext): void => {
  if (ctx.options().refuseUpgrades) {
    throw upgradeRefused();
  }
  const { info, req } = ctx;
  if (isSpdyUpgrade(req) && info.path.startsWith('/spdy-echo')) return serveSpdyEcho(ctx);

  const isPodStream = info.resourceRequest && info.apiGroup === '' && info.resource === 'pods' && STREAM_SUBRESOURCES.has(info.subresource);
  if (!isPodStream || !info.namespace || !info.name) throw badRequest(`upgrade is not supported on ${info.path}`);
  const pod = podOf(ctx);
  if (isSpdyUpgrade(req)) {
    // remotecommand over SPDY (kubectl before 1.30); port-forward and other versions: the byte echo.
    const streamed = info.subresource === 'exec' || info.subresource === 'attach';
    const offered = ctx.record.streamProtocolVersions.flatMap((v) => v.split(',').map((p) => p.trim()));
    if (info.subresource === 'portforward' && offered.includes(SPDY_PORTFORWARD_PROTOCOL)) return serveSpdyPortForward(ctx);
    if (!streamed || !offered.includes(SPDY_EXEC_PROTOCOL)) return serveSpdyEcho(ctx);
    const request = info.subresource === 'exec' ? parseExecRequest(info.query, pod) : parseAttachRequest(info.query, pod);
    return serveSpdyExec(ctx, request, wantsTty(info.query));
  }
  if (!isWebSocketRequest(req)) throw badRequest(`unsupported upgrade protocol "${req.headers.upgrade ?? ''}"`);
  if (info.subresource === 'portforward') {
    if (!offersWebSocketPortForward(req.headers['sec-websocket-protocol'])) throw badRequest(`requested protocol(s) are not supported: [${req.headers['sec-websocket-protocol'] ?? ''}]; supports [${WEBSOCKET_PORTFORWARD_PROTOCOL}]`);
    return serveWebSocketPortForward(ctx);
  }

  // An attach is to the container's process (`cat` here), over the same remotecommand protocol as exec.
  const exec = info.subresource === 'exec' ? parseExecRequest(info.query, pod) : parseAttachRequest(info.query, pod);
  const protocol = chooseProtocol(req);
  if (!protocol) throw badRequest(`requested protocol(s) are not supported: [${req.headers['sec-websocket-protocol'] ?? ''}]; supports [v5.channel.k8s.io v4.channel.k8s.io]`);
  return serveExec(ctx, exec, protocol);
};
