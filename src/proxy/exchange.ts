/**
 * The request scope of one proxied request: its id, who it is, what it does, and its timings.
 * Stages fill it in; when the response closes it becomes one audit line (two for long-running
 * requests) and a few metric samples.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { UserIdentity } from '../auth/identity.js';
import type { GatewayError } from '../errors.js';
import type { ProxyTrust } from '../http/trust-proxy.js';
import type { AuditLog, AuditRecord } from '../observability/audit-log.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { requestInfo, type RequestInfo } from '../observability/request-info.js';

export interface Observers {
  audit: AuditLog;
  metrics: GatewayMetrics;
  trust: ProxyTrust;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A client's `X-Request-Id` when it came through a trusted proxy and looks sane; else a new one. */
export function requestIdFor(req: IncomingMessage, trust: ProxyTrust): string {
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && REQUEST_ID.test(given) && trust.trustsForwarded(req)) return given;
  return randomUUID();
}

export class ProxyExchange {
  readonly requestId: string;
  /** Read at once: the socket may be detached by the time the exchange ends. */
  readonly clientAddress: string;
  readonly started = performance.now();
  clusterId: string | undefined;
  identity: UserIdentity | undefined;
  info: RequestInfo | undefined;
  status = 0;
  reason: string | undefined;
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

  /** The request passed every stage and goes upstream now. */
  dispatched(clusterId: string, path: string, identity: UserIdentity): void {
    this.clusterId = clusterId;
    this.identity = identity;
    this.dispatchedToCluster = true;
    this.info = requestInfo(this.req.method ?? 'GET', path);
    this.sentAt = performance.now();
    this.observers.metrics.proxyOverhead.observe((this.sentAt - this.started) / 1000);
    if (this.info.longRunning || this.upgrade) {
      this.streamType = this.upgrade ? 'tunnel' : 'stream';
      this.observers.metrics.activeStreams.inc({ type: this.streamType });
      this.observers.audit.write(this.record('start'));
    }
  }

  /** The cluster answered with `status`. */
  answered(status: number): void {
    this.status = status;
    if (this.dispatchedToCluster) this.observers.metrics.observeUpstream(this.clusterId!, (performance.now() - this.sentAt) / 1000);
  }

  /** A stage refused the request, or the cluster could not be reached. */
  failed(err: GatewayError): void {
    this.status = err.code;
    this.reason = err.reason;
    if (err.code === 503 && this.dispatchedToCluster) this.observers.metrics.upstreamErrors.inc({ cluster: this.clusterId });
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
    const info = this.info;
    return {
      time: new Date().toISOString(),
      stage,
      requestId: this.requestId,
      kind: 'proxy',
      user: id?.username,
      uid: id?.userId,
      groups: id?.groups,
      tokenId: id?.token.id,
      cluster: this.clusterId,
      method: this.req.method ?? '',
      verb: info?.verb,
      resource: info?.resource || undefined,
      namespace: info?.namespace || undefined,
      name: info?.name || undefined,
      subresource: info?.subresource || undefined,
      status: stage === 'start' ? undefined : this.status,
      reason: this.reason,
      bytes: stage === 'start' ? undefined : this.bytes,
      durationMs: stage === 'start' ? undefined : Math.round((performance.now() - this.started) * 100) / 100,
      clientAddress: this.clientAddress,
      userAgent: this.req.headers['user-agent'],
    };
  }
}

/** Sets the request id on a plain response before anything is written. */
export function exposeRequestId(res: ServerResponse, id: string): void {
  if (!res.headersSent) res.setHeader('X-Request-Id', id);
}
