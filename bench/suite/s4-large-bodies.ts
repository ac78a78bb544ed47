/**
 * Scenario 4: a 100 MiB upload (PUT) and download (GET) through the gateway vs straight to the
 * downstream: throughput, and how far the gateway's RSS rises while the bytes stream through.
 */
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CLUSTER, DOWNSTREAM_TOKEN, makeWorkdir, setUpCluster, startDownstream, startGateway, type GatewayProcess } from './fixture.js';
import { cpuTicks, rssKb, sampleRss, sleep, startTs, stop } from './processes.js';
import { times, type Scenario, type TargetRow } from './results.js';
import { fmt, fmtSpread, spread } from './stats.js';

const MiB = 1024 * 1024;
const KUBE_PATH = '/api/v1/namespaces/default/configmaps/big';

type Kind = 'upload' | 'download';
interface Path {
  name: string;
  url: string;
  token: string;
  caFile: string;
}
/** What one transfer took: wall time, and CPU of the client, the gateway and the downstream. */
interface Taken {
  seconds: number;
  client: number;
  gateway: number;
  downstream: number;
}

/**
 * Starts bench/suite/transfer-client.ts (a process of its own, see there why) and returns a
 * function that runs one transfer through it; a failed transfer rejects with the client's error code.
 */
function startTransferClient(): { transfer(kind: Kind, path: Path, size: number): Promise<{ seconds: number; cpuSeconds: number }>; close(): Promise<void> } {
  const child = startTs('bench/suite/transfer-client.ts', [], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stderr!.resume();
  interface Answer {
    id: number;
    seconds?: number;
    cpuSeconds?: number;
    error?: string;
    code?: string;
  }
  const waiting = new Map<number, (a: Answer) => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const a = JSON.parse(line) as Answer;
    waiting.get(a.id)?.(a);
    waiting.delete(a.id);
  });
  // A client that dies fails what it was doing rather than leaving the scenario waiting.
  child.once('exit', (code) => {
    for (const settle of waiting.values()) settle({ id: 0, error: `the transfer client exited (${code})`, code: 'CLIENT_EXIT' });
    waiting.clear();
  });
  let next = 0;
  return {
    transfer(kind, path, size) {
      const id = ++next;
      return new Promise((resolve, reject) => {
        waiting.set(id, (a) => {
          if (a.error === undefined) return resolve({ seconds: a.seconds!, cpuSeconds: a.cpuSeconds! });
          reject(Object.assign(new Error(a.error), { code: a.code }));
        });
        child.stdin!.write(`${JSON.stringify({ id, kind, url: path.url, token: path.token, size, caFile: path.caFile })}\n`);
      });
    },
    close: async () => {
      child.stdin!.end();
      await stop(child);
    },
  };
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
    let client: ReturnType<typeof startTransferClient> | undefined;
    try {
      gw = await startGateway(work, { core: 1, nodeArgs: ctx.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${ctx.profileDir}`] : [] });
      const { alice } = await setUpCluster(gw, downstream, work);
      const paths: Record<'direct' | 'gateway', Path> = {
        direct: { name: 'direct', url: `${downstream.url}${KUBE_PATH}`, token: DOWNSTREAM_TOKEN, caFile: join(work.dir, 'ca.crt') },
        gateway: { name: 'gateway', url: `${gw.url}/k8s/clusters/${CLUSTER}${KUBE_PATH}`, token: alice, caFile: join(gw.certsDir, 'ca.crt') },
      };
      client = startTransferClient();
      const pids = { gateway: gw.process.pid, downstream: downstream.process.pid };
      const move = async (kind: Kind, path: Path, bytes: number): Promise<Taken> => {
        const before = { gateway: cpuTicks(pids.gateway), downstream: cpuTicks(pids.downstream) };
        const t = await client!.transfer(kind, path, bytes);
        const ticks = (which: 'gateway' | 'downstream'): number => (cpuTicks(pids[which]) - before[which]) / 100;
        return { seconds: t.seconds, client: t.cpuSeconds, gateway: ticks('gateway'), downstream: ticks('downstream') };
      };
      // A connection reset is retried once on a new connection and reported, rather than ending the scenario.
      const retries: string[] = [];
      const retried = async (what: string, transfer: () => Promise<Taken>): Promise<Taken> => {
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
          await retried(`warm-up upload via ${p.name}`, () => move('upload', p, MiB));
          await retried(`warm-up download via ${p.name}`, () => move('download', p, MiB));
        }
      }
      await sleep(1_000);
      const rss0 = rssKb(gw.process.pid);
      const taken = { direct: { upload: [] as Taken[], download: [] as Taken[] }, gateway: { upload: [] as Taken[], download: [] as Taken[] } };
      const seconds = { direct: { upload: [] as number[], download: [] as number[] }, gateway: { upload: [] as number[], download: [] as number[] } };
      const peakKb = { upload: [] as number[], download: [] as number[] };
      for (let r = 0; r < rounds; r++) {
        for (const kind of ['upload', 'download'] as const) {
          for (const p of ['direct', 'gateway'] as const) {
            const sampler = p === 'gateway' ? sampleRss(gw.process.pid) : undefined;
            const t = await retried(`${kind} via ${p}, round ${r + 1}`, () => move(kind, paths[p], size));
            taken[p][kind].push(t);
            seconds[p][kind].push(t.seconds);
            if (sampler) peakKb[kind].push(sampler.stop().maxKb);
            const cpu = `CPU s: client ${t.client.toFixed(2)}, downstream ${t.downstream.toFixed(2)}${p === 'gateway' ? `, gateway ${t.gateway.toFixed(2)}` : ''}`;
            ctx.log(`  s4 round ${r + 1}/${rounds} ${kind} ${p}: ${(size / MiB / t.seconds).toFixed(0)} MiB/s (${cpu})${sampler ? `, gateway RSS peak ${(peakKb[kind].at(-1)! / 1024).toFixed(1)} MiB` : ''}`);
          }
        }
      }
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
          `Downstream on core 0, gateway on core 1 (SQLite), the client in a small process of its own, unpinned (bench/suite/transfer-client.ts). Upload: \`PUT\` with \`Content-Length\`, written in 64 KiB chunks with back-pressure; the downstream reads and counts every byte and answers the count. Download: \`GET …?bytes=N\`, streamed by the downstream with back-pressure and counted by the client. Each transfer on its own keep-alive connection, TLS on both hops; ${rounds} round(s), direct and gateway alternated.`,
          `RSS growth: the gateway's VmRSS sampled every 20 ms during each transfer; growth = the highest sample over all rounds minus the RSS before the first one (after a warm-up with 1 MiB bodies).`,
          `CPU: user + system seconds each process used during each transfer (the client from \`process.cpuUsage\`, the others from /proc), median of the rounds. On two cores the gateway path runs three processes where the direct one runs two, so the CPU the gateway needs per byte bounds the ratio.`,
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
          {
            title: `CPU seconds per ${size / MiB} MiB transfer, median of ${rounds} round(s)`,
            columns: ['transfer', 'client', 'downstream', 'gateway', 'wall'],
            rows: (['upload', 'download'] as const).flatMap((k) =>
              (['direct', 'gateway'] as const).map((p) => {
                const median = (f: (t: Taken) => number): string => fmt(spread(taken[p][k].map(f)).median, 2);
                return [`${k} ${p}`, median((t) => t.client), median((t) => t.downstream), p === 'gateway' ? median((t) => t.gateway) : '—', median((t) => t.seconds)];
              }),
            ),
          },
        ],
        notes: retries.length ? [`Retried once after a connection reset (a new connection each time): ${retries.join('; ')}.`] : [],
        data: { retries, sizeBytes: size, rounds, seconds, taken, rss0Kb: rss0, peakKb, growthMiB: growth },
      };
    } finally {
      await client?.close();
      await gw?.stop();
      await stop(downstream.process);
      work.remove();
    }
  },
};
