/**
 * Holds many idle watches open, one raw TLS connection each (what a fleet of kubectl/controllers
 * watching looks like to the gateway). Driven over stdin, one command a line:
 *
 *   open N   opens N more watches (up to 200 handshakes in flight); prints `opened <total> failed <n>`
 *   reset    closes them all; prints `reset`
 *   exit     closes them all and exits
 *
 *   node --import tsx bench/suite/watch-client.ts '{"port":8443,"path":"/k8s/clusters/bench/api/v1/…?watch=true","token":"…"}'
 *
 * A watch counts as open once the `200` status line and headers have arrived. TLS sessions are
 * resumed after the first connection, as a long-running client would.
 */
import { createInterface } from 'node:readline';
import { connect, type TLSSocket } from 'node:tls';

interface Options {
  port: number;
  path: string;
  token: string;
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options;
const requestText = `GET ${options.path} HTTP/1.1\r\nHost: 127.0.0.1:${options.port}\r\nAuthorization: Bearer ${options.token}\r\nAccept: application/json\r\nUser-Agent: kubegate-bench-watch\r\n\r\n`;
const sockets: TLSSocket[] = [];
let session: Buffer | undefined;
let failures = 0;
let lastError = '';

function openOne(): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: options.port, rejectUnauthorized: false, session });
    let head = '';
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      failures++;
      lastError = why;
      socket.destroy();
      resolve();
    };
    socket.once('session', (s: Buffer) => (session ??= s));
    socket.on('error', (err) => fail(err.message));
    socket.once('secureConnect', () => socket.write(requestText));
    socket.on('data', (chunk: Buffer) => {
      if (settled) return;
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      if (!head.startsWith('HTTP/1.1 200')) return fail(head.split('\r\n')[0]!);
      settled = true;
      sockets.push(socket);
      resolve();
    });
    socket.once('close', () => fail('closed before the answer'));
  });
}

async function open(n: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(200, n) }, async () => {
      while (next < n) {
        next++;
        await openOne();
      }
    }),
  );
  const open = sockets.filter((s) => !s.destroyed).length;
  process.stdout.write(`opened ${open} failed ${failures}${failures ? ` (${lastError})` : ''}\n`);
}

function closeAll(): void {
  for (const s of sockets) s.destroy();
  sockets.length = 0;
  failures = 0;
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const [cmd, arg] = line.trim().split(/\s+/);
  if (cmd === 'open') await open(Number(arg));
  else if (cmd === 'reset') {
    closeAll();
    process.stdout.write('reset\n');
  } else if (cmd === 'exit') {
    closeAll();
    process.exit(0);
  }
}
