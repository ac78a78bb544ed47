/**
 * Clusters as the proxy needs them, kept in memory: where the API server is, how to connect to it
 * (a `Connector` over the cluster's `Dialer`, verifying its CA and presenting the gateway's client
 * certificate when that is the credential), the connections kept to it, and the gateway's own
 * `Authorization` line. Refreshed when the API changes a cluster, here or on another replica.
 */
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { createSecureContext } from 'node:tls';
import { Pool } from 'undici';
import type { Cluster, ClusterCredential, Store } from '../store/store.js';
import { Connector } from './connector.js';
import { tcpDialer, type Dialer } from './dialer.js';
import { StreamDispatcher } from './stream-dispatcher.js';

/** The agents' side of agent clusters, as the directory needs it (agents/agent-directory.ts). */
export interface AgentEndpoints {
  endpoint(clusterId: string): { server: string; caData: string } | undefined;
  /** Read per request: the token rotates without the route being rebuilt. */
  credentialHeader(clusterId: string): readonly string[];
  dial(clusterId: string, signal: AbortSignal): Promise<Duplex>;
  on(event: 'change', listener: (clusterId: string) => void): unknown;
}

/** The server an agent cluster's route points at before any agent has said where its API is; never dialed. */
const NO_AGENT_SERVER = 'https://kube-apiserver.invalid';

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
  /** Agent clusters only: whether an agent is connected now (to any replica). */
  agentConnected?: () => boolean;
}

/** Chooses how each cluster is reached (the agent tunnel plugs in here). */
export type DialerFor = (cluster: Cluster) => Dialer;

/** Options of the undici clients: watches, log follows and slow lists are never cut by the client. */
const CLIENT_OPTIONS = { headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000 };

function pemFromData(data: string | undefined): string | undefined {
  return data ? Buffer.from(data, 'base64').toString('utf8') : undefined;
}

function fingerprint(c: Cluster): string {
  return JSON.stringify([c.name, c.connection, c.server, c.caData ?? null, c.insecureSkipTLSVerify, c.credential]);
}

/**
 * The route of a cluster reached through its agent: TLS to the kube-apiserver the agent reported,
 * verified with the CA the agent sent, over streams of the agent's tunnel, with the agent's
 * current token. Rebuilt only when the API's address or CA changes, so a token rotation or an
 * agent reconnecting keeps the route; its pooled connections through a closed tunnel simply end.
 */
export function agentRouteFor(cluster: Cluster, agents: AgentEndpoints): ClusterRoute {
  const endpoint = agents.endpoint(cluster.id);
  const id = cluster.id;
  const dialer: Dialer = { dial: (_address, signal) => agents.dial(id, signal) };
  const route = routeFor(
    { ...cluster, server: endpoint?.server ?? NO_AGENT_SERVER, caData: endpoint?.caData, insecureSkipTLSVerify: false, credential: null },
    dialer,
  );
  route.fingerprint = agentFingerprint(cluster, agents);
  Object.defineProperty(route, 'credentialHeader', { get: () => agents.credentialHeader(id), enumerable: true });
  route.agentConnected = () => agents.endpoint(id) !== undefined;
  return route;
}

function agentFingerprint(c: Cluster, agents: AgentEndpoints): string {
  const e = agents.endpoint(c.id);
  return JSON.stringify([c.name, c.connection, e?.server ?? null, e?.caData ?? null]);
}

/** Builds the route (and its connection pool) for one cluster record. */
export function routeFor(cluster: Cluster, dialer: Dialer = tcpDialer): ClusterRoute {
  const url = new URL(cluster.server);
  const https = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const cred: ClusterCredential | Record<never, never> = cluster.credential ?? {};
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

/** A gateway without an agent directory: agent clusters have no way in. */
const NO_AGENTS: AgentEndpoints = {
  endpoint: () => undefined,
  credentialHeader: () => [],
  dial: (id) => Promise.reject(Object.assign(new Error(`cluster ${id} has no connected agent`), { code: 'ENOAGENT' })),
  on: () => undefined,
};

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
    /** Agent clusters' endpoints; without them an agent cluster's every request is a 503. */
    private readonly agents?: AgentEndpoints,
  ) {
    // An agent reporting a new API address or CA (or the first agent connecting) rebuilds the route.
    agents?.on('change', (id) => {
      const cluster = this.clusters.get(id);
      if (cluster) this.install(cluster);
    });
  }

  /** The records the routes were built from, for rebuilding agent routes. */
  private readonly clusters = new Map<string, Cluster>();

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
        this.clusters.delete(id);
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
      this.clusters.delete(id);
      if (old) release(old);
    }
  }

  private install(cluster: Cluster): void {
    this.clusters.set(cluster.id, cluster);
    const old = this.routes.get(cluster.id);
    const agents = cluster.connection === 'agent' ? (this.agents ?? NO_AGENTS) : undefined;
    const next = agents ? agentFingerprint(cluster, agents) : fingerprint(cluster);
    if (old && old.fingerprint === next) return;
    this.routes.set(cluster.id, agents ? agentRouteFor(cluster, agents) : routeFor(cluster, this.dialerFor(cluster)));
    if (old) release(old);
  }

  /** The ids of every cluster loaded. */
  ids(): string[] {
    return [...this.clusters.keys()];
  }

  /** The ids of the clusters reached through an agent. */
  agentClusterIds(): string[] {
    return [...this.clusters.values()].filter((c) => c.connection === 'agent').map((c) => c.id);
  }

  get(id: string): ClusterRoute | undefined {
    return this.routes.get(id);
  }

  close(): void {
    for (const r of this.routes.values()) release(r);
    this.routes.clear();
    this.clusters.clear();
  }
}
