/**
 * The loopback redirect of `kubegate token`'s browser login (RFC 8252 §7.3): a one-shot HTTP
 * server on 127.0.0.1 that waits for the provider to send the browser back to `/callback`. Only
 * an answer carrying this run's `state` counts (anything else on the port is told off and
 * ignored); the browser gets a page saying whether the login worked, then the server closes.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PluginError } from './plugin-error.js';

export interface Loopback {
  port: number;
  server: Server;
  close(): void;
}

/** Listens on the first of `ports` that is free (0: any free port). */
export async function listenOnLoopback(ports: readonly number[]): Promise<Loopback> {
  let lastError: unknown;
  for (const port of ports) {
    const server = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve());
      });
    } catch (err) {
      lastError = err;
      continue;
    }
    return { port: (server.address() as AddressInfo).port, server, close: () => server.close() };
  }
  const code = (lastError as NodeJS.ErrnoException | undefined)?.code ?? 'no port';
  throw new PluginError(`cannot listen on 127.0.0.1 port ${ports.join(' or ')} for the login's redirect (${code}); set KUBEGATE_LOOPBACK_PORTS`);
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res: ServerResponse, status: number, title: string, message: string): void {
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></body></html>`;
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': "default-src 'none'",
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
    Connection: 'close',
  });
  res.end(body);
}

/**
 * Waits for the redirect with `state`; `complete` turns its URL into the result (the gateway's
 * code exchange). Rejects when the provider reports an error, `complete` fails, or time runs out.
 */
export function awaitLoopbackRedirect<T>(loopback: Loopback, options: { state: string; timeoutMs: number; complete: (callbackUrl: string) => Promise<T> }): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    /** The redirect arrived and is being completed: further ones are not this login's. */
    let taken = false;
    const timer = setTimeout(() => finish(new PluginError(`no answer from the browser within ${Math.round(options.timeoutMs / 60_000)} minutes; run the command again`)), options.timeoutMs);
    const finish = (err: Error | undefined, value?: T): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      loopback.server.off('request', onRequest);
      if (err) reject(err);
      else resolve(value as T);
    };
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      const url = new URL(req.url ?? '/', `http://127.0.0.1:${loopback.port}`);
      if (req.method !== 'GET' || url.pathname !== '/callback') return page(res, 404, 'Not found', 'This is kubegate token waiting for a login.');
      if (taken || url.searchParams.get('state') !== options.state) {
        return page(res, 400, 'Not this login', 'This answer does not belong to the login kubegate token is waiting for.');
      }
      taken = true;
      clearTimeout(timer);
      const error = url.searchParams.get('error');
      if (error !== null) {
        page(res, 401, 'Login failed', 'The login was cancelled or refused at the identity provider. Run the command again.');
        return finish(new PluginError(`the login was cancelled or refused at the identity provider (${error.slice(0, 64)})`));
      }
      options.complete(url.href).then(
        (value) => {
          page(res, 200, 'Logged in', 'You are logged in to kubegate. You can close this tab and go back to the terminal.');
          finish(undefined, value);
        },
        (err: Error) => {
          page(res, 401, 'Login failed', err.message);
          finish(err);
        },
      );
    };
    loopback.server.on('request', onRequest);
  });
}
