/**
 * Scenario 4: a 100 MiB upload (PUT) and download (GET) through the gateway vs straight to the
 * downstream: throughput, and how far the gateway's RSS rises while the bytes stream through.
 */
import { Agent, request } from 'node:https';
import { CLUSTER, DOWNSTREAM_TOKEN, makeWorkdir, setUpCluster, startDownstream, startGateway, type GatewayProcess } from './fixture.js';
import { rssKb, sampleRss, sleep, stop } from './processes.js';
import { times, type Scenario, type TargetRow } from './results.js';
import { fmt, fmtSpread, spread } from './stats.js';

const MiB = 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 'u');
const KUBE_PATH = '/api/v1/namespaces/default/configmaps/big';

/** PUTs `size` bytes (Content-Length, written with back-pressure); resolves with seconds taken. */
function upload(url: string, token: string, size: number, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(url, { method: 'PUT', agent, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/octet-stream', 'Content-Length': size } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c));
      res.on('end', () => {
        if (res.statusCode !== 200 || JSON.parse(text).bytes !== size) return reject(new Error(`upload to ${url}: HTTP ${res.statusCode} ${text}`));
        resolve((performance.now() - started) / 1000);
      });
    });
    req.on('error', reject);
    let left = size;
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

/** GETs `size` bytes and counts them; resolves with seconds taken. */
function download(url: string, token: string, size: number, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(`${url}?bytes=${size}`, { agent, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => {
        if (res.statusCode !== 200 || bytes !== size) return reject(new Error(`download from ${url}: HTTP ${res.statusCode}, ${bytes} bytes`));
        resolve((performance.now() - started) / 1000);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

export const largeBodies: Scenario = {
  id: 4,
  title: 'Large bodies: 100 MiB upload and download',
  async run(ctx) {
    const size = (ctx.quick ? 20 : 100) * MiB;
    const rounds = ctx.quick ? 1 : 5;
    const work = await makeWorkdir();
    const downstream = await startDownstream(work, { core: 0 });
    let gw: GatewayProcess | undefined;
    try {
      gw = await startGateway(work, { core: 1 });
      const { alice } = await setUpCluster(gw, downstream, work);
      const paths = {
        direct: { name: 'direct', url: `${downstream.url}${KUBE_PATH}`, token: DOWNSTREAM_TOKEN, agent: new Agent({ ca: work.caPem, keepAlive: true, maxSockets: 1 }) },
        gateway: { name: 'gateway', url: `${gw.url}/k8s/clusters/${CLUSTER}${KUBE_PATH}`, token: alice, agent: new Agent({ ca: gw.caPem, keepAlive: true, maxSockets: 1 }) },
      };
      // A connection reset is retried once on a new connection and reported, rather than ending the scenario.
      const retries: string[] = [];
      const retried = async (what: string, transfer: () => Promise<number>): Promise<number> => {
        try {
          return await transfer();
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ECONNRESET' && code !== 'EPIPE') throw err;
          retries.push(`${what}: ${code}`);
          ctx.log(`  s4 ${what}: ${code}, retrying once`);
          return transfer();
        }
      };
      // Warm-up: JIT and connections, with small bodies.
      for (const p of Object.values(paths)) {
        for (let i = 0; i < 5; i++) {
          await retried(`warm-up upload via ${p.name}`, () => upload(p.url, p.token, MiB, p.agent));
          await retried(`warm-up download via ${p.name}`, () => download(p.url, p.token, MiB, p.agent));
        }
      }
      await sleep(1_000);
      const rss0 = rssKb(gw.process.pid);
      const seconds = { direct: { upload: [] as number[], download: [] as number[] }, gateway: { upload: [] as number[], download: [] as number[] } };
      const peakKb = { upload: [] as number[], download: [] as number[] };
      for (let r = 0; r < rounds; r++) {
        for (const kind of ['upload', 'download'] as const) {
          const move = kind === 'upload' ? upload : download;
          for (const p of ['direct', 'gateway'] as const) {
            const sampler = p === 'gateway' ? sampleRss(gw.process.pid) : undefined;
            const s = await retried(`${kind} via ${p}, round ${r + 1}`, () => move(paths[p].url, paths[p].token, size, paths[p].agent));
            seconds[p][kind].push(s);
            if (sampler) peakKb[kind].push(sampler.stop().maxKb);
            ctx.log(`  s4 round ${r + 1}/${rounds} ${kind} ${p}: ${(size / MiB / s).toFixed(0)} MiB/s${sampler ? `, gateway RSS peak ${(peakKb[kind].at(-1)! / 1024).toFixed(1)} MiB` : ''}`);
          }
        }
      }
      for (const p of Object.values(paths)) p.agent.destroy();
      const mibps = (xs: number[]) => spread(xs.map((s) => size / MiB / s));
      const rows: TargetRow[] = [];
      const growth = { upload: (Math.max(...peakKb.upload) - rss0) / 1024, download: (Math.max(...peakKb.download) - rss0) / 1024 };
      for (const kind of ['upload', 'download'] as const) {
        const d = mibps(seconds.direct[kind]).median;
        const g = mibps(seconds.gateway[kind]).median;
        rows.push({ metric: `${kind} ${size / MiB} MiB throughput`, baselineLabel: 'direct', baseline: `${fmt(d)} MiB/s`, gateway: `${fmt(g)} MiB/s`, ratio: times(g / d), target: '≥ 0.8× direct', met: g / d >= 0.8 });
        rows.push({
          metric: `gateway RSS growth during ${kind}s (worst of ${rounds})`,
          baselineLabel: 'RSS before',
          baseline: `${fmt(rss0 / 1024)} MiB`,
          gateway: `+${fmt(growth[kind])} MiB`,
          ratio: '—',
          target: '≤ 20 MB',
          met: (growth[kind] * MiB) / 1e6 <= 20,
        });
      }
      return {
        method: [
          `Downstream on core 0, gateway on core 1 (SQLite), the client in the suite's own process. Upload: \`PUT\` with \`Content-Length\`, written in 64 KiB chunks with back-pressure; the downstream reads and counts every byte and answers the count. Download: \`GET …?bytes=N\`, streamed by the downstream with back-pressure and counted by the client. Each transfer on its own keep-alive connection, TLS on both hops; ${rounds} round(s), direct and gateway alternated.`,
          `RSS growth: the gateway's VmRSS sampled every 20 ms during each transfer; growth = the highest sample over all rounds minus the RSS before the first one (after a warm-up with 1 MiB bodies).`,
        ],
        rows,
        details: [
          {
            title: `${size / MiB} MiB transfers, MiB/s median (min–max) of ${rounds} round(s)`,
            columns: ['direction', 'direct', 'gateway', 'ratio', 'gateway RSS peak MiB (before: ' + fmt(rss0 / 1024) + ')'],
            rows: (['upload', 'download'] as const).map((k) => [
              k,
              fmtSpread(mibps(seconds.direct[k])),
              fmtSpread(mibps(seconds.gateway[k])),
              times(mibps(seconds.gateway[k]).median / mibps(seconds.direct[k]).median),
              fmt(Math.max(...peakKb[k]) / 1024),
            ]),
          },
        ],
        notes: retries.length ? [`Retried once after a connection reset (a new connection each time): ${retries.join('; ')}.`] : [],
        data: { retries, sizeBytes: size, rounds, seconds, rss0Kb: rss0, peakKb, growthMiB: growth },
      };
    } finally {
      await gw?.stop();
      await stop(downstream.process);
      work.remove();
    }
  },
};
