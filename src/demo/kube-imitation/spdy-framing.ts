/**
 * SPDY/3.1 framing, the server side of what kubectl's SPDY client (moby/spdystream) speaks for
 * exec and attach before 1.30: control frames (SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING,
 * GOAWAY, HEADERS, WINDOW_UPDATE) and data frames, header blocks compressed with zlib over the
 * SPDY/3 dictionary, one compression context per direction for the whole connection. Flow control
 * is not enforced (spdystream does not need it for the small amounts the tests move).
 */
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import zlib from 'node:zlib';

const CONTROL = 0x80;
const VERSION = 3;
export const FLAG_FIN = 0x01;
const SYN_STREAM = 1;
const SYN_REPLY = 2;
const RST_STREAM = 3;
const PING = 6;
const GOAWAY = 7;

/** The SPDY/3 header dictionary (draft 3, section 2.6.10.1): 1423 bytes, checked by its sha256 below. */
const DICTIONARY_NAMES = [
  'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding', 'accept-language',
  'accept-ranges', 'age', 'allow', 'authorization', 'cache-control', 'connection', 'content-base', 'content-encoding',
  'content-language', 'content-length', 'content-location', 'content-md5', 'content-range', 'content-type', 'date', 'etag',
  'expect', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since',
  'last-modified', 'location', 'max-forwards', 'pragma', 'proxy-authenticate', 'proxy-authorization', 'range', 'referer',
  'retry-after', 'server', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'vary', 'via', 'warning',
  'www-authenticate', 'method', 'get', 'status', '200 OK', 'version', 'HTTP/1.1', 'url', 'public', 'set-cookie', 'keep-alive', 'origin',
];
const DICTIONARY_TAIL =
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
  '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized' +
  '403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable' +
  'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT' +
  'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,' +
  'text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

const DICTIONARY = Buffer.concat([
  ...DICTIONARY_NAMES.map((n) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(n.length);
    return Buffer.concat([len, Buffer.from(n, 'latin1')]);
  }),
  Buffer.from(DICTIONARY_TAIL, 'latin1'),
]);
// A wrong byte breaks every header block with real clients; fail loudly at load instead.
if (DICTIONARY.length !== 1423 || createHash('sha256').update(DICTIONARY).digest('hex') !== '51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02') {
  throw new Error('the SPDY/3 header dictionary is not the canonical one');
}

/** A zlib stream kept for the whole connection: each block is written and sync-flushed (as ws does for permessage-deflate). */
class ZlibContext {
  private output: Buffer[] = [];
  constructor(private readonly stream: zlib.Inflate | zlib.Deflate) {
    stream.on('data', (chunk: Buffer) => this.output.push(chunk));
  }
  process(block: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.stream.once('error', reject);
      this.stream.write(block);
      this.stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        this.stream.off('error', reject);
        const out = Buffer.concat(this.output);
        this.output = [];
        resolve(out);
      });
    });
  }
}

export type SpdyHeaders = Record<string, string>;

export interface SpdyStreamEvents {
  /** A client-opened stream (SYN_STREAM) with its headers. */
  onStream(id: number, headers: SpdyHeaders, fin: boolean): void;
  /** Data on a stream; `fin` when the client closed its side. */
  onData(id: number, data: Buffer, fin: boolean): void;
  /** The connection ended. */
  onClose(): void;
}

/** One SPDY/3.1 connection, server side. */
export class SpdyConnection {
  private buffer = Buffer.alloc(0);
  private readonly inflate = new ZlibContext(zlib.createInflate({ dictionary: DICTIONARY }));
  private readonly deflate = new ZlibContext(zlib.createDeflate({ dictionary: DICTIONARY }));
  /** Frames are handled one after another (header blocks share one zlib context)... */
  private incoming: Promise<void> = Promise.resolve();
  /** ...and sent in the order they were asked for (a SYN_REPLY waits for its compression). */
  private outgoing: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: Duplex,
    private readonly events: SpdyStreamEvents,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('close', () => events.onClose());
    socket.on('error', () => socket.destroy());
  }

  /** Feeds bytes that arrived before the connection object existed (the upgrade's head). */
  receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= 8) {
      const length = this.buffer.readUIntBE(5, 3);
      if (this.buffer.length < 8 + length) return;
      const frame = this.buffer.subarray(0, 8 + length);
      this.buffer = this.buffer.subarray(8 + length);
      this.incoming = this.incoming.then(() => this.frame(frame)).catch(() => {
        this.socket.destroy();
      });
    }
  }

  private async frame(frame: Buffer): Promise<void> {
    const flags = frame[4]!;
    const body = frame.subarray(8);
    if ((frame[0]! & CONTROL) === 0) {
      this.events.onData(frame.readUInt32BE(0) & 0x7fffffff, body, (flags & FLAG_FIN) !== 0);
      return;
    }
    const type = frame.readUInt16BE(2);
    if (type === SYN_STREAM) {
      const id = body.readUInt32BE(0) & 0x7fffffff;
      const headers = await this.readHeaders(body.subarray(10));
      this.events.onStream(id, headers, (flags & FLAG_FIN) !== 0);
    } else if (type === PING) {
      this.control(PING, 0, body);
    } else if (type === GOAWAY) {
      this.socket.end();
    } else if (type === RST_STREAM) {
      // A stream the client reset: nothing more is sent on it (the command's output is dropped).
    }
    // SETTINGS, HEADERS, WINDOW_UPDATE: nothing to do here.
  }

  private async readHeaders(block: Buffer): Promise<SpdyHeaders> {
    const raw = await this.inflate.process(block);
    const headers: SpdyHeaders = {};
    let at = 4;
    const count = raw.readUInt32BE(0);
    for (let i = 0; i < count; i++) {
      const nameLength = raw.readUInt32BE(at);
      const name = raw.subarray(at + 4, at + 4 + nameLength).toString('utf8');
      at += 4 + nameLength;
      const valueLength = raw.readUInt32BE(at);
      headers[name.toLowerCase()] = raw.subarray(at + 4, at + 4 + valueLength).toString('utf8');
      at += 4 + valueLength;
    }
    return headers;
  }

  private headerBlock(headers: SpdyHeaders): Promise<Buffer> {
    const parts: Buffer[] = [Buffer.alloc(4)];
    parts[0]!.writeUInt32BE(Object.keys(headers).length);
    for (const [name, value] of Object.entries(headers)) {
      for (const s of [name.toLowerCase(), value]) {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(Buffer.byteLength(s));
        parts.push(len, Buffer.from(s));
      }
    }
    return this.deflate.process(Buffer.concat(parts));
  }

  private controlFrame(type: number, flags: number, body: Buffer): Buffer {
    const head = Buffer.alloc(8);
    head.writeUInt16BE((CONTROL << 8) | VERSION, 0);
    head.writeUInt16BE(type, 2);
    head.writeUInt32BE(body.length, 4);
    head[4] = flags;
    return Buffer.concat([head, body]);
  }

  /** Queues bytes (or bytes still being made) behind everything asked for before. */
  private send(frame: Buffer | (() => Promise<Buffer>)): void {
    this.outgoing = this.outgoing
      .then(async () => {
        const bytes = typeof frame === 'function' ? await frame() : frame;
        if (this.socket.writable) this.socket.write(bytes);
      })
      .catch(() => {
        this.socket.destroy();
      });
  }

  private control(type: number, flags: number, body: Buffer): void {
    this.send(this.controlFrame(type, flags, body));
  }

  /** Accepts a client's stream (SYN_REPLY), as spdystream's server does before anything else. */
  reply(id: number, headers: SpdyHeaders = {}): void {
    const streamId = Buffer.alloc(4);
    streamId.writeUInt32BE(id);
    this.send(async () => this.controlFrame(SYN_REPLY, 0, Buffer.concat([streamId, await this.headerBlock(headers)])));
  }

  /** Sends data on a stream; `fin` closes our side of it. */
  data(id: number, data: Buffer, fin = false): void {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(id & 0x7fffffff, 0);
    head.writeUInt32BE(data.length, 4);
    head[4] = fin ? FLAG_FIN : 0;
    this.send(Buffer.concat([head, data]));
  }

  /** Ends the connection (GOAWAY, then close). */
  close(): void {
    this.control(GOAWAY, 0, Buffer.alloc(8));
    this.outgoing = this.outgoing.then(() => void this.socket.end());
  }
}
