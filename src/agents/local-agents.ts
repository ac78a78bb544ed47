/**
 * The agents connected to this replica: one `AgentSession` per tunnel, grouped by cluster. A
 * session is usable once its agent has reported its state (kube-apiserver URL, CA, token); the
 * state is replaced whenever the agent sends a new one (the kubelet rotated its token), and lives
 * only in memory.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { AgentState } from '../tunnel/protocol.js';
import type { TunnelClient } from '../tunnel/tunnel-client.js';

export interface AgentSession {
  clusterId: string;
  /** What the agent calls itself (its pod name), for logs and status. */
  agentId: string;
  /** The agent token it authenticated with: revoking that token ends the session. */
  tokenId: string;
  connectedAt: Date;
  tunnel: TunnelClient;
  /** Undefined until the agent's first state line. */
  state: AgentState | undefined;
}

/** Where to open a stream to the agent's kube-apiserver. */
export const KUBE_API_AUTHORITY = 'kube-apiserver:443';

export class LocalAgents extends EventEmitter<{ change: [clusterId: string] }> {
  private readonly byCluster = new Map<string, Set<AgentSession>>();
  private readonly next = new Map<string, number>();

  /** Adds a session; it leaves by itself when its tunnel closes. */
  add(session: AgentSession): void {
    let set = this.byCluster.get(session.clusterId);
    if (!set) this.byCluster.set(session.clusterId, (set = new Set()));
    set.add(session);
    session.tunnel.once('close', () => {
      set.delete(session);
      if (set.size === 0 && this.byCluster.get(session.clusterId) === set) this.byCluster.delete(session.clusterId);
      if (session.state) this.emit('change', session.clusterId);
    });
  }

  /** Records an agent's new state. */
  update(session: AgentSession, state: AgentState): void {
    if (session.tunnel.closed) return;
    session.state = state;
    this.emit('change', session.clusterId);
  }

  /** The cluster's usable sessions, oldest first. */
  ready(clusterId: string): AgentSession[] {
    const set = this.byCluster.get(clusterId);
    if (!set) return [];
    const out: AgentSession[] = [];
    for (const s of set) if (s.state && !s.tunnel.closed) out.push(s);
    return out;
  }

  /** Every usable session, for the peers' view. */
  allReady(): AgentSession[] {
    const out: AgentSession[] = [];
    for (const id of this.byCluster.keys()) out.push(...this.ready(id));
    return out;
  }

  /** Clusters with at least one session, ready or not. */
  clusterIds(): string[] {
    return [...this.byCluster.keys()];
  }

  /** Opens a stream to the cluster's kube-apiserver through one of its agents here (round robin). */
  dial(clusterId: string, signal: AbortSignal): Promise<Duplex> | undefined {
    const sessions = this.ready(clusterId);
    if (sessions.length === 0) return undefined;
    const i = (this.next.get(clusterId) ?? 0) % sessions.length;
    this.next.set(clusterId, i + 1);
    return sessions[i]!.tunnel.dial(KUBE_API_AUTHORITY, signal);
  }

  /** Ends the sessions that match (a revoked token, a deleted cluster); returns how many. */
  drop(match: (s: AgentSession) => boolean): number {
    let n = 0;
    for (const set of this.byCluster.values()) {
      for (const s of set) {
        if (!match(s)) continue;
        s.tunnel.close();
        n++;
      }
    }
    return n;
  }

  /** Ends every session. */
  close(): void {
    this.drop(() => true);
  }
}
