/**
 * Issue 8's benchmark suite: every scenario with its baseline measured in the same run, a table
 * per scenario on stdout, the raw results in bench/results/<time>.json, and — after a full run —
 * docs/BENCHMARKS.md and docs/benchmarks-throughput.svg generated from them.
 *
 *   npm run bench                          # build, then every scenario (about 12 minutes)
 *   npm run bench -- --quick               # a short smoke run (about 3 minutes; docs untouched)
 *   npm run bench -- --only 3              # one scenario (repeatable: --only 1 --only 4)
 *   npm run bench -- --report <results.json>   # only regenerate the docs from a saved run
 *   npm run bench -- --profile             # also write gateway CPU profiles (scenario 1) to bench/results/profiles
 *
 * Needs wrk and nginx (Debian packages; installed with apt-get when missing) and a built dist/.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, killAll } from './suite/processes.js';
import { renderMarkdown, renderSvg } from './suite/report.js';
import type { Scenario, ScenarioResult, SuiteResults } from './suite/results.js';
import { smallGets } from './suite/s1-small-gets.js';
import { coldVerdicts } from './suite/s2-cold-verdicts.js';
import { idleWatches } from './suite/s3-idle-watches.js';
import { largeBodies } from './suite/s4-large-bodies.js';
import { webhookReviews } from './suite/s5-webhook.js';
import { credentialPlugin } from './suite/s6-credential-plugin.js';
import { revocationLatency } from './suite/s7-revocation.js';
import { agentTunnel } from './suite/s8-agent-tunnel.js';
import { h2SmallGets } from './suite/s9-h2-small-gets.js';
import { h2IdleWatches } from './suite/s10-h2-idle-watches.js';
import { workersScaling } from './suite/s11-workers.js';
import { describeMachine, ensureTools, load, REQUIRED_TOOLS } from './suite/tools.js';

const SCENARIOS: Scenario[] = [smallGets, coldVerdicts, idleWatches, largeBodies, webhookReviews, credentialPlugin, revocationLatency, agentTunnel, h2SmallGets, h2IdleWatches, workersScaling];
const RESULTS_DIR = join(ROOT, 'bench/results');
const DOC = join(ROOT, 'docs/BENCHMARKS.md');
const SVG = join(ROOT, 'docs/benchmarks-throughput.svg');
/** Hand-written analysis included in the document as is (profiles, what would close a gap). */
const NOTES = join(ROOT, 'bench/notes.md');

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
    report: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'write-docs': { type: 'boolean' },
  },
});

function writeDocs(results: SuiteResults, resultsFile: string): void {
  writeFileSync(SVG, renderSvg(results));
  const notes = existsSync(NOTES) ? readFileSync(NOTES, 'utf8') : undefined;
  writeFileSync(DOC, renderMarkdown(results, resultsFile.replace(`${ROOT}/`, ''), notes));
  process.stderr.write(`bench: wrote ${DOC.replace(`${ROOT}/`, '')} and ${SVG.replace(`${ROOT}/`, '')}\n`);
}

function printScenario(r: ScenarioResult): void {
  const out: string[] = [`\n## ${r.id}. ${r.title}  (${r.seconds.toFixed(0)} s, load ${r.load.before.join(' ')} → ${r.load.after.join(' ')})`];
  if (r.error) out.push(`  FAILED: ${r.error}`);
  if (r.rows.length) {
    out.push('| figure | baseline | gateway | ratio | target | met? |', '|---|---|---|---|---|---|');
    for (const row of r.rows) out.push(`| ${row.metric} | ${row.baselineLabel} ${row.baseline} | ${row.gateway} | ${row.ratio} | ${row.target} | ${row.met === null ? '—' : row.met ? 'yes' : 'NO'} |`);
  }
  for (const t of r.details) {
    out.push('', t.title, `| ${t.columns.join(' | ')} |`, `|${t.columns.map(() => '---').join('|')}|`, ...t.rows.map((row) => `| ${row.join(' | ')} |`));
  }
  for (const n of r.notes) out.push(`  note: ${n}`);
  process.stdout.write(out.join('\n') + '\n');
}

async function main(): Promise<void> {
  if (values.report) {
    const results = JSON.parse(readFileSync(values.report, 'utf8')) as SuiteResults;
    writeDocs(results, values.report);
    return;
  }
  if (!existsSync(join(ROOT, 'dist/cli/main.js'))) throw new Error('dist/ is missing: run `npm run build` first (`npm run bench` does)');
  ensureTools(REQUIRED_TOOLS);
  const only = (values.only ?? []).map(Number);
  for (const n of only) if (!SCENARIOS.some((s) => s.id === n)) throw new Error(`--only ${n}: scenarios are 1–${SCENARIOS.length}`);
  const selected = only.length ? SCENARIOS.filter((s) => only.includes(s.id)) : SCENARIOS;
  mkdirSync(RESULTS_DIR, { recursive: true });
  const profileDir = values.profile ? join(RESULTS_DIR, 'profiles') : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });

  const results: SuiteResults = {
    startedAt: new Date().toISOString(),
    finishedAt: '',
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    quick: Boolean(values.quick),
    machine: describeMachine(),
    scenarios: [],
  };
  const file = join(RESULTS_DIR, `${results.startedAt.replace(/[:.]/g, '-')}${values.quick ? '-quick' : ''}.json`);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(`bench: ${selected.length} scenario(s)${values.quick ? ', quick' : ''}; machine ${results.machine.cpus} × ${results.machine.cpuModel}, load ${load().join(' ')}`);

  for (const scenario of selected) {
    log(`bench: scenario ${scenario.id}: ${scenario.title}`);
    const before = load();
    const started = performance.now();
    let result: ScenarioResult;
    try {
      const r = await scenario.run({ quick: Boolean(values.quick), log, profileDir });
      result = { id: scenario.id, title: scenario.title, ...r, load: { before, after: load() }, seconds: (performance.now() - started) / 1000 };
    } catch (err) {
      log(`bench: scenario ${scenario.id} failed: ${(err as Error).stack ?? err}`);
      result = { id: scenario.id, title: scenario.title, method: [], rows: [], details: [], notes: [], data: {}, error: String((err as Error).message ?? err), load: { before, after: load() }, seconds: (performance.now() - started) / 1000 };
    }
    results.scenarios.push(result);
    printScenario(result);
    results.finishedAt = new Date().toISOString();
    writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  }
  log(`bench: results in ${file.replace(`${ROOT}/`, '')}`);
  const full = !values.quick && only.length === 0;
  if (values['write-docs'] ?? full) writeDocs(results, file);
  else log('bench: docs/BENCHMARKS.md left as is (written after a full run, or with --write-docs)');
  if (results.scenarios.some((s) => s.error)) process.exitCode = 1;
}

main()
  .catch((err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    killAll();
    // Embedded PostgreSQL and agents may hold handles; everything is stopped by now.
    process.exit();
  });
