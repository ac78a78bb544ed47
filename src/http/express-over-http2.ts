/**
 * The management API and web UI (one Express app) over HTTP/2. Express gives every request its
 * own prototype (`app.request`, `app.response`), which inherit from `http.IncomingMessage` and
 * `http.ServerResponse`: swapped onto an `Http2ServerRequest`, the compatibility object would
 * lose its own getters (`headers`, `url`, `method`) and break. Here the same Express methods sit
 * on the HTTP/2 classes instead, and the app handles h2 requests with those prototypes; its
 * routers, middleware and settings are the very same objects.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express } from 'express';
import { GatewayHttp2Request, GatewayHttp2Response, hasRequestBody } from './http2-compat.js';

/** Express's request/response methods on top of `base` (a class prototype). */
function withExpressMethods(expressProto: object, base: object, app: Express): object {
  const proto = Object.create(base, Object.getOwnPropertyDescriptors(expressProto));
  return Object.create(proto, { app: { configurable: true, enumerable: true, writable: true, value: app } });
}

/** A request listener running `app` for HTTP/2 compatibility requests. */
export function expressOverHttp2(app: Express): (req: IncomingMessage, res: ServerResponse) => void {
  const view = Object.create(app, {
    request: { value: withExpressMethods(express.request, GatewayHttp2Request.prototype, app) },
    response: { value: withExpressMethods(express.response, GatewayHttp2Response.prototype, app) },
  }) as Express;
  // `handle` reads `this.request`/`this.response` to set the prototypes, and everything else
  // (settings, router) through the app itself.
  const handle = (view as unknown as { handle(req: unknown, res: unknown): void }).handle.bind(view);
  return (req, res) => {
    // body-parser and type-is see a body only with Content-Length or Transfer-Encoding; an h2
    // request may carry DATA with neither. Only the parsed headers the app reads say so.
    if (hasRequestBody(req) && req.headers['content-length'] === undefined) req.headers['transfer-encoding'] = 'chunked';
    handle(req, res);
  };
}
