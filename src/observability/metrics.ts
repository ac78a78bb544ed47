/**
 * Prometheus metrics (prom-client), one registry per gateway. Labels stay low-cardinality:
 * cluster ids (admin-made), codes and verbs; never user names or paths.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { HotCounter, HotHistogram } from './hot-metrics.js';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class GatewayMetrics {
  readonly registry = new Registry();
  // Per proxied request: the hot-path kind (see hot-metrics.ts).
  private readonly proxyRequests = new HotCounter('kubegate_proxy_requests_total', 'Proxied requests by cluster, code and verb', this.registry);
  readonly proxyOverhead = new HotHistogram('kubegate_proxy_overhead_seconds', 'Gateway time before the upstream request is sent (authentication, authorization, headers)', LATENCY_BUCKETS, this.registry);
  private readonly upstreamLatency = new HotHistogram('kubegate_upstream_response_seconds', 'Time from sending upstream to the upstream response headers', LATENCY_BUCKETS, this.registry, true);
  readonly upstreamErrors = new Counter({ name: 'kubegate_upstream_errors_total', help: 'Upstream connection failures by cluster', labelNames: ['cluster'], registers: [this.registry] });
  readonly credentialRejected = new Counter({ name: 'kubegate_upstream_credential_rejected_total', help: "Requests a cluster refused because of kubegate's own credential (401, or 403 on impersonation), by cluster", labelNames: ['cluster'], registers: [this.registry] });
  readonly activeStreams = new Gauge({ name: 'kubegate_active_streams', help: 'Open long-running requests (watch, log follow) and upgrade tunnels', labelNames: ['type'], registers: [this.registry] });
  readonly apiRequests = new Counter({ name: 'kubegate_api_requests_total', help: 'Management API requests by method and code', labelNames: ['method', 'code'], registers: [this.registry] });
  readonly logins = new Counter({ name: 'kubegate_logins_total', help: 'Login attempts by result', labelNames: ['result'], registers: [this.registry] });
  readonly revocations = new Counter({ name: 'kubegate_revocation_events_total', help: 'Revocation events applied to the verdict cache', labelNames: ['type'], registers: [this.registry] });
  readonly storeLookup = new Histogram({ name: 'kubegate_store_lookup_seconds', help: 'Token verdict lookups in the store (cache misses)', buckets: LATENCY_BUCKETS, registers: [this.registry] });

  /** Counts one proxied request. */
  countProxyRequest(cluster: string, code: number, verb: string): void {
    this.proxyRequests.inc(`${cluster}\0${code}\0${verb}`, () => ({ cluster, code: String(code), verb }));
  }

  /** Records the time to the upstream's response headers for a cluster. */
  observeUpstream(cluster: string, seconds: number): void {
    this.upstreamLatency.observe(seconds, cluster, () => ({ cluster }));
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'kubegate_process_' });
  }

  /** Reports, at scrape time, whether each agent cluster has an agent connected (to any replica). */
  observeAgentClusters(connected: () => Iterable<[clusterId: string, up: boolean]>): void {
    new Gauge({
      name: 'kubegate_cluster_agent_connected',
      help: 'Whether an agent cluster has an agent connected to any replica (1) or not (0)',
      labelNames: ['cluster'],
      registers: [this.registry],
      // With --workers every worker reports it: the gateway's answer is whether any has an agent.
      aggregator: 'max',
      collect() {
        this.reset();
        for (const [cluster, up] of connected()) this.set({ cluster }, up ? 1 : 0);
      },
    });
  }

  /** Reports, at scrape time, each cluster's health: 1 when Active, 0 otherwise (clusters/health.ts). */
  observeClusterHealth(states: () => Iterable<[clusterId: string, state: string]>): void {
    new Gauge({
      name: 'kubegate_cluster_up',
      help: 'Whether a cluster is Active (1: its API server answers and accepts kubegate\'s credential and impersonation) or not (0)',
      labelNames: ['cluster'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [cluster, state] of states()) this.set({ cluster }, state === 'Active' ? 1 : 0);
      },
    });
  }

  /** Reports a verdict cache's counters and size, read at scrape time. */
  observeVerdictCache(cache: { readonly stats: { hits: number; misses: number; evictions: number }; size(): number }): void {
    const reg = this.registry;
    new Gauge({ name: 'kubegate_verdict_cache_size', help: 'Entries in the verdict cache', registers: [reg], collect() { this.set(cache.size()); } });
    new Counter({ name: 'kubegate_verdict_cache_hits_total', help: 'Verdict cache hits', registers: [reg], collect() { this.reset(); this.inc(cache.stats.hits); } });
    new Counter({ name: 'kubegate_verdict_cache_misses_total', help: 'Verdict cache misses', registers: [reg], collect() { this.reset(); this.inc(cache.stats.misses); } });
    new Counter({ name: 'kubegate_verdict_cache_evictions_total', help: 'Verdicts dropped by revocations', registers: [reg], collect() { this.reset(); this.inc(cache.stats.evictions); } });
  }
}
