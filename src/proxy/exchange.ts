/**
 * The request scope of one proxied request: its id, who it is, what it does, and its timings.
 * Stages fill it in; when the response closes it becomes one audit line (two for long-running
 * requests) and a few metric samples.
 */
import type { IncomingMessage } from 'node:http';
import type { Identity } from '../auth/identity.js';
import { isCredentialRefusal } from '../clusters/credential-refusal.js';
import type { ClusterHealth } from '../clusters/health.js';
import type { RequestedIdentity } from './checked-impersonation.js';
import type { GatewayError } from '../errors.js';
import { requestIdFor } from '../http/request-id.js';
import type { ProxyTrust } from '../http/trust-proxy.js';
import type { AuditLog, AuditRecord } from '../observability/audit-log.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { RequestInfo } from './request-info.js';

export interface Observers {
  audit: AuditLog;
  metrics: GatewayMetrics;
  trust: ProxyTrust;
  /** Real traffic's outcome feeds the clusters' health (docs/reference/api.md). */
  health?: Pick<ClusterHealth, 'record'>;
}

export class ProxyExchange {
  readonly requestId: string;
  /** Read at once: the socket may be detached by the time the exchange ends. */
  readonly clientAddress: string;
  readonly started = performance.now();
  clusterId: string | undefined;
  identity: Identity | undefined;
  /** The identity a checked `kubectl --as` acted as (the audit line keeps `user` the caller). */
  impersonated: RequestedIdentity | undefined;
  info: RequestInfo | undefined;
  status = 0;
  reason: string | undefined;
  /** Set when the gateway ended this stream after a revocation: why. */
  revoked: string | undefined;
  bytes = 0;
  private sentAt = 0;
  /** Only clusters a request reached label metrics: ids in refused paths are attacker-chosen. */
  private dispatchedToCluster = false;
  private streamType: 'stream' | 'tunnel' | undefined;

  constructor(
    private readonly req: IncomingMessage,
    private readonly observers: Observers,
    readonly upgrade: boolean,
  ) {
    this.requestId = requestIdFor(req, observers.trust);
    this.clientAddress = observers.trust.clientAddress(req);
  }

  /** The request passed every stage and goes upstream now; long-running ones get a start line. */
  dispatched(info: RequestInfo, longRunning: boolean): void {
    this.info = info;
    this.dispatchedToCluster = true;
    this.sentAt = performance.now();
    this.observers.metrics.proxyOverhead.observe((this.sentAt - this.started) / 1000);
    if (longRunning) {
      this.streamType = this.upgrade ? 'tunnel' : 'stream';
      this.observers.metrics.activeStreams.inc({ type: this.streamType });
      this.observers.audit.write(this.record('start'));
    }
  }

  /** The cluster answered with `status`. */
  answered(status: number): void {
    this.status = status;
    if (!this.dispatchedToCluster) return;
    this.observers.metrics.observeUpstream(this.clusterId!, (performance.now() - this.sentAt) / 1000);
    // 401 and 403 may be refusals of the gateway's own credential (forward.ts decides, then `failed`).
    if (status !== 401 && status !== 403) this.observers.health?.record(this.clusterId!, { state: 'Active' });
  }

  /** A stage refused the request, or the cluster could not be reached or refused the gateway's credential. */
  failed(err: GatewayError): void {
    this.status = err.code;
    this.reason = err.reason;
    if (!this.dispatchedToCluster) return;
    if (err.code === 503) {
      this.observers.metrics.upstreamErrors.inc({ cluster: this.clusterId });
      this.observers.health?.record(this.clusterId!, { state: 'Unavailable', message: err.message });
    } else if (isCredentialRefusal(err)) {
      this.observers.metrics.credentialRejected.inc({ cluster: this.clusterId });
      this.observers.health?.record(this.clusterId!, { state: 'CredentialRejected', message: err.message });
    }
  }

  /** Writes the closing audit line and metrics; call once, when the exchange is over. */
  finish(): void {
    const m = this.observers.metrics;
    m.countProxyRequest(this.dispatchedToCluster ? this.clusterId! : '', this.status, this.info?.verb ?? '');
    if (this.streamType) m.activeStreams.dec({ type: this.streamType });
    this.observers.audit.write(this.record(this.streamType ? 'end' : 'complete'));
  }

  private record(stage: AuditRecord['stage']): AuditRecord {
    const id = this.identity;
    const user = id?.kind === 'user' ? id : undefined;
    const info = this.info;
    return {
      time: new Date().toISOString(),
      stage,
      requestId: this.requestId,
      kind: 'proxy',
      user: user ? user.username : id?.kind === 'agent' ? `agent:${id.clusterId}` : undefined,
      uid: user?.userId,
      groups: user?.groups,
      tokenId: id?.token.id,
      cluster: this.clusterId,
      ...(this.impersonated ? { impersonatedUser: this.impersonated.user, impersonatedGroups: this.impersonated.groups } : {}),
      method: this.req.method ?? '',
      verb: info?.verb,
      resource: info?.resource || undefined,
      namespace: info?.namespace || undefined,
      name: info?.name || undefined,
      subresource: info?.subresource || undefined,
      status: stage === 'start' ? undefined : this.status,
      reason: this.reason,
      ...(this.revoked ? { revoked: this.revoked } : {}),
      bytes: stage === 'start' ? undefined : this.bytes,
      durationMs: stage === 'start' ? undefined : Math.round((performance.now() - this.started) * 100) / 100,
      clientAddress: this.clientAddress,
      userAgent: this.req.headers['user-agent'],
      protocol: this.req.httpVersion,
    };
  }
}
