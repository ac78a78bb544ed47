/**
 * The one place errors become responses: Kubernetes `Status` objects on `/k8s/...` (so kubectl
 * prints `error: You must be logged in to the server (Unauthorized)`), and the docs/reference/api.md shape
 * `{"error":{code,reason,message}}` everywhere else.
 */
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { toGatewayError, type GatewayError } from '../errors.js';

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

function send(res: ServerResponse, err: GatewayError, body: string, requestId?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...err.headers,
  };
  if (requestId) headers['X-Request-Id'] = requestId;
  res.writeHead(err.code, headers);
  res.end(body);
}

/** Answers a `/k8s/...` request with a `Status` object. */
export function sendStatus(res: ServerResponse, error: unknown, requestId?: string): GatewayError {
  const err = toGatewayError(error);
  send(res, err, statusBody(err), requestId);
  return err;
}

/** Answers a management API request with the `{"error":…}` shape. */
export function sendApiError(res: ServerResponse, error: unknown, requestId?: string): GatewayError {
  const err = toGatewayError(error);
  send(res, err, apiErrorBody(err), requestId);
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
