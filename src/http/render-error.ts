/**
 * The one place errors become responses: Kubernetes `Status` objects on `/k8s/...` (so kubectl
 * prints `error: You must be logged in to the server (Unauthorized)`), the docs/reference/api.md shape
 * `{"error":{code,reason,message}}` on the API, and a plain page for the browser's single sign-on
 * steps (the provider redirects a browser there: it must read a message, never a stack trace).
 */
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { toGatewayError, type GatewayError } from '../errors.js';
import { PAGE_HEADERS } from './page-headers.js';

/** The Kubernetes `Status` body for an error. */
export function statusBody(err: GatewayError): string {
  return JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: err.message,
    reason: err.reason,
    code: err.code,
  });
}

/** The management API body for an error. */
export function apiErrorBody(err: GatewayError): string {
  return JSON.stringify({ error: { code: err.code, reason: err.reason, message: err.message } });
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The HTML page for an error a browser lands on, with the message and a way back. */
export function errorPageBody(err: GatewayError): string {
  const title = err.code >= 500 ? 'Single sign-on is unavailable' : 'Single sign-on did not work';
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${title} · kubegate</title><link rel="stylesheet" href="/ui/app.css"></head>`,
    '<body><main class="narrow"><div class="card" role="alert">',
    `<h1>${title}</h1><p>${escapeHtml(err.message[0]!.toUpperCase() + err.message.slice(1))}.</p>`,
    `<p class="muted small">(${err.code} ${err.reason})</p>`,
    '<p><a href="/">Back to the login page</a></p>',
    '</div></main></body></html>',
  ].join('\n');
}

function send(res: ServerResponse, err: GatewayError, body: string, requestId?: string, type = 'application/json'): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string | number> = {
    ...(type.startsWith('text/html') ? PAGE_HEADERS : {}),
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...err.headers,
  };
  if (requestId) headers['X-Request-Id'] = requestId;
  res.writeHead(err.code, headers);
  res.end(body);
}

/**
 * Answers a `/k8s/...` request with a `Status` object; `asText`: with its message as plain text,
 * for the discovery requests whose `Status` client-go cannot read (proxy/discovery-refusal.ts).
 */
export function sendStatus(res: ServerResponse, error: unknown, requestId?: string, options: { asText?: boolean } = {}): GatewayError {
  const err = toGatewayError(error);
  if (options.asText) send(res, err, `${err.message}\n`, requestId, 'text/plain; charset=utf-8');
  else send(res, err, statusBody(err), requestId);
  return err;
}

/** Answers a management API request with the `{"error":…}` shape. */
export function sendApiError(res: ServerResponse, error: unknown, requestId?: string): GatewayError {
  const err = toGatewayError(error);
  send(res, err, apiErrorBody(err), requestId);
  return err;
}

/** Answers a browser's single sign-on step with an error page. */
export function sendErrorPage(res: ServerResponse, error: unknown, requestId?: string): GatewayError {
  const err = toGatewayError(error);
  send(res, err, errorPageBody(err), requestId, 'text/html; charset=utf-8');
  return err;
}

/** Answers a refused upgrade on the raw socket with a `Status` object, then closes it. */
export function writeStatusToSocket(socket: Duplex, error: unknown): GatewayError {
  const err = toGatewayError(error);
  const body = statusBody(err);
  if (socket.writable) {
    const extra = Object.entries(err.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.end(
      `HTTP/1.1 ${err.code} ${STATUS_CODES[err.code] ?? 'Error'}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`,
    );
  } else {
    socket.destroy();
  }
  return err;
}
