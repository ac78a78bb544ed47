/**
 * Scenario 4's client, in a process of its own: `node --import tsx bench/suite/transfer-client.ts`.
 *
 * Why not the suite's process: there, every 100 MiB download cost the client about 0.25 s of CPU
 * (direct downloads topped out near 450 MiB/s), against 0.11 s in a small process. Each received
 * TLS record is a new Buffer; the V8 collections that this garbage triggers had to mark the
 * suite's whole heap (tsx, every scenario). Direct downloads then measured the client, not the
 * downstream, and through the gateway that client competed with the gateway for the CPU.
 *
 * Protocol: one JSON request per stdin line, `{id, kind: 'upload' | 'download', url, token, size,
 * caFile}`; one JSON answer per stdout line, `{id, seconds, cpuSeconds}` or `{id, error, code}`.
 * Each (url origin, CA) pair keeps one keep-alive connection, as kubectl would.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { createInterface } from 'node:readline';

interface Transfer {
  id: number;
  kind: 'upload' | 'download';
  url: string;
  token: string;
  size: number;
  caFile: string;
}

const CHUNK = Buffer.alloc(64 * 1024, 'u');
const agents = new Map<string, Agent>();

function agentFor(t: Transfer): Agent {
  const key = `${new URL(t.url).origin} ${t.caFile}`;
  let agent = agents.get(key);
  if (!agent) {
    agent = new Agent({ ca: readFileSync(t.caFile), keepAlive: true, maxSockets: 1 });
    agents.set(key, agent);
  }
  return agent;
}

/** PUTs `size` bytes (Content-Length, 64 KiB writes with back-pressure); the server answers the count it read. */
function upload(t: Transfer): Promise<void> {
  return new Promise((resolve, reject) => {
    const headers = { Authorization: `Bearer ${t.token}`, 'Content-Type': 'application/octet-stream', 'Content-Length': t.size };
    const req = request(t.url, { method: 'PUT', agent: agentFor(t), headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c));
      res.on('end', () => {
        if (res.statusCode !== 200 || JSON.parse(text).bytes !== t.size) return reject(new Error(`upload to ${t.url}: HTTP ${res.statusCode} ${text}`));
        resolve();
      });
    });
    req.on('error', reject);
    let left = t.size;
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, CHUNK.length);
        left -= n;
        if (!req.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

/** GETs `…?bytes=size` and counts what arrives. */
function download(t: Transfer): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(`${t.url}?bytes=${t.size}`, { agent: agentFor(t), headers: { Authorization: `Bearer ${t.token}` } }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => {
        if (res.statusCode !== 200 || bytes !== t.size) return reject(new Error(`download from ${t.url}: HTTP ${res.statusCode}, ${bytes} bytes`));
        resolve();
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const answer = (o: object): void => void process.stdout.write(`${JSON.stringify(o)}\n`);

// One transfer at a time, in the order asked.
let queue = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  const t = JSON.parse(line) as Transfer;
  queue = queue.then(async () => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    try {
      await (t.kind === 'upload' ? upload(t) : download(t));
      const used = process.cpuUsage(cpu);
      answer({ id: t.id, seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6 });
    } catch (err) {
      answer({ id: t.id, error: (err as Error).message, code: (err as NodeJS.ErrnoException).code });
    }
  });
}).on('close', () => {
  for (const a of agents.values()) a.destroy();
});
