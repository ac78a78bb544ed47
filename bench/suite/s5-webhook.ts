/**
 * Scenario 5: TokenReviews per second and p99 of the built `kubegate webhook` on one core —
 * bench/webhook.ts run with `--pin` (webhook on core 0, wrk on core 1), whose bare `node:http`
 * server answering a constant is the baseline.
 */
import { startTs } from './processes.js';
import { times, type Scenario } from './results.js';
import { fmt, fmtSpread, spread } from './stats.js';

interface Line {
  rps: number;
  p50: number;
  p99: number;
  /** The server's CPU per review, µs: steadier than rps on a shared host. */
  cpuUs: number;
}

const LINE = /([\d.]+) reviews\/s, p50 ([\d.]+) ms, p99 ([\d.]+) ms, cpu ([\d.]+) µs\/review/;

function parse(text: string): Line {
  const m = LINE.exec(text);
  if (!m) throw new Error(`unexpected bench/webhook.ts output: ${text}`);
  return { rps: Number(m[1]), p50: Number(m[2]), p99: Number(m[3]), cpuUs: Number(m[4]) };
}

export const webhookReviews: Scenario = {
  id: 5,
  title: 'Webhook: TokenReviews on one core',
  async run(ctx) {
    const args = ['--pin', '--connections', '4', '--duration', ctx.quick ? '1' : '5', '--rounds', ctx.quick ? '1' : '3', '--tokens', ctx.quick ? '2000' : '10000'];
    const child = startTs('bench/webhook.ts', args);
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c;
      ctx.log(`  s5 ${String(c).trimEnd()}`);
    });
    child.stderr!.on('data', (c: Buffer) => (err += c));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    if (code !== 0) throw new Error(`bench/webhook.ts exited ${code}: ${err}`);
    const rounds = out.split('\n').filter((l) => /^\s+round \d+:/.test(l)).map((l) => {
      const [webhook, bare] = l.split('|');
      return { webhook: parse(webhook!), bare: parse(bare!) };
    });
    const webhook = parse(out.split('\n').find((l) => l.includes('median webhook:'))!);
    const bare = parse(out.split('\n').find((l) => l.includes('median bare node:http:'))!);
    const inProcess = /in-process: ([\d.]+) µs/.exec(out)?.[1];
    const pinned = out.includes(', pinned');
    return {
      method: [
        `\`node --import tsx bench/webhook.ts ${args.join(' ')}\`: the built \`kubegate webhook\` serving a state file of ${ctx.quick ? '2,000' : '10,000'} tokens with the gateway unreachable, ${pinned ? 'pinned to core 0 with wrk on core 1' : 'unpinned (taskset unavailable)'}; wrk -t1 -c4 posts real TokenReviews (v1 and v1beta1 alternating) of 1,000 different tokens. Baseline: a bare \`node:http\` server that reads the body and answers a constant, same core, same load, rounds interleaved.`,
      ],
      rows: [
        { metric: 'TokenReviews/s, one core', baselineLabel: 'bare node:http', baseline: `${fmt(bare.rps)}/s`, gateway: `${fmt(webhook.rps)}/s`, ratio: times(webhook.rps / bare.rps), target: '≥ 20,000/s', met: webhook.rps >= 20_000 },
        { metric: 'p99 latency, 4 conn.', baselineLabel: 'bare node:http', baseline: `${fmt(bare.p99)} ms`, gateway: `${fmt(webhook.p99)} ms`, ratio: times(webhook.p99 / bare.p99), target: '< 1 ms', met: webhook.p99 < 1 },
      ],
      details: [
        {
          title: 'per round (reviews/s, p50, p99, server CPU per review)',
          columns: ['', 'reviews/s median (min–max)', 'p50 ms', 'p99 ms', 'CPU µs/review'],
          rows: [
            ['webhook', fmtSpread(spread(rounds.map((r) => r.webhook.rps))), fmt(webhook.p50), fmtSpread(spread(rounds.map((r) => r.webhook.p99))), fmt(webhook.cpuUs)],
            ['bare node:http', fmtSpread(spread(rounds.map((r) => r.bare.rps))), fmt(bare.p50), fmtSpread(spread(rounds.map((r) => r.bare.p99))), fmt(bare.cpuUs)],
          ],
        },
      ],
      notes: inProcess ? [`In-process, one review (parse + lookup + SHA-256 + answer) costs ${inProcess} µs.`] : [],
      data: { webhook, bare, rounds, inProcessUs: inProcess ? Number(inProcess) : null, output: out },
    };
  },
};
