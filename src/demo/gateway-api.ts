/**
 * A small JSON client for the management API (docs/reference/api.md), for the commands that drive
 * a gateway as an administrator would: `kubegate demo` and `kubegate cluster add`. TLS is always
 * verified, against `caPem` when given, else the system trust store.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface ApiResponse {
  status: number;
  /** The parsed JSON body; undefined when the body is not JSON. */
  body: any;
  text: string;
}

export interface GatewayApi {
  /** The gateway's base URL, no trailing slash. */
  readonly url: string;
  call(method: string, path: string, options?: { token?: string; body?: unknown; timeoutMs?: number }): Promise<ApiResponse>;
}

/** The API error shape's message (`{"error": {"message": …}}`), else the status and text. */
export function apiMessage(res: ApiResponse): string {
  const message = res.body?.error?.message;
  if (typeof message === 'string') return message;
  return `HTTP ${res.status}${res.text ? `: ${res.text.slice(0, 200)}` : ''}`;
}

export function gatewayApi(url: string, caPem: string | undefined): GatewayApi {
  const base = url.replace(/\/+$/, '');
  return {
    url: base,
    call(method, path, options = {}) {
      return new Promise((resolve, reject) => {
        const target = new URL(base + path);
        const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'kubegate-cli' };
        if (options.token) headers.Authorization = `Bearer ${options.token}`;
        const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
        if (payload !== undefined) headers['Content-Type'] = 'application/json';
        const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
        const req = send(target, { method, headers, ...(target.protocol === 'https:' && caPem ? { ca: caPem } : {}), timeout: options.timeoutMs ?? 15_000 }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            let body: unknown;
            try {
              body = text ? JSON.parse(text) : undefined;
            } catch {
              body = undefined;
            }
            resolve({ status: res.statusCode ?? 0, body, text });
          });
          res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error(`no answer from ${base} within ${(options.timeoutMs ?? 15_000) / 1000}s`)));
        req.on('error', reject);
        req.end(payload);
      });
    },
  };
}
