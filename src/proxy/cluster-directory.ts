/**
 * Clusters as the proxy needs them, kept in memory: the upstream address, a keep-alive agent that
 * verifies the cluster's CA (and presents the gateway's client certificate when that is the
 * credential), and the gateway's own `Authorization` line. Refreshed when the API changes a cluster.
 */
import { Agent as HttpsAgent } from 'node:https';
import { Agent as HttpAgent } from 'node:http';
import { createSecureContext } from 'node:tls';
import { Pool } from 'undici';
import type { Cluster, Store } from '../store/store.js';
import { StreamDispatcher } from './stream-dispatcher.js';

export interface ClusterRoute {
  id: string;
  /** What the route was built from: a refresh keeps a route (and its connections) whose inputs did not change. */
  fingerprint: string;
  name: string;
  protocol: 'https:' | 'http:';
  hostname: string;
  port: number;
  /** The `Host` header for the upstream. */
  host: string;
  /** The server URL's path without a trailing slash ('' for none): prefixed to every kube path. */
  basePath: string;
  /** Keep-alive pool for ordinary requests (undici: the fastest Node HTTP client here). */
  pool: Pool;
  /**
   * Long-running requests (watch, log follow): HTTP/2 streams sharing a few connections when the
   * cluster offers h2, else a dedicated connection each, closed with it.
   */
  streams: StreamDispatcher;
  /** node:https agent for upgrades, which the tunnel relays as raw sockets. */
  agent: HttpsAgent | HttpAgent;
  /** The gateway's credential as a raw header pair, or empty for client-certificate auth. */
  credentialHeader: readonly string[];
}

function pemFromData(data: string | undefined): string | undefined {
  return data ? Buffer.from(data, 'base64').toString('utf8') : undefined;
}

function fingerprint(c: Cluster): string {
  return JSON.stringify([c.name, c.server, c.caData ?? null, c.insecureSkipTLSVerify, c.credential]);
}

/** Builds the route (and its connection pool) for one cluster record. */
export function routeFor(cluster: Cluster): ClusterRoute {
  const url = new URL(cluster.server);
  const https = url.protocol === 'https:';
  const cred = cluster.credential;
  const tls =
    'clientCertData' in cred ? { cert: pemFromData(cred.clientCertData), key: pemFromData(cred.clientKeyData) } : {};
  const ca = pemFromData(cluster.caData);
  const verify = { ...tls, ca, rejectUnauthorized: !cluster.insecureSkipTLSVerify };
  // Parsed once: otherwise every new upstream connection parses the CA and key again.
  const secureContext = https ? createSecureContext(verify) : undefined;
  const agentOptions = { keepAlive: true, keepAliveMsecs: 30_000, maxFreeSockets: 64, scheduling: 'lifo' as const };
  const agent = https ? new HttpsAgent({ ...agentOptions, ...verify, secureContext }) : new HttpAgent(agentOptions);
  const clientOptions = {
    connect: https ? { secureContext, rejectUnauthorized: verify.rejectUnauthorized } : undefined,
    // Watches, log follows and slow lists must never be cut by the client: no idle timeouts.
    headersTimeout: 0,
    bodyTimeout: 0,
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 600_000,
  };
  const pool = new Pool(url.origin, clientOptions);
  const streams = new StreamDispatcher(url, { secureContext, rejectUnauthorized: verify.rejectUnauthorized, http1: clientOptions });
  return {
    id: cluster.id,
    fingerprint: fingerprint(cluster),
    name: cluster.name,
    protocol: https ? 'https:' : 'http:',
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port) || (https ? 443 : 80),
    host: url.host,
    basePath: url.pathname.replace(/\/+$/, ''),
    pool,
    streams,
    agent,
    credentialHeader: 'token' in cred ? ['Authorization', `Bearer ${cred.token}`] : [],
  };
}

/** Closes a replaced route's connections (its open streams end; clients reconnect). */
function release(route: ClusterRoute): void {
  route.agent.destroy();
  void route.pool.destroy().catch(() => {});
  void route.streams.destroy();
}

/** The in-memory directory of cluster routes. */
export class ClusterDirectory {
  private routes = new Map<string, ClusterRoute>();

  constructor(private readonly store: Store) {}

  /**
   * Loads every cluster (at start-up, and when changes may have been missed): routes whose record
   * did not change keep their connections, so open watches and exec sessions survive.
   */
  async loadAll(): Promise<void> {
    const clusters = await this.store.listClusters();
    const seen = new Set<string>();
    for (const c of clusters) {
      seen.add(c.id);
      this.install(c);
    }
    for (const [id, route] of this.routes) {
      if (!seen.has(id)) {
        this.routes.delete(id);
        release(route);
      }
    }
  }

  /** Re-reads one cluster after it was created, changed or deleted (here or on another replica). */
  async refresh(id: string): Promise<void> {
    const cluster = await this.store.getCluster(id);
    if (cluster) {
      this.install(cluster);
    } else {
      const old = this.routes.get(id);
      this.routes.delete(id);
      if (old) release(old);
    }
  }

  private install(cluster: Cluster): void {
    const old = this.routes.get(cluster.id);
    if (old && old.fingerprint === fingerprint(cluster)) return;
    this.routes.set(cluster.id, routeFor(cluster));
    if (old) release(old);
  }

  get(id: string): ClusterRoute | undefined {
    return this.routes.get(id);
  }

  close(): void {
    for (const r of this.routes.values()) release(r);
    this.routes.clear();
  }
}
