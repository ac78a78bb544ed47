/**
 * Clusters as the proxy needs them, kept in memory: where the API server is, how to connect to it
 * (a `Connector` over the cluster's `Dialer`, verifying its CA and presenting the gateway's client
 * certificate when that is the credential), the connections kept to it, and the gateway's own
 * `Authorization` line. Refreshed when the API changes a cluster, here or on another replica.
 */
import { isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import { Pool } from 'undici';
import type { Cluster, Store } from '../store/store.js';
import { Connector } from './connector.js';
import { tcpDialer, type Dialer } from './dialer.js';
import { StreamDispatcher } from './stream-dispatcher.js';

export interface ClusterRoute {
  id: string;
  /** What the route was built from: a refresh keeps a route (and its connections) whose inputs did not change. */
  fingerprint: string;
  name: string;
  /** The `Host` header for the upstream. */
  host: string;
  /** The server URL's path without a trailing slash ('' for none): prefixed to every kube path. */
  basePath: string;
  /** Opens connections to the cluster; upgrades take a fresh one each. */
  connector: Connector;
  /** Keep-alive pool for ordinary requests (undici: the fastest Node HTTP client here). */
  pool: Pool;
  /**
   * Long-running requests (watch, log follow): HTTP/2 streams sharing a few connections when the
   * cluster offers h2, else a dedicated connection each, closed with it.
   */
  streams: StreamDispatcher;
  /** The gateway's credential as a raw header pair, or empty for client-certificate auth. */
  credentialHeader: readonly string[];
}

/** Chooses how each cluster is reached (the agent tunnel plugs in here). */
export type DialerFor = (cluster: Cluster) => Dialer;

/** Options of the undici clients: watches, log follows and slow lists are never cut by the client. */
const CLIENT_OPTIONS = { headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000 };

function pemFromData(data: string | undefined): string | undefined {
  return data ? Buffer.from(data, 'base64').toString('utf8') : undefined;
}

function fingerprint(c: Cluster): string {
  return JSON.stringify([c.name, c.server, c.caData ?? null, c.insecureSkipTLSVerify, c.credential]);
}

/** Builds the route (and its connection pool) for one cluster record. */
export function routeFor(cluster: Cluster, dialer: Dialer = tcpDialer): ClusterRoute {
  const url = new URL(cluster.server);
  const https = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const cred = cluster.credential;
  const tls = https
    ? {
        secureContext: createSecureContext({
          ca: pemFromData(cluster.caData),
          ...('clientCertData' in cred ? { cert: pemFromData(cred.clientCertData), key: pemFromData(cred.clientKeyData) } : {}),
        }),
        servername: isIP(host) ? undefined : host,
        rejectUnauthorized: !cluster.insecureSkipTLSVerify,
      }
    : undefined;
  const connector = new Connector({ host, port: Number(url.port) || (https ? 443 : 80) }, tls, dialer);
  const clientOptions = { ...CLIENT_OPTIONS, connect: connector.undiciConnect };
  return {
    id: cluster.id,
    fingerprint: fingerprint(cluster),
    name: cluster.name,
    host: url.host,
    basePath: url.pathname.replace(/\/+$/, ''),
    connector,
    pool: new Pool(url.origin, clientOptions),
    streams: new StreamDispatcher(url, connector, clientOptions),
    credentialHeader: 'token' in cred ? ['Authorization', `Bearer ${cred.token}`] : [],
  };
}

/** Closes a replaced route's connections (its open streams end; clients reconnect). */
function release(route: ClusterRoute): void {
  void route.pool.destroy().catch(() => {});
  void route.streams.destroy();
}

/** The in-memory directory of cluster routes. */
export class ClusterDirectory {
  private routes = new Map<string, ClusterRoute>();

  constructor(
    private readonly store: Store,
    private readonly dialerFor: DialerFor = () => tcpDialer,
  ) {}

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
    this.routes.set(cluster.id, routeFor(cluster, this.dialerFor(cluster)));
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
