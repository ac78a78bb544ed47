/** Medians, quantiles and spreads of repeated measurements, and how the report prints numbers. */

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The q-quantile (0..1) of values already sorted ascending (nearest rank). */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function quantile(xs: readonly number[], q: number): number {
  return quantileSorted([...xs].sort((a, b) => a - b), q);
}

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Median with the range of the rounds it came from. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  rounds: number;
}

export function spread(xs: readonly number[]): Spread {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), rounds: xs.length };
}

/** A number with about three significant digits, thousands separated: 12,300 / 1.23 / 0.0123. */
export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return 'n/a';
  const abs = Math.abs(x);
  if (abs >= 1000) return Math.round(x).toLocaleString('en');
  if (abs === 0) return '0';
  const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(abs)));
  return x.toFixed(Math.min(decimals, 4));
}

/** "12,300 (11,900–12,800)": a median and its spread. */
export function fmtSpread(s: Spread, digits = 3): string {
  return s.rounds > 1 ? `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})` : fmt(s.median, digits);
}
