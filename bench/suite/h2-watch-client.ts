/**
 * Holds many idle watches as HTTP/2 streams, `perConnection` of them on each of a few TLS
 * connections (what client-go does: every informer of a controller shares one connection).
 * Driven over stdin like watch-client.ts:
 *
 *   open N   opens N more watches, filling connections of `perConnection` streams; prints `opened <total> failed <n>`
 *   reset    closes them all; prints `reset`
 *   exit     closes them all and exits
 *
 *   node --import tsx bench/suite/h2-watch-client.ts '{"port":8443,"path":"/k8s/…?watch=true","token":"…","perConnection":100}'
 *
 * A watch counts as open once its response headers (200) have arrived.
 */
import { connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { createInterface } from 'node:readline';

interface Options {
  port: number;
  path: string;
  token: string;
  perConnection: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options;
const sessions: Array<{ session: ClientHttp2Session; streams: ClientHttp2Stream[] }> = [];
let failures = 0;
let lastError = '';

function newSession(): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connect(`https://127.0.0.1:${options.port}`, { rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    session.once('remoteSettings', () => resolve(session));
    session.once('error', reject);
  });
}

function watchOn(session: ClientHttp2Session): Promise<ClientHttp2Stream | undefined> {
  return new Promise((resolve) => {
    const stream = session.request({ ':path': options.path, authorization: `Bearer ${options.token}`, accept: 'application/json', 'user-agent': 'kubegate-bench-h2-watch' });
    const fail = (why: string) => {
      failures++;
      lastError = why;
      stream.destroy();
      resolve(undefined);
    };
    stream.once('response', (headers) => (headers[':status'] === 200 ? resolve(stream) : fail(`status ${headers[':status']}`)));
    stream.once('error', (err) => fail(err.message));
    // Idle watches send nothing; whatever comes is read and dropped.
    stream.resume();
  });
}

async function open(n: number): Promise<void> {
  let left = n;
  while (left > 0) {
    let current = sessions.at(-1);
    if (!current || current.streams.length >= options.perConnection) {
      current = { session: await newSession(), streams: [] };
      sessions.push(current);
    }
    const batch = Math.min(left, options.perConnection - current.streams.length);
    const opened = await Promise.all(Array.from({ length: batch }, () => watchOn(current!.session)));
    for (const s of opened) if (s) current.streams.push(s);
    left -= batch;
  }
  const total = sessions.reduce((t, s) => t + s.streams.filter((x) => !x.destroyed).length, 0);
  process.stdout.write(`opened ${total} failed ${failures}${failures ? ` (${lastError})` : ''} connections ${sessions.length}\n`);
}

function closeAll(): void {
  for (const s of sessions) s.session.destroy();
  sessions.length = 0;
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
