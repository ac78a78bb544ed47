/**
 * HTTP/2 frames written by hand (RFC 9113, HPACK literals without Huffman coding, RFC 7541), for
 * what well-behaved clients refuse to send: connection-specific fields, upper-case names, header
 * bombs, floods of reset streams. Reads the server's frames back by type (headers are not decoded
 * beyond the static table's `:status` entries).
 */
import { connect } from 'node:tls';

export interface Frame {
  type: string;
  streamId: number;
  /** RST_STREAM and GOAWAY error code. */
  code?: number;
  /** A HEADERS frame's `:status` when it is a static-table entry. */
  status?: number;
}

const TYPES = ['DATA', 'HEADERS', 'PRIORITY', 'RST_STREAM', 'SETTINGS', 'PUSH_PROMISE', 'PING', 'GOAWAY', 'WINDOW_UPDATE', 'CONTINUATION'];
const STATIC_STATUS: Record<number, number> = { 8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500 };
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/** Huffman codes of the digits (RFC 7541 Appendix B): '0'–'2' five bits, '3'–'9' six. */
const HUFFMAN_DIGITS = new Map<string, string>([...'0123456789'].map((d, i) => [i < 3 ? i.toString(2).padStart(5, '0') : (0x19 + i - 3).toString(2).padStart(6, '0'), d]));

/** The `:status` at the start of a response header block: a static entry or a literal with name index 8. */
function statusOf(block: Buffer): number | undefined {
  const first = block[0]!;
  if (first & 0x80) return STATIC_STATUS[first & 0x7f];
  if (first !== 0x48 && first !== 0x08 && first !== 0x18) return undefined;
  const huffman = (block[1]! & 0x80) !== 0;
  const value = block.subarray(2, 2 + (block[1]! & 0x7f));
  if (!huffman) return Number(value.toString('latin1'));
  const bits = [...value].map((b) => b.toString(2).padStart(8, '0')).join('');
  let digits = '';
  let code = '';
  for (const bit of bits) {
    code += bit;
    const d = HUFFMAN_DIGITS.get(code);
    if (d !== undefined) {
      digits += d;
      code = '';
    }
  }
  return Number(digits);
}

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK integer with an n-bit prefix (RFC 7541 §5.1). */
function integer(value: number, prefixBits: number, firstByte: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByte | value]);
  const out = [firstByte | max];
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return Buffer.from(out);
}

const string = (s: string): Buffer => Buffer.concat([integer(Buffer.byteLength(s), 7, 0), Buffer.from(s)]);

/**
 * A header block. Names go on the wire as given (upper case included). With `indexRepeats`, a
 * repeated line is sent once with incremental indexing, then as a one-byte index (an HPACK bomb).
 */
export function headerBlock(headers: ReadonlyArray<readonly [string, string]>, indexRepeats = false): Buffer {
  const parts: Buffer[] = [];
  const indexed = new Map<string, number>();
  let dynamic: string[] = [];
  for (const [name, value] of headers) {
    const key = `${name}\0${value}`;
    if (indexRepeats && indexed.has(key)) {
      // Dynamic entries start at 62, newest first.
      parts.push(integer(62 + dynamic.length - 1 - indexed.get(key)!, 7, 0x80));
      continue;
    }
    if (indexRepeats) {
      parts.push(Buffer.from([0x40]), string(name), string(value));
      indexed.set(key, dynamic.length);
      dynamic = [...dynamic, key];
    } else {
      parts.push(Buffer.from([0x00]), string(name), string(value));
    }
  }
  return Buffer.concat(parts);
}

/**
 * Opens a TLS connection speaking h2 to `world`'s gateway and sends one request (stream 1), or
 * with `rapidReset` that many requests each reset at once; resolves with the frames read until
 * stream 1 is answered or reset, the server sends GOAWAY, or the connection closes.
 */
export function rawH2(
  gw: { url: string; caPem: string | undefined },
  headers: ReadonlyArray<readonly [string, string]>,
  options: { indexRepeats?: boolean; rapidReset?: number } = {},
): Promise<Frame[]> {
  const { hostname, port } = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const frames: Frame[] = [];
    let buffered = Buffer.alloc(0);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(frames);
    };
    const socket = connect({ host: hostname, port: Number(port), ca: gw.caPem, ALPNProtocols: ['h2'], servername: 'localhost' }, () => {
      if (socket.alpnProtocol !== 'h2') return reject(new Error(`ALPN gave ${socket.alpnProtocol}`));
      const block = headerBlock(headers, options.indexRepeats);
      const out: Buffer[] = [PREFACE, frame(4, 0, 0, Buffer.alloc(0))];
      if (options.rapidReset) {
        const cancel = Buffer.alloc(4);
        cancel.writeUInt32BE(8); // CANCEL
        // Without indexing every block is the same bytes: the static table only, no dynamic state.
        for (let i = 0; i < options.rapidReset; i++) out.push(frame(1, 0x4 | 0x1, 1 + 2 * i, block), frame(3, 0, 1 + 2 * i, cancel));
      } else {
        out.push(frame(1, 0x4 | 0x1, 1, block));
      }
      socket.write(Buffer.concat(out));
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 9) {
        const length = buffered.readUIntBE(0, 3);
        if (buffered.length < 9 + length) break;
        const type = buffered[3]!;
        const flags = buffered[4]!;
        const streamId = buffered.readUInt32BE(5) & 0x7fffffff;
        const payload = buffered.subarray(9, 9 + length);
        buffered = buffered.subarray(9 + length);
        const f: Frame = { type: TYPES[type] ?? String(type), streamId };
        if (f.type === 'RST_STREAM') f.code = payload.readUInt32BE(0);
        if (f.type === 'GOAWAY') f.code = payload.readUInt32BE(4);
        if (f.type === 'HEADERS') f.status = statusOf(flags & 0x8 ? payload.subarray(1) : payload);
        frames.push(f);
        if (f.type === 'SETTINGS' && !(flags & 0x1)) socket.write(frame(4, 0x1, 0, Buffer.alloc(0)));
        if (f.type === 'GOAWAY') finish();
        if (!options.rapidReset && streamId === 1 && (f.type === 'RST_STREAM' || f.type === 'HEADERS')) finish();
      }
    });
    socket.on('error', () => finish());
    socket.on('close', finish);
  });
}
