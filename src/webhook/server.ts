/**
 * The webhook's HTTP surface (docs/reference/webhook.md): `POST /v1/authenticate` (TokenReview) and `GET /healthz`.
 * Plain `node:http` with no framework: a review is read, decided from memory and answered in a
 * few microseconds, and kube-apiserver calls it on every uncached request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { GatewayError } from '../errors.js';
import { statusBody } from '../http/render-error.js';
import type { AuthnCopy } from './authn-copy.js';
import { MalformedReviewError, parseTokenReview, tokenReviewResponse } from './token-review.js';

/** Largest review accepted; real ones are a token (a few KiB at most for foreign JWTs) and audiences. */
export const MAX_REVIEW_BYTES = 64 * 1024;

function send(res: ServerResponse, code: number, body: string, contentType = 'application/json'): void {
  res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(body);
}

function sendError(res: ServerResponse, err: GatewayError): void {
  if (err.code === 413 || err.code === 400) res.setHeader('Connection', 'close');
  send(res, err.code, statusBody(err));
}

function tooLarge(): GatewayError {
  // Made only when needed: an Error captures a stack trace, too dear for every review.
  return new GatewayError('RequestEntityTooLarge', `review larger than ${MAX_REVIEW_BYTES} bytes`);
}

/**
 * Reads the body up to `MAX_REVIEW_BYTES`, then calls `done` once with it (or with the request's
 * error). A larger body is answered 413 here and `done` is never called. Callbacks rather than a
 * Promise: a promise, an async function and their microtasks per review were a measurable share
 * of the webhook's CPU and garbage (issue 8).
 */
function readBody(req: IncomingMessage, res: ServerResponse, done: (err: Error | undefined, body: string) => void): void {
  if (Number(req.headers['content-length'] ?? 0) > MAX_REVIEW_BYTES) {
    sendError(res, tooLarge());
    req.resume();
    return;
  }
  let first: Buffer | undefined;
  let more: Buffer[] | undefined;
  let size = 0;
  // Set once answered 413 or handed to `done`: whatever the request emits later is ignored.
  let settled = false;
  req.on('data', (c: Buffer) => {
    if (settled) return;
    size += c.length;
    if (size > MAX_REVIEW_BYTES) {
      settled = true;
      if (!res.headersSent) sendError(res, tooLarge());
      req.destroy();
    } else if (first === undefined) first = c;
    else (more ??= [first]).push(c);
  });
  req.on('end', () => {
    if (settled) return;
    settled = true;
    done(undefined, more ? Buffer.concat(more).toString('utf8') : (first?.toString('utf8') ?? ''));
  });
  req.on('error', (err) => {
    if (settled) return;
    settled = true;
    done(err, '');
  });
}

/** Answers a review read in full. */
function answerReview(res: ServerResponse, copy: AuthnCopy, body: string): void {
  let review;
  try {
    review = parseTokenReview(body);
  } catch (err) {
    if (err instanceof MalformedReviewError) return sendError(res, new GatewayError('BadRequest', `malformed TokenReview: ${err.message}`));
    throw err;
  }
  // Before the first copy is loaded there is nothing to decide with: an error, not a "no".
  if (!copy.loaded) return sendError(res, new GatewayError('ServiceUnavailable', 'no copy of the tokens loaded yet'));
  send(res, 200, tokenReviewResponse(review.apiVersion, copy.review(review.token)));
}

function authenticate(req: IncomingMessage, res: ServerResponse, copy: AuthnCopy, onError: (err: unknown) => void): void {
  readBody(req, res, (readError, body) => {
    try {
      if (readError) throw readError;
      answerReview(res, copy, body);
    } catch (err) {
      onError(err);
      if (!res.headersSent) sendError(res, new GatewayError('InternalError', 'internal error'));
    }
  });
}

/** Builds (does not start) the webhook's server. */
export function createWebhookServer(copy: AuthnCopy, onError: (err: unknown) => void): Server {
  const server = createServer({ keepAliveTimeout: 65_000, headersTimeout: 10_000, requestTimeout: 10_000 }, (req, res) => {
    const path = req.url?.split('?', 1)[0];
    if (path === '/v1/authenticate') {
      if (req.method !== 'POST') return sendError(res, new GatewayError('MethodNotAllowed', 'POST a TokenReview'));
      return authenticate(req, res, copy, onError);
    }
    if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      return copy.loaded ? send(res, 200, 'ok', 'text/plain') : send(res, 503, 'no copy of the tokens loaded yet', 'text/plain');
    }
    sendError(res, new GatewayError('NotFound', 'not found'));
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  return server;
}
