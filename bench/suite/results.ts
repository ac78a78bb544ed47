/** The shape of a suite run, as written to bench/results/*.json and rendered into docs/BENCHMARKS.md. */
import type { Machine } from './tools.js';

/** One line of a scenario's summary table: a figure against its baseline and its target. */
export interface TargetRow {
  metric: string;
  baselineLabel: string;
  baseline: string;
  gateway: string;
  /** `0.83×`, `+0.4 ms`, or `—`. */
  ratio: string;
  target: string;
  /** null: reported without a target. */
  met: boolean | null;
}

export interface DetailTable {
  title: string;
  columns: string[];
  rows: string[][];
}

export interface ScenarioResult {
  id: number;
  title: string;
  /** How it was measured, one paragraph per entry (Markdown). */
  method: string[];
  load: { before: [number, number, number]; after: [number, number, number] };
  seconds: number;
  rows: TargetRow[];
  details: DetailTable[];
  notes: string[];
  /** Raw figures (medians, spreads, per-round values) for later analysis and the plot. */
  data: Record<string, unknown>;
  error?: string;
}

export interface SuiteResults {
  startedAt: string;
  finishedAt: string;
  command: string;
  quick: boolean;
  machine: Machine;
  scenarios: ScenarioResult[];
}

export interface ScenarioContext {
  quick: boolean;
  /** Progress lines on stderr. */
  log(line: string): void;
  /** Start the gateway under `node --cpu-prof`, profiles in this directory. */
  profileDir: string | undefined;
}

export interface Scenario {
  id: number;
  title: string;
  run(ctx: ScenarioContext): Promise<Omit<ScenarioResult, 'id' | 'title' | 'load' | 'seconds'>>;
}

/** `0.83×` */
export const times = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}×` : 'n/a');
