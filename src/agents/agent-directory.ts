/**
 * Every agent the gateway can reach a cluster through: those connected to this replica, and
 * those its peers report (peer-mesh.ts). The proxy's routes ask here for a cluster's endpoint
 * (the kube-apiserver URL and CA to verify it, the agent's token to present) and open their
 * streams here: through a local agent when there is one, else through a peer that has one.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { NoAgentError, type AgentState } from '../tunnel/protocol.js';
import type { LocalAgents } from './local-agents.js';

/** An agent connected to another replica, as that replica reports it. */
export interface RemoteAgent {
  replicaId: string;
  clusterId: string;
  agentId: string;
  connectedAt: Date;
  state: AgentState;
}

/** What the peer mesh offers the directory. */
export interface RemoteAgents {
  agents(clusterId: string): readonly RemoteAgent[];
  dial(replicaId: string, clusterId: string, signal: AbortSignal): Promise<Duplex>;
  on(event: 'change', listener: (clusterId: string) => void): unknown;
}

/** What a route needs to speak to the cluster's kube-apiserver. */
export interface AgentEndpoint {
  server: string;
  caData: string;
  /** `Authorization: Bearer <agent's ServiceAccount token>`, as a raw header pair. */
  credentialHeader: readonly string[];
}

/** An agent cluster's status for the API and metrics. */
export interface AgentStatus {
  connected: boolean;
  /** When the longest-connected agent connected. */
  connectedAt: Date | undefined;
  /** Agent connections across all replicas (one per agent pod). */
  replicas: number;
  version: string | undefined;
}

interface Candidate {
  agentId: string;
  connectedAt: Date;
  state: AgentState;
}

export class AgentDirectory extends EventEmitter<{ change: [clusterId: string] }> {
  private readonly headers = new Map<string, { token: string; header: readonly string[] }>();
  private remote: RemoteAgents | undefined;

  constructor(readonly local: LocalAgents) {
    super();
    local.on('change', (id) => this.changed(id));
  }

  /** Plugs in the peers' agents (only with more than one replica). */
  usePeers(remote: RemoteAgents): void {
    this.remote = remote;
    remote.on('change', (id) => this.changed(id));
  }

  /** The endpoint of the cluster's longest-connected agent (so it changes rarely), if any. */
  endpoint(clusterId: string): AgentEndpoint | undefined {
    const primary = this.candidates(clusterId)[0];
    if (!primary) return undefined;
    return { server: primary.state.server, caData: primary.state.caData, credentialHeader: this.credentialHeader(clusterId) };
  }

  /**
   * The current credential header for the cluster, read per request: an agent's token rotates
   * without the route (and its connections) being rebuilt. Empty when no agent is connected.
   */
  credentialHeader(clusterId: string): readonly string[] {
    return this.headers.get(clusterId)?.header ?? [];
  }

  /** Opens a stream to the cluster's kube-apiserver; rejects at once with `ENOAGENT` when there is no agent. */
  dial(clusterId: string, signal: AbortSignal): Promise<Duplex> {
    const here = this.local.dial(clusterId, signal);
    if (here) return here;
    const there = this.remote?.agents(clusterId)[0];
    if (there) return this.remote!.dial(there.replicaId, clusterId, signal);
    return Promise.reject(new NoAgentError(clusterId));
  }

  status(clusterId: string): AgentStatus {
    const all = this.candidates(clusterId);
    const oldest = all[0];
    const newest = all.reduce<Candidate | undefined>((a, c) => (!a || c.connectedAt > a.connectedAt ? c : a), undefined);
    return { connected: all.length > 0, connectedAt: oldest?.connectedAt, replicas: new Set(all.map((c) => c.agentId)).size, version: newest?.state.version };
  }

  /** Local first, then remote; each oldest first. */
  private candidates(clusterId: string): Candidate[] {
    const local: Candidate[] = this.local.ready(clusterId).map((s) => ({ agentId: s.agentId, connectedAt: s.connectedAt, state: s.state! }));
    const remote: Candidate[] = [...(this.remote?.agents(clusterId) ?? [])];
    const byAge = (a: Candidate, b: Candidate) => a.connectedAt.getTime() - b.connectedAt.getTime();
    return [...local.sort(byAge), ...remote.sort(byAge)];
  }

  private changed(clusterId: string): void {
    const primary = this.candidates(clusterId)[0];
    if (!primary) this.headers.delete(clusterId);
    else if (this.headers.get(clusterId)?.token !== primary.state.token) {
      this.headers.set(clusterId, { token: primary.state.token, header: ['Authorization', `Bearer ${primary.state.token}`] });
    }
    this.emit('change', clusterId);
  }
}
