/**
 * `pods/<name>/exec` over WebSocket, the way kubectl ≥ 1.30 speaks it (remotecommand
 * `v5.channel.k8s.io`, also `v4.channel.k8s.io`). Every binary message starts with a channel
 * byte: 0 stdin, 1 stdout, 2 stderr, 3 error (final metav1.Status as JSON), 4 resize; in v5 a
 * message on 255 carrying a channel number closes that channel (kubectl sends [255, 0] at stdin EOF).
 * As the real server does, an empty message on the first writable channel announces the stream.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { UpgradeContext } from './context.js';
import { CommandNotFoundError, runCommand } from './exec-commands.js';
import { resolveContainer, requireRunning } from './pods.js';
import { badRequest, methodNotAllowed } from './status.js';
import type { KubeObject } from './types.js';

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const CLOSE = 255;

/** Subprotocols served, most preferred first. */
const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

const truthy = (value: string | null): boolean => value !== null && ['true', '1', 't', 'T', 'TRUE', 'True'].includes(value);

/** stdin as an async iterable that ends when the client closes it (WebSocket and SPDY sessions alike). */
export class StdinQueue implements AsyncIterable<Buffer> {
  private readonly chunks: Buffer[] = [];
  private closed = false;
  private wake: (() => void) | undefined;

  push(chunk: Buffer): void {
    if (this.closed || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.wake?.();
  }

  close(): void {
    this.closed = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk) {
        yield chunk;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }
}

export interface ExecRequest {
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  container: string;
}

/** Checks the exec parameters before upgrading, so errors are plain HTTP answers. */
export const parseExecRequest = (query: URLSearchParams, pod: KubeObject): ExecRequest => {
  const container = resolveContainer(pod, query.get('container'));
  requireRunning(pod, container);
  const request: ExecRequest = {
    command: query.getAll('command'),
    stdin: truthy(query.get('stdin')),
    stdout: truthy(query.get('stdout')),
    stderr: truthy(query.get('stderr')),
    container,
  };
  if (!request.stdin && !request.stdout && !request.stderr) throw badRequest('you must specify at least 1 of stdin, stdout, stderr');
  if (request.command.length === 0) throw badRequest('you must specify at least one command for the container');
  return request;
};

/** An attach: to the container's process, which here is `cat` (stdin back on stdout). */
export const parseAttachRequest = (query: URLSearchParams, pod: KubeObject): ExecRequest => {
  const container = resolveContainer(pod, query.get('container'));
  requireRunning(pod, container);
  const request = { command: ['cat'], stdin: truthy(query.get('stdin')), stdout: truthy(query.get('stdout')), stderr: truthy(query.get('stderr')), container };
  if (!request.stdin && !request.stdout && !request.stderr) throw badRequest('you must specify at least 1 of stdin, stdout, stderr');
  return request;
};

/** `tty=true` on an exec or attach. */
export const wantsTty = (query: URLSearchParams): boolean => truthy(query.get('tty'));

/** The subprotocol the double would pick from the request's (token protocol already removed). */
export const chooseProtocol = (req: IncomingMessage): string | undefined => {
  const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  return PROTOCOLS.find((p) => offered.includes(p));
};

/** Final status on the error channel, as remotecommand's v4 error stream writes it. */
export const exitStatusFor = (argv: string[], outcome: number | Error): Record<string, unknown> => {
  if (outcome === 0) return { metadata: {}, status: 'Success' };
  if (typeof outcome === 'number') {
    return {
      metadata: {},
      status: 'Failure',
      message: `command terminated with non-zero exit code: error executing command [${argv.join(' ')}], exit code ${outcome}`,
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: String(outcome) }] },
    };
  }
  const detail = outcome instanceof CommandNotFoundError
    ? `error executing command in container: failed to exec in container: OCI runtime exec failed: exec failed: unable to start container process: ${outcome.message}: unknown`
    : outcome.message;
  return {
    metadata: {},
    status: 'Failure',
    message: `Internal error occurred: ${detail}`,
    reason: 'InternalError',
    details: { causes: [{ message: detail }] },
    code: 500,
  };
};

const wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => PROTOCOLS.find((p) => protocols.has(p)) ?? false });

/**
 * Checks what `ws` would otherwise refuse on its own (writing its answer behind our back), so the
 * refusal goes through respond.ts and lands in the record.
 */
export const checkHandshake = (req: IncomingMessage): void => {
  if (req.method !== 'GET') throw methodNotAllowed(); // RFC 6455: the handshake is a GET
  const key = req.headers['sec-websocket-key'] ?? '';
  if (req.headers['sec-websocket-version'] !== '13' || !/^[+/0-9A-Za-z]{22}==$/.test(key)) throw badRequest('invalid WebSocket handshake');
};

/** Completes the WebSocket handshake and runs the command. */
export const serveExec = (ctx: UpgradeContext, exec: ExecRequest, protocol: string): void => {
  checkHandshake(ctx.req);
  const socket: Duplex = ctx.socket;
  wss.handleUpgrade(ctx.req, socket, ctx.head, (ws: WebSocket) => {
    ctx.record.status = 101;
    const v5 = protocol === 'v5.channel.k8s.io';
    const stdin = new StdinQueue();
    if (!exec.stdin) stdin.close();
    const aborter = new AbortController();
    const untrack = ctx.streams.open(() => ws.terminate());
    const send = (channel: number, data: string | Buffer): void => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(Buffer.concat([Buffer.from([channel]), typeof data === 'string' ? Buffer.from(data) : data]));
    };

    ws.on('message', (data: Buffer) => {
      const channel = data[0];
      if (channel === STDIN) stdin.push(data.subarray(1));
      else if (channel === CLOSE && v5 && data[1] === STDIN) stdin.close();
      // Resize (4) and anything else: nothing to do for a fake process.
    });
    ws.on('close', () => {
      stdin.close();
      aborter.abort();
      untrack();
    });
    ws.on('error', () => ws.terminate());

    send(exec.stdout ? STDOUT : exec.stderr ? STDERR : ERROR, Buffer.alloc(0));
    const io = {
      stdin,
      stdout: (data: string | Buffer) => exec.stdout && send(STDOUT, data),
      stderr: (data: string | Buffer) => exec.stderr && send(STDERR, data),
      user: ctx.user,
      signal: aborter.signal,
    };
    runCommand(exec.command, io)
      .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))))
      .then((outcome) => {
        send(ERROR, JSON.stringify(exitStatusFor(exec.command, outcome)));
        if (ws.readyState === ws.OPEN) ws.close(1000);
      });
  });
};
