/**
 * Before/after for a hot-path change: small GETs through this checkout's gateway and another
 * checkout's (e.g. the commit before the change, built), both in front of the same downstream,
 * in interleaved rounds so both see the same machine. Prints median req/s and CPU per request.
 *
 *   git worktree add /tmp/before <commit> && (cd /tmp/before && npm ci && npm run build)
 *   npm run build && node --import tsx bench/ab.ts --against /tmp/before [--rounds 6] [--seconds 4]
 */
import { parseArgs } from 'node:util';
import { GATEWAY_LIST_PATH, makeWorkdir, setUpCluster, startDownstream, startGateway } from './suite/fixture.js';
import { killAll } from './suite/processes.js';
import { median } from './suite/stats.js';
import { runWrk } from './suite/wrk.js';

const { values } = parseArgs({ options: { against: { type: 'string' }, rounds: { type: 'string', default: '6' }, seconds: { type: 'string', default: '4' }, connections: { type: 'string', default: '16,64' } } });
if (!values.against) throw new Error('--against DIR: a built checkout to compare with');
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);

try {
  const work = await makeWorkdir();
  // Downstream on core 1, gateways on core 0, wrk on core 1: as scenario 1 pins them.
  const downstream = await startDownstream(work, { core: 1 });
  const sides = [
    { label: 'before', gw: await startGateway(work, { name: 'before', checkout: values.against, core: 0 }) },
    { label: 'after', gw: await startGateway(work, { name: 'after', core: 0 }) },
  ];
  const tokens = new Map<string, string>();
  for (const s of sides) tokens.set(s.label, (await setUpCluster(s.gw, downstream, work)).alice);
  for (const c of values.connections!.split(',').map(Number)) {
    const rps = new Map<string, number[]>(sides.map((s) => [s.label, []]));
    const cpu = new Map<string, number[]>(sides.map((s) => [s.label, []]));
    for (const s of sides) runWrk({ url: s.gw.url + GATEWAY_LIST_PATH, token: tokens.get(s.label)!, connections: c, seconds: 3, core: 1 }); // warm-up (JIT, connections)
    for (let r = 0; r < rounds; r++) {
      // Alternate which side goes first, so a drift in the machine hits both alike.
      for (const s of r % 2 ? [...sides].reverse() : sides) {
        const res = runWrk({ url: s.gw.url + GATEWAY_LIST_PATH, token: tokens.get(s.label)!, connections: c, seconds, measurePid: s.gw.process.pid, core: 1 });
        rps.get(s.label)!.push(res.rps);
        cpu.get(s.label)!.push(res.cpuUsPerReq!);
      }
    }
    const line = sides.map((s) => `${s.label} ${Math.round(median(rps.get(s.label)!))} req/s ${median(cpu.get(s.label)!).toFixed(1)} µs/req`).join(' | ');
    const ratio = median(rps.get('after')!) / median(rps.get('before')!);
    process.stdout.write(`c=${c}: ${line} | after/before ${ratio.toFixed(3)}\n`);
  }
} finally {
  killAll();
}
