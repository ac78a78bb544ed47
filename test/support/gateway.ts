/** Starts an in-process gateway in a temp dir for tests, with captured log lines. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Agent, request } from 'node:https';
import { loadGatewayConfig } from '../../src/config/gateway-config.js';
import { startGateway, type Gateway } from '../../src/gateway.js';
import { createLogger } from '../../src/log.js';
import { freePort } from './ports.js';

export const ADMIN_PASSWORD = 'admin-password-1';

export interface TestGateway extends Gateway {
  dir: string;
  /** Every log line written so far (raw JSON text). */
  logs: string[];
  /** An https.Agent trusting the gateway CA. */
  agent: Agent;
  /** Stops the gateway and removes its temp dir. */
  stop(): Promise<void>;
}

/** Starts a gateway on 127.0.0.1 with a random port; extra flags are passed as on the command line. */
export async function startTestGateway(flags: string[] = [], options: { clock?: () => number; dir?: string } = {}): Promise<TestGateway> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'kubegate-test-')));
  const config = loadGatewayConfig(
    [
      '--listen', '127.0.0.1:0',
      '--data-dir', join(dir, 'data'),
      '--certs-dir', join(dir, 'certs'),
      '--admin-password', ADMIN_PASSWORD,
      '--shutdown-timeout', '1s',
      '--shutdown-grace', '0s',
      '--log-level', 'debug',
      // Keep audit lines out of the test output; tests that read them pass their own path.
      '--audit-log', join(dir, 'audit.log'),
      ...flags,
    ],
    {},
  );
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  const gateway = await startGateway(config, createLogger(config.logLevel, sink), { announce: () => {}, clock: options.clock });
  const agent = new Agent({ ca: gateway.caPem, keepAlive: false });
  return {
    ...gateway,
    dir,
    logs,
    agent,
    async stop() {
      await gateway.close();
      agent.destroy();
      if (!options.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface JsonResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
  text: string;
}

/** A small JSON client for the gateway (TLS verified against its CA). */
export function call(
  gw: Pick<TestGateway, 'url' | 'agent'>,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string | string[]>; rawBody?: string } = {},
): Promise<JsonResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | string[]> = { ...options.headers };
    if (options.token) headers.Authorization = `Bearer ${options.token}`;
    let payload: string | undefined = options.rawBody;
    if (options.body !== undefined) payload = JSON.stringify(options.body);
    if (payload !== undefined) headers['Content-Type'] ??= 'application/json';
    const req = request(new URL(path, gw.url), { method, headers, agent: gw.agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode!, headers: res.headers, body, text });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Logs in and returns the token. */
export async function login(gw: Pick<TestGateway, 'url' | 'agent'>, username: string, password: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await call(gw, 'POST', '/v1/login', { body: { username, password, ...extra } });
  if (res.status !== 201) throw new Error(`login as ${username} failed: ${res.status} ${res.text}`);
  return res.body.token as string;
}

/** Creates a user as admin and returns its id. */
export async function createUser(gw: Pick<TestGateway, 'url' | 'agent'>, adminToken: string, user: { username: string; password: string; groups?: string[]; admin?: boolean }): Promise<string> {
  const res = await call(gw, 'POST', '/v1/users', { token: adminToken, body: user });
  if (res.status !== 201) throw new Error(`create user failed: ${res.status} ${res.text}`);
  return res.body.id as string;
}

export { freePort };

/** Flags that make the gateway listen where its public URL (and so its kubeconfigs) point. */
export async function reachablePublicUrlFlags(host = '127.0.0.1'): Promise<string[]> {
  const port = await freePort();
  return ['--listen', `127.0.0.1:${port}`, '--public-url', `https://${host}:${port}`];
}
