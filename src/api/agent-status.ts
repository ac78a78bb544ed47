/**
 * The `status` block of a cluster in API answers (docs/reference/api.md): its health
 * (`clusters/health.ts`: `Active`, `Unavailable`, `CredentialRejected` or `Unknown`, with message,
 * checkedAt and version) and, for an agent cluster, what its agents report. An agent cluster whose
 * agent is not connected to any replica is `Unavailable`, whatever the last probe said.
 */
import type { AgentStatus } from '../agents/agent-directory.js';
import type { ClusterStatus } from '../clusters/health.js';
import type { Cluster } from '../store/store.js';

export interface ClusterStatusView extends ClusterStatus {
  /** Agent clusters only. */
  agent?: { connected: boolean; connectedAt: string | null; replicas: number; version: string | null };
}

/** The status block of a cluster, from its health and (agent clusters) its agents. */
export function clusterStatus(cluster: Cluster, health: ClusterStatus, agents: (id: string) => AgentStatus, now = new Date()): ClusterStatusView {
  if (cluster.connection !== 'agent') return health;
  const s = agents(cluster.id);
  const agent = { connected: s.connected, connectedAt: s.connectedAt?.toISOString() ?? null, replicas: s.replicas, version: s.version ?? null };
  if (!s.connected) return { state: 'Unavailable', message: `cluster ${cluster.id} has no connected agent`, checkedAt: now.toISOString(), version: health.version, agent };
  return { ...health, agent };
}
