/**
 * The status of an agent cluster in API answers (docs/reference/api.md): `Connected` while an agent
 * is connected to any replica, else `Disconnected`, with what the agents report. Direct clusters'
 * health comes from their own probe; this only speaks for agent clusters.
 */
import type { AgentStatus } from '../agents/agent-directory.js';
import type { Cluster } from '../store/store.js';

export interface AgentClusterStatus {
  state: 'Connected' | 'Disconnected';
  message: string;
  checkedAt: string;
  agent: { connectedAt: string | null; replicas: number; version: string | null };
}

/** The status block of an agent cluster; undefined for a direct one. */
export function agentClusterStatus(cluster: Cluster, status: (id: string) => AgentStatus, now = new Date()): AgentClusterStatus | undefined {
  if (cluster.connection !== 'agent') return undefined;
  const s = status(cluster.id);
  return {
    state: s.connected ? 'Connected' : 'Disconnected',
    message: s.connected ? `${s.replicas} agent${s.replicas === 1 ? '' : 's'} connected` : `cluster ${cluster.id} has no connected agent`,
    checkedAt: now.toISOString(),
    agent: { connectedAt: s.connectedAt?.toISOString() ?? null, replicas: s.replicas, version: s.version ?? null },
  };
}
