/**
 * Each cluster's health as the gateway last saw it (docs/reference/api.md, "Cluster health"): from
 * a periodic probe (`probe.ts`: `/version` and one impersonated `SelfSubjectReview`) and from the
 * outcome of real traffic through the proxy. In memory, per replica; `Unknown` until first seen.
 *
 * The interface other parts use:
 * - `status(id)`: the `{state, message, checkedAt, version}` block of API answers;
 * - `record(id, outcome)`: what a probe or a proxied request found;
 * - `check(id)`: probe now (registration answers with it);
 * - `start()` / `close()`: the periodic probe of every cluster.
 */
import type { Logger } from 'pino';

export type ClusterState = 'Active' | 'Unavailable' | 'CredentialRejected' | 'Unknown';

/** The `status` block of a cluster in API answers. */
export interface ClusterStatus {
  state: ClusterState;
  message: string;
  /** When the state was last confirmed (ISO), null before the first probe or request. */
  checkedAt: string | null;
  /** The API server's `gitVersion` from the last successful probe. */
  version: string | null;
}

/** What one probe or one proxied request found. */
export type HealthOutcome =
  | { state: 'Active'; version?: string | undefined; message?: string }
  | { state: 'Unavailable' | 'CredentialRejected'; message: string };

/** Probes one cluster; never throws (a failure is an outcome). */
export type ClusterProbe = (clusterId: string) => Promise<HealthOutcome>;

export interface ClusterHealthOptions {
  probe: ClusterProbe;
  /** The clusters to probe each round. */
  clusterIds: () => Iterable<string>;
  log: Logger;
  /** Between rounds of the periodic probe. */
  intervalMs?: number;
  clock?: () => number;
}

/** Between two rounds of probes. */
export const PROBE_INTERVAL_MS = 30_000;
/** A rejected credential is logged at WARN at most this often per cluster. */
const WARN_EVERY_MS = 60_000;
/** Traffic confirming the state it already has refreshes `checkedAt` at most this often. */
const TRAFFIC_REFRESH_MS = 1_000;

const UNKNOWN: ClusterStatus = { state: 'Unknown', message: 'not checked yet', checkedAt: null, version: null };

interface Entry {
  status: ClusterStatus;
  at: number;
}

export class ClusterHealth {
  private readonly entries = new Map<string, Entry>();
  private readonly warnedAt = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<ClusterStatus>>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly o: ClusterHealthOptions) {
    this.now = o.clock ?? Date.now;
  }

  /** The cluster's status block (`Unknown` before anything was seen). */
  status(clusterId: string): ClusterStatus {
    return this.entries.get(clusterId)?.status ?? UNKNOWN;
  }

  /** Every cluster seen so far, for the `kubegate_cluster_up` gauge. */
  *states(): Iterable<[clusterId: string, state: ClusterState]> {
    for (const [id, e] of this.entries) yield [id, e.status.state];
  }

  /**
   * Records what a probe or a request found. Cheap on the hot path: a request that only confirms
   * the state the cluster already has updates nothing more than once a second.
   */
  record(clusterId: string, outcome: HealthOutcome): void {
    const at = this.now();
    const old = this.entries.get(clusterId);
    // Traffic says only "it answered": keep the probe's wording (with the version) for the same state.
    const message = outcome.message ?? (old?.status.state === outcome.state ? old.status.message : 'the API server answers and kubegate may impersonate');
    if (old && old.status.state === outcome.state && old.status.message === message && at - old.at < TRAFFIC_REFRESH_MS && !('version' in outcome)) return;
    const version = (outcome.state === 'Active' ? outcome.version : undefined) ?? old?.status.version ?? null;
    this.entries.set(clusterId, { at, status: { state: outcome.state, message, checkedAt: new Date(at).toISOString(), version } });
    if (outcome.state === 'CredentialRejected') this.warnRejected(clusterId, message);
    else if (old && old.status.state !== outcome.state) {
      this.o.log.info({ cluster: clusterId, state: outcome.state, was: old.status.state }, `cluster ${clusterId} is ${outcome.state}`);
    }
  }

  /** Probes the cluster now (concurrent calls share one probe) and resolves with its new status. */
  check(clusterId: string): Promise<ClusterStatus> {
    let pending = this.inFlight.get(clusterId);
    if (!pending) {
      pending = this.o
        .probe(clusterId)
        .catch((err: unknown): HealthOutcome => ({ state: 'Unavailable', message: `probe failed: ${(err as Error).message}` }))
        .then((outcome) => {
          this.record(clusterId, outcome);
          return this.status(clusterId);
        })
        .finally(() => this.inFlight.delete(clusterId));
      this.inFlight.set(clusterId, pending);
    }
    return pending;
  }

  /** Forgets a deleted cluster. */
  forget(clusterId: string): void {
    this.entries.delete(clusterId);
    this.warnedAt.delete(clusterId);
  }

  /** Probes every cluster now, then every `intervalMs`. */
  start(): void {
    if (this.timer) return;
    const round = (): void => {
      for (const id of this.o.clusterIds()) void this.check(id);
    };
    round();
    this.timer = setInterval(round, this.o.intervalMs ?? PROBE_INTERVAL_MS);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One WARN line per cluster per minute: every request meets it, the log must not flood. */
  private warnRejected(clusterId: string, message: string): void {
    const at = this.now();
    if (at - (this.warnedAt.get(clusterId) ?? -Infinity) < WARN_EVERY_MS) return;
    this.warnedAt.set(clusterId, at);
    this.o.log.warn({ cluster: clusterId }, message);
  }
}
