/** Middleware: a request id for every management API call, and one audit line when it ends. */
import type { NextFunction, Request, Response } from 'express';
import { requestIdFor } from '../http/request-id.js';
import type { ApiContext } from './context.js';
import { findIdentity, setRequestId } from './request-identity.js';

export function auditApiCalls(ctx: Pick<ApiContext, 'audit' | 'metrics' | 'trust'>) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    const requestId = requestIdFor(req, ctx.trust);
    // Read at once: the socket may be detached by the time the response closes.
    const clientAddress = ctx.trust.clientAddress(req);
    setRequestId(req, requestId);
    res.setHeader('X-Request-Id', requestId);
    res.once('close', () => {
      // Probes, scrapes and the UI's static files would drown the audit trail: reads outside
      // /v1 are not audited (logins and logouts through /ui are POSTs, so they are).
      if (req.method === 'GET' && !req.originalUrl.startsWith('/v1/')) return;
      const id = findIdentity(req);
      ctx.metrics.apiRequests.inc({ method: req.method, code: String(res.statusCode) });
      ctx.audit.write({
        time: new Date().toISOString(),
        stage: 'complete',
        requestId,
        kind: 'api',
        user: id?.kind === 'user' ? id.username : id ? `agent:${id.clusterId}` : undefined,
        uid: id?.kind === 'user' ? id.userId : undefined,
        groups: id?.kind === 'user' ? id.groups : undefined,
        tokenId: id?.token.id,
        cluster: id?.kind === 'agent' ? id.clusterId : undefined,
        method: req.method,
        // The route, not the raw URL: query strings could carry anything.
        path: req.baseUrl + req.path,
        status: res.statusCode,
        bytes: Number(res.getHeader('content-length') ?? 0) || undefined,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
        clientAddress,
        userAgent: req.headers['user-agent'],
        protocol: req.httpVersion,
      });
    });
    next();
  };
}
