/**
 * Counters and histograms for the proxy's hot path, registered in a prom-client registry.
 *
 * prom-client validates and hashes the label set on every `inc()` and `observe()`, even through a
 * cached child: several objects and a string key per call, on every proxied request. These keep
 * one plain record per label set, looked up by a key the caller already has, and turn into
 * prom-client's exposition values only when /metrics is scraped. Same names, types and output.
 */
import type { Registry } from 'prom-client';

type Labels = Record<string, string>;

interface MetricValue {
  labels: Labels;
  value: number;
  metricName?: string;
}

/** The shape prom-client's `Registry` reads from a metric at scrape time. */
abstract class HotMetric {
  abstract readonly type: 'counter' | 'histogram';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  protected abstract values(): MetricValue[];

  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.values() };
  }

  abstract reset(): void;
}

/** A counter with labels, one series per caller-chosen key. */
export class HotCounter extends HotMetric {
  readonly type = 'counter';
  private readonly series = new Map<string, { labels: Labels; value: number }>();

  /** Adds one to the series `key` (the labels are only read the first time a key is seen). */
  inc(key: string, labels: () => Labels): void {
    const s = this.series.get(key);
    if (s) s.value++;
    else this.series.set(key, { labels: labels(), value: 1 });
  }

  protected values(): MetricValue[] {
    return [...this.series.values()].map((s) => ({ labels: s.labels, value: s.value }));
  }

  reset(): void {
    this.series.clear();
  }
}

interface Buckets {
  labels: Labels;
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  counts: Float64Array;
  sum: number;
  count: number;
}

/** A histogram with fixed buckets, optionally labelled. */
export class HotHistogram extends HotMetric {
  readonly type = 'histogram';
  private readonly series = new Map<string, Buckets>();

  constructor(
    name: string,
    help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
    private readonly labelled = false,
  ) {
    super(name, help, registry);
    this.reset();
  }

  /** Records `value` in the series `key` (leave both out for an unlabelled histogram). */
  observe(value: number, key = '', labels: () => Labels = () => ({})): void {
    let s = this.series.get(key);
    if (!s) {
      s = this.newSeries(labels());
      this.series.set(key, s);
    }
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  protected values(): MetricValue[] {
    const out: MetricValue[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += s.counts[i]!;
        const le = i < this.bounds.length ? String(this.bounds[i]) : '+Inf';
        out.push({ labels: { le, ...s.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      out.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      out.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return out;
  }

  /** Like prom-client, an unlabelled histogram shows its (empty) buckets before any observation. */
  reset(): void {
    this.series.clear();
    if (!this.labelled) this.series.set('', this.newSeries({}));
  }

  private newSeries(labels: Labels): Buckets {
    return { labels, counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
  }
}
