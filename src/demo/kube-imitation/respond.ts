/**
 * The only place that writes responses, on an HTTP response or on a raw socket (refused
 * upgrades). Every answer carries the headers kube-apiserver always sends, and its status is
 * stored in the request's record.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { PlainTextError, StatusError, internalError } from './status.js';
import type { RecordedRequest } from './types.js';

export interface Reply {
  status: number;
  contentType: string;
  body: string;
  /** Extra headers; an array value is sent as one header line per element. */
  headers?: Record<string, string | string[]>;
}

/** Headers kube-apiserver puts on every answer; proxies must pass them through untouched. */
const commonHeaders = (): Record<string, string> => ({
  'Audit-Id': randomUUID(),
  'Cache-Control': 'no-cache, private',
});

export const jsonReply = (status: number, value: unknown, contentType = 'application/json'): Reply => ({
  status,
  contentType,
  body: JSON.stringify(value),
});

/** Turns anything thrown by a handler into what kube-apiserver would have answered. */
export const errorReply = (error: unknown): Reply => {
  if (error instanceof StatusError) return jsonReply(error.status.code, error.status);
  if (error instanceof PlainTextError) {
    // net/http's http.Error: text/plain, nosniff, and a trailing newline.
    return {
      status: error.code,
      contentType: 'text/plain; charset=utf-8',
      body: `${error.body}\n`,
      headers: { 'X-Content-Type-Options': 'nosniff' },
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return jsonReply(500, internalError(message).status);
};

/** Writes a complete reply on an HTTP response. */
export const send = (res: ServerResponse, record: RecordedRequest, reply: Reply): void => {
  record.status = reply.status;
  if (res.headersSent) {
    // A stream already started; the only honest signal left is to cut it.
    res.destroy();
    return;
  }
  res.writeHead(reply.status, {
    ...commonHeaders(),
    ...reply.headers,
    'Content-Type': reply.contentType,
    'Content-Length': Buffer.byteLength(reply.body),
  });
  res.end(reply.body);
};

/** Starts a streamed answer (watch, log) and flushes its headers at once, as kube-apiserver does. */
export const startStream = (res: ServerResponse, record: RecordedRequest, contentType: string): void => {
  record.status = 200;
  res.writeHead(200, { ...commonHeaders(), 'Content-Type': contentType, 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
};

/**
 * Answers an upgrade request without upgrading: a plain HTTP/1.1 response on the raw socket,
 * then the connection is closed (nothing else can follow a refused upgrade on it).
 */
export const sendOnSocket = (socket: Duplex, record: RecordedRequest, reply: Reply): void => {
  record.status = reply.status;
  const headers: Record<string, string | string[]> = {
    ...commonHeaders(),
    ...reply.headers,
    'Content-Type': reply.contentType,
    'Content-Length': String(Buffer.byteLength(reply.body)),
    Connection: 'close',
  };
  const head = [`HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? ''}`]
    .concat(Object.entries(headers).flatMap(([name, value]) => [value].flat().map((v) => `${name}: ${v}`)))
    .join('\r\n');
  socket.end(`${head}\r\n\r\n${reply.body}`);
};

/** Writes the 101 answer that switches the socket to another protocol. */
export const sendSwitchingProtocols = (socket: Duplex, record: RecordedRequest, headers: Array<[string, string]>): void => {
  record.status = 101;
  const lines = ['HTTP/1.1 101 Switching Protocols', ...headers.map(([name, value]) => `${name}: ${value}`)];
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
};
