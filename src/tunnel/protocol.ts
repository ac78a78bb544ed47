/**
 * The agent tunnel's wire protocol (docs/agent-tunnel.md), shared by the gateway, the agent and
 * the replica-to-replica links. The side that dials opens an HTTP/1.1 Upgrade to
 * `kubegate-tunnel.v1`; after the 101 the connection carries HTTP/2 with the roles reversed: the
 * side that *accepted* is the HTTP/2 client and opens the streams. `GET /v1/state` is a
 * long-lived NDJSON stream of the serving side's state; every other stream is a CONNECT whose
 * bytes the serving side pipes to its kube-apiserver (or, on a peer link, to its agent).
 */
import { z } from 'zod';

/** The `Upgrade` token of a tunnel. */
export const TUNNEL_PROTOCOL = 'kubegate-tunnel.v1';
/** Where an agent dials in. */
export const agentConnectPath = (clusterId: string): string => `/v1/clusters/${clusterId}/agent/connect`;
/** Where a replica dials another. */
export const PEER_CONNECT_PATH = '/v1/peers/connect';
/** The state stream's path on the serving side. */
export const STATE_PATH = '/v1/state';

/** Headers of the agent's upgrade request. */
export const AGENT_VERSION_HEADER = 'kubegate-agent-version';
export const AGENT_ID_HEADER = 'kubegate-agent-id';

/** A state line is at most this long; a longer one ends the tunnel. */
export const MAX_STATE_LINE_BYTES = 1024 * 1024;
/** Each side pings this often, and drops a connection whose ping is not answered within the timeout. */
export const PING_INTERVAL_MS = 15_000;
export const PING_TIMEOUT_MS = 10_000;

/**
 * HTTP/2 settings of both ends. A stream's window is what one stalled reader may hold back, and
 * only on its own stream; the connection window is far larger so that it never fills while any
 * stream still reads (Node returns connection credit as data arrives, whatever the stream does).
 */
export const STREAM_WINDOW = 1024 * 1024;
export const CONNECTION_WINDOW = 32 * 1024 * 1024;
/** Streams one tunnel carries at once (pooled connections, watches, exec sessions). */
export const MAX_STREAMS = 10_000;
/** node:http2's limit (MiB) on what a session may buffer before it refuses new streams. */
export const MAX_SESSION_MEMORY_MB = 256;

/** What an agent reports about its cluster: where its kube-apiserver is and how to talk to it. */
export const AgentStateSchema = z
  .object({
    /** The kube-apiserver URL as the agent reaches it: its host is the name the certificate must carry. */
    server: z.string().url().max(2048),
    /** Base64 PEM of the CA that signs the kube-apiserver's certificate. */
    caData: z.string().min(1).max(256 * 1024),
    /** The agent's ServiceAccount token: the gateway's credential there, kept only in memory. */
    token: z.string().min(1).max(16 * 1024).regex(/^[\x21-\x7e]+$/),
    version: z.string().max(64),
  })
  .strict();
export type AgentState = z.infer<typeof AgentStateSchema>;

/** What one agent connection on some replica offers, as a replica tells its peers. */
export const PeerAgentSchema = z
  .object({
    clusterId: z.string().max(63),
    agentId: z.string().max(253),
    connectedAt: z.string().max(40),
    tokenId: z.string().max(64),
    state: AgentStateSchema,
  })
  .strict();
export type PeerAgent = z.infer<typeof PeerAgentSchema>;

/** A replica's state line for its peers: every agent connected to it, whole each time. */
export const PeerStateSchema = z.object({ replicaId: z.string().max(64), agents: z.array(PeerAgentSchema).max(100_000) }).strict();
export type PeerState = z.infer<typeof PeerStateSchema>;

/** A dial that found no way to the cluster: the proxy answers 503 at once. */
export class NoAgentError extends Error {
  readonly code = 'ENOAGENT';
  constructor(clusterId: string) {
    super(`cluster ${clusterId} has no connected agent`);
    this.name = 'NoAgentError';
  }
}
