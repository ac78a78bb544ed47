/**
 * Scenario 6: `kubegate token` with a cached token — what kubectl waits for before every command.
 * The cache is filled by a real login at a gateway, the gateway is then stopped (a cached run must
 * not need it), and the wall time is measured with hyperfine (or a loop of runs without it)
 * against `node -e 0`, the floor of starting Node at all.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALICE_PASSWORD, CLUSTER, makeWorkdir, setUpCluster, startDownstream, startGateway } from './fixture.js';
import { ROOT, stop } from './processes.js';
import { times, type Scenario } from './results.js';
import { hasHyperfine } from './tools.js';
import { fmt, median, quantile } from './stats.js';

interface Timing {
  median: number;
  mean: number;
  min: number;
  max: number;
  p90: number;
  runs: number;
}

function summarize(seconds: number[]): Timing {
  const ms = seconds.map((s) => s * 1000);
  return { median: median(ms), mean: ms.reduce((a, b) => a + b, 0) / ms.length, min: Math.min(...ms), max: Math.max(...ms), p90: quantile(ms, 0.9), runs: ms.length };
}

/** Times each command `runs` times (after 3 warm-ups): hyperfine when installed, else a loop. */
function timeCommands(commands: string[][], runs: number, env: NodeJS.ProcessEnv, dir: string): { tool: string; timings: Timing[] } {
  if (hasHyperfine()) {
    const out = join(dir, 'hyperfine.json');
    const r = spawnSync('hyperfine', ['-N', '--warmup', '3', '--runs', String(runs), '--export-json', out, ...commands.map((c) => c.join(' '))], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`hyperfine failed: ${r.stderr}`);
    const json = JSON.parse(readFileSync(out, 'utf8')) as { results: Array<{ times: number[] }> };
    return { tool: `hyperfine -N --warmup 3 --runs ${runs}`, timings: json.results.map((x) => summarize(x.times)) };
  }
  const timings = commands.map((c) => {
    const times: number[] = [];
    for (let i = 0; i < runs + 3; i++) {
      const started = performance.now();
      const r = spawnSync(c[0]!, c.slice(1), { env, stdio: 'ignore' });
      if (r.status !== 0) throw new Error(`${c.join(' ')} exited ${r.status}`);
      if (i >= 3) times.push((performance.now() - started) / 1000);
    }
    return summarize(times);
  });
  return { tool: `a loop of ${runs} runs (after 3 warm-ups; hyperfine not installed)`, timings };
}

export const credentialPlugin: Scenario = {
  id: 6,
  title: 'Credential plugin with a cached token',
  async run(ctx) {
    const runs = ctx.quick ? 10 : 30;
    const work = await makeWorkdir();
    const downstream = await startDownstream(work);
    const gw = await startGateway(work);
    try {
      await setUpCluster(gw, downstream, work);
      const configDir = join(work.dir, 'kubegate-config');
      mkdirSync(configDir, { recursive: true, mode: 0o700 });
      const server = `https://localhost:${gw.port}`;
      const plugin = [process.execPath, join(ROOT, 'bin/kubegate'), 'token', `--server=${server}`, `--cluster=${CLUSTER}`];
      const env = {
        PATH: process.env.PATH,
        HOME: work.dir,
        KUBEGATE_CONFIG_DIR: configDir,
        KUBEGATE_GATEWAY_CA_DATA: Buffer.from(gw.caPem).toString('base64'),
        KUBERNETES_EXEC_INFO: JSON.stringify({ kind: 'ExecCredential', apiVersion: 'client.authentication.k8s.io/v1', spec: { interactive: false } }),
      };
      // First run: logs in and fills the cache.
      const first = spawnSync(plugin[0]!, plugin.slice(1), { env: { ...env, KUBEGATE_USERNAME: 'alice', KUBEGATE_PASSWORD: ALICE_PASSWORD }, encoding: 'utf8' });
      if (first.status !== 0 || !first.stdout.includes('"ExecCredential"')) throw new Error(`kubegate token login failed (${first.status}): ${first.stderr}`);
      // From here the gateway is gone and no password is given: only the cache can answer.
      await gw.stop();
      const check = spawnSync(plugin[0]!, plugin.slice(1), { env, encoding: 'utf8' });
      if (check.status !== 0 || !check.stdout.includes('"token"')) throw new Error(`cached kubegate token failed (${check.status}): ${check.stderr}`);
      const { tool, timings } = timeCommands([plugin, [process.execPath, '-e', '0']], runs, env, work.dir);
      const [p, node] = timings as [Timing, Timing];
      ctx.log(`  s6 kubegate token (cached): median ${p.median.toFixed(1)} ms; node -e 0: ${node.median.toFixed(1)} ms`);
      return {
        method: [
          `A real login fills the cache (\`kubegate token --server … --cluster ${CLUSTER}\` with KUBEGATE_USERNAME/PASSWORD, KUBEGATE_CONFIG_DIR in a temp dir); then the gateway is stopped and the credentials removed from the environment, so every timed run is served from the cache alone. Timed with ${tool}; baseline \`node -e 0\` (starting Node at all), in the same invocation.`,
        ],
        rows: [
          { metric: '`kubegate token`, cached token: median wall time', baselineLabel: '`node -e 0`', baseline: `${fmt(node.median)} ms`, gateway: `${fmt(p.median)} ms`, ratio: times(p.median / node.median), target: '≤ 100 ms', met: p.median <= 100 },
        ],
        details: [
          {
            title: `wall time, ms (${tool})`,
            columns: ['command', 'median', 'mean', 'min', 'p90', 'max'],
            rows: [
              ['kubegate token (cached)', fmt(p.median), fmt(p.mean), fmt(p.min), fmt(p.p90), fmt(p.max)],
              ['node -e 0', fmt(node.median), fmt(node.mean), fmt(node.min), fmt(node.p90), fmt(node.max)],
            ],
          },
        ],
        notes: [],
        data: { tool, plugin: p, node },
      };
    } finally {
      await gw.stop();
      await stop(downstream.process);
      work.remove();
    }
  },
};
