/**
 * The side of a tunnel that opens streams: the gateway over an agent's connection, and a replica
 * over its link to a peer (protocol.ts). An HTTP/2 client session on a socket the *other* side
 * dialed; each `dial()` is a CONNECT stream (RFC 9113 §8.5) that the far end pipes onward, so the
 * stream is a byte pipe the upstream code runs TLS and HTTP over as over TCP. Each stream has its
 * own flow-control window: a reader that stops holds back only its own stream.
 */
import { EventEmitter } from 'node:events';
import { connect as http2Connect, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import { keepSessionAlive } from './keep-alive.js';
import { CONNECTION_WINDOW, MAX_SESSION_MEMORY_MB, MAX_STATE_LINE_BYTES, MAX_STREAMS, STATE_PATH, STREAM_WINDOW } from './protocol.js';

/** A failed dial, with the `code` the upstream's 503 names. */
function dialError(message: string, code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

export class TunnelClient extends EventEmitter<{ close: [] }> {
  readonly session: ClientHttp2Session;
  private open = 0;
  private ended = false;

  constructor(socket: Duplex) {
    super();
    this.session = http2Connect('http://tunnel.invalid', {
      createConnection: () => socket,
      settings: { enablePush: false, initialWindowSize: STREAM_WINDOW, maxConcurrentStreams: MAX_STREAMS },
      peerMaxConcurrentStreams: MAX_STREAMS,
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
    });
    this.session.on('connect', () => this.session.setLocalWindowSize(CONNECTION_WINDOW));
    // Errors end the session; 'close' below is what callers hear.
    this.session.on('error', () => {});
    this.session.once('close', () => this.end());
    socket.once('close', () => this.session.destroy());
    keepSessionAlive(this.session);
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Streams open through this tunnel now. */
  get activeStreams(): number {
    return this.open;
  }

  /**
   * Reads the far end's state stream: `onState` gets each line's JSON. The stream ending, a
   * malformed line or one over the limit ends the tunnel.
   */
  watchState(onState: (value: unknown) => void): void {
    const stream = this.session.request({ ':method': 'GET', ':path': STATE_PATH });
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_STATE_LINE_BYTES) return this.close();
      for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (!line.trim()) continue;
        try {
          onState(JSON.parse(line));
        } catch {
          return this.close();
        }
      }
    });
    stream.on('response', (headers) => headers[':status'] === 200 || this.close());
    stream.on('error', () => this.close());
    stream.on('end', () => this.close());
  }

  /** Opens a byte stream to what the far end serves for `authority`; rejects with a `code`. */
  dial(authority: string, signal: AbortSignal): Promise<Duplex> {
    if (this.ended || this.session.destroyed || this.session.closed) return Promise.reject(dialError('the tunnel is closed', 'ECONNRESET'));
    return new Promise((resolve, reject) => {
      let stream: ClientHttp2Stream;
      try {
        stream = this.session.request({ ':method': 'CONNECT', ':authority': authority }, { endStream: false });
      } catch (err) {
        return reject(dialError((err as Error).message, 'ECONNRESET'));
      }
      this.open++;
      stream.once('close', () => this.open--);
      const fail = (err: NodeJS.ErrnoException): void => {
        signal.removeEventListener('abort', onAbort);
        stream.close(constants.NGHTTP2_CANCEL);
        reject(err);
      };
      const onAbort = (): void => fail(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
      stream.once('error', (err: Error) => fail(dialError(err.message, 'ECONNRESET')));
      stream.once('response', (headers) => {
        const status = Number(headers[':status']);
        if (status !== 200) return fail(dialError(`the far end could not connect (${status})`, status === 503 ? 'ENOAGENT' : 'ECONNREFUSED'));
        signal.removeEventListener('abort', onAbort);
        stream.removeAllListeners('error');
        stream.on('error', () => stream.destroy());
        resolve(stream);
      });
    });
  }

  /** Ends the tunnel: every stream through it is reset. */
  close(): void {
    this.session.destroy();
    this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.emit('close');
  }
}
