/**
 * `GET /v1/clusters/{id}/agent/connect` with `Upgrade: kubegate-tunnel.v1`: where an agent dials
 * in (docs/agent-tunnel.md). The agent token must be that cluster's, and the cluster registered
 * with `connection: agent`; then the socket becomes a tunnel the gateway opens streams over, and
 * the agent's state (kube-apiserver URL, CA, ServiceAccount token) arrives on its state stream.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { TokenAuthenticator } from '../auth/identity.js';
import { badRequest, forbidden, GatewayError, notFound, unauthorized } from '../errors.js';
import { bearerToken } from '../http/bearer.js';
import { writeStatusToSocket } from '../http/render-error.js';
import type { Store } from '../store/store.js';
import { AGENT_ID_HEADER, AGENT_VERSION_HEADER, AgentStateSchema, TUNNEL_PROTOCOL } from '../tunnel/protocol.js';
import { TunnelClient } from '../tunnel/tunnel-client.js';
import type { AgentSession, LocalAgents } from './local-agents.js';

const CONNECT_PATH = /^\/v1\/clusters\/([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)\/agent\/connect(\?.*)?$/;

export interface AcceptDeps {
  authenticator: TokenAuthenticator;
  store: Store;
  agents: LocalAgents;
  log: Logger;
  /** Called with the socket once it is a tunnel (shutdown ends it after the requests it carries). */
  track(socket: Duplex): void;
}

/** True for the agent connect path. */
export function isAgentConnectPath(url: string): boolean {
  return CONNECT_PATH.test(url);
}

/** Label values and log fields must stay short and printable. */
function header(req: IncomingMessage, name: string, fallback: string): string {
  const v = req.headers[name];
  return typeof v === 'string' && /^[\x21-\x7e]{1,253}$/.test(v) ? v.slice(0, 253) : fallback;
}

/** Authenticates an agent's upgrade and turns its connection into a tunnel; refusals are a `Status`. */
export async function acceptAgent(req: IncomingMessage, socket: Duplex, deps: AcceptDeps): Promise<void> {
  try {
    const clusterId = CONNECT_PATH.exec(req.url!)![1]!;
    if ((req.headers.upgrade ?? '').toLowerCase() !== TUNNEL_PROTOCOL) throw badRequest(`this endpoint upgrades to ${TUNNEL_PROTOCOL} only`);
    const result = await deps.authenticator.authenticate(bearerToken(req));
    if (!result.authenticated) throw unauthorized();
    const identity = result.identity;
    if (identity.kind !== 'agent') throw forbidden('only the cluster agent token may open a tunnel');
    if (identity.clusterId !== clusterId) throw forbidden('this agent token belongs to another cluster');
    const cluster = await deps.store.getCluster(clusterId);
    if (!cluster) throw notFound('cluster not found');
    if (cluster.connection !== 'agent') throw forbidden(`cluster ${clusterId} is reached directly, not through an agent`);
    if (socket.destroyed) return;

    // node:http2 must not take over a socket with a write in flight (it asserts): wait for the 101 to be written.
    await new Promise<void>((resolve, reject) =>
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${TUNNEL_PROTOCOL}\r\n\r\n`, (err) => (err ? reject(err) : resolve())),
    );
    if (socket.destroyed) return;
    const session: AgentSession = {
      clusterId,
      agentId: header(req, AGENT_ID_HEADER, 'unnamed'),
      tokenId: identity.token.id,
      connectedAt: new Date(),
      tunnel: new TunnelClient(socket),
      state: undefined,
    };
    const version = header(req, AGENT_VERSION_HEADER, 'unknown');
    deps.track(socket);
    deps.agents.add(session);
    deps.log.info({ cluster: clusterId, agent: session.agentId, version }, 'agent connected');
    session.tunnel.once('close', () => deps.log.info({ cluster: clusterId, agent: session.agentId }, 'agent disconnected'));
    session.tunnel.watchState((value) => {
      const parsed = AgentStateSchema.safeParse(value);
      if (!parsed.success) {
        deps.log.warn({ cluster: clusterId, agent: session.agentId }, 'agent sent a malformed state; closing its tunnel');
        return session.tunnel.close();
      }
      deps.agents.update(session, parsed.data);
    });
  } catch (err) {
    const refusal = err instanceof GatewayError ? err : new GatewayError('ServiceUnavailable', 'cannot accept the agent now', { cause: err });
    if (refusal.code >= 500) deps.log.warn({ err: (err as Error).message }, 'agent refused');
    writeStatusToSocket(socket, refusal);
  }
}
