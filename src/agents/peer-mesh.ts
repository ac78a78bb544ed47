/**
 * High availability for agent clusters (docs/agent-tunnel.md): a request may land on a replica
 * whose cluster's agent is connected to another one. Every replica registers where its peers
 * reach it (the store's replica registry, heartbeats), keeps one authenticated link to every
 * other live replica, and hears on it which agents that replica holds (with their state); a
 * dial for such a cluster becomes a CONNECT stream over the link, which the holder pipes into its
 * agent's tunnel. TLS to the kube-apiserver still runs end to end from the replica that serves the
 * request. A link that closes takes its replica's agents with it at once; a replica that stops
 * heartbeating is forgotten within `staleMs`.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { ReplicaRecord, Store } from '../store/store.js';
import { PEER_CONNECT_PATH, PeerStateSchema, TUNNEL_PROTOCOL, type PeerState } from '../tunnel/protocol.js';
import { TunnelClient } from '../tunnel/tunnel-client.js';
import { joinStream, refuseStream, serveTunnel } from '../tunnel/tunnel-server.js';
import { dialUpgrade } from '../tunnel/upgrade-client.js';
import type { RemoteAgent, RemoteAgents } from './agent-directory.js';
import type { LocalAgents } from './local-agents.js';
import { channelBinding, freshNonce, newNonce, PEER_ID_HEADER, PEER_NONCE_HEADER, PEER_PROOF_HEADER, PEER_TARGET_HEADER, proof, sameProof } from './peer-auth.js';

export interface PeerMeshOptions {
  store: Store;
  replicaId: string;
  /** Where the other replicas reach this one. */
  peerUrl: string;
  secret: string;
  local: LocalAgents;
  log: Logger;
  heartbeatMs?: number;
  staleMs?: number;
}

interface Link {
  replica: ReplicaRecord;
  tunnel: TunnelClient | undefined;
  agents: RemoteAgent[];
}

/** The CONNECT authority naming a cluster on a peer link. */
const clusterAuthority = (clusterId: string): string => `${clusterId}.agent:443`;
const UPGRADE_TIMEOUT_MS = 5_000;

export class PeerMesh extends EventEmitter<{ change: [clusterId: string] }> implements RemoteAgents {
  private readonly links = new Map<string, Link>();
  private readonly seenNonces = new Map<string, number>();
  private readonly stateStreams = new Set<ServerHttp2Stream>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly heartbeatMs: number;
  private readonly staleMs: number;

  constructor(private readonly o: PeerMeshOptions) {
    super();
    this.heartbeatMs = o.heartbeatMs ?? 2_000;
    this.staleMs = o.staleMs ?? 6_000;
    let pending: NodeJS.Timeout | undefined;
    // Tell the peers about our agents, a little batched (an agent's state and its connect come together).
    o.local.on('change', () => {
      pending ??= setTimeout(() => {
        pending = undefined;
        const line = `${JSON.stringify(this.snapshot())}\n`;
        for (const s of this.stateStreams) s.write(line);
      }, 20);
    });
  }

  /** Registers this replica and starts linking to the others. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.heartbeatMs).unref();
  }

  agents(clusterId: string): readonly RemoteAgent[] {
    const out: RemoteAgent[] = [];
    for (const link of this.links.values()) for (const a of link.agents) if (a.clusterId === clusterId) out.push(a);
    return out;
  }

  dial(replicaId: string, clusterId: string, signal: AbortSignal): Promise<Duplex> {
    const tunnel = this.links.get(replicaId)?.tunnel;
    if (!tunnel) return Promise.reject(Object.assign(new Error(`replica ${replicaId} is gone`), { code: 'ECONNRESET' }));
    return tunnel.dial(clusterAuthority(clusterId), signal);
  }

  /** True for the path peers dial. */
  static matches(url: string): boolean {
    return url === PEER_CONNECT_PATH;
  }

  /** A peer's upgrade: check its proof, answer ours, and serve our agents over the link. */
  async accept(req: IncomingMessage, socket: Duplex, track: (s: Duplex) => void): Promise<void> {
    const from = String(req.headers[PEER_ID_HEADER] ?? '');
    const nonce = String(req.headers[PEER_NONCE_HEADER] ?? '');
    const binding = channelBinding(socket);
    const expected = proof(this.o.secret, 'client', from, this.o.replicaId, nonce, binding);
    const ok =
      (req.headers.upgrade ?? '').toLowerCase() === TUNNEL_PROTOCOL &&
      req.headers[PEER_TARGET_HEADER] === this.o.replicaId &&
      freshNonce(nonce) &&
      !this.seenNonces.has(nonce) &&
      sameProof(req.headers[PEER_PROOF_HEADER] as string | undefined, expected);
    if (!ok) {
      this.o.log.warn({ from: from.slice(0, 64), address: req.socket.remoteAddress }, 'refused a peer link');
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    this.remember(nonce);
    const answer = proof(this.o.secret, 'server', this.o.replicaId, from, nonce, binding);
    await new Promise<void>((resolve) =>
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${TUNNEL_PROTOCOL}\r\n${PEER_PROOF_HEADER}: ${answer}\r\n\r\n`, () => resolve()),
    );
    if (socket.destroyed) return;
    track(socket);
    await serveTunnel(socket, {
      state: (stream) => {
        stream.respond({ ':status': 200, 'content-type': 'application/x-ndjson' });
        stream.write(`${JSON.stringify(this.snapshot())}\n`);
        this.stateStreams.add(stream);
        stream.once('close', () => this.stateStreams.delete(stream));
      },
      connect: (authority, stream) => {
        const clusterId = /^([a-z0-9-]{1,63})\.agent:443$/.exec(authority)?.[1];
        const dialing = clusterId ? this.o.local.dial(clusterId, AbortSignal.timeout(10_000)) : undefined;
        if (!dialing) return refuseStream(stream, 503);
        dialing.then(
          (upstream) => (stream.destroyed ? upstream.destroy() : joinStream(stream, upstream)),
          () => refuseStream(stream, 502),
        );
      },
    });
    this.o.log.info({ peer: from }, 'a peer replica linked to this one');
  }

  /** Unregisters this replica and closes every link. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const link of this.links.values()) link.tunnel?.close();
    this.links.clear();
    for (const s of this.stateStreams) s.destroy();
    await this.o.store.removeReplicas({ id: this.o.replicaId }).catch(() => {});
  }

  private snapshot(): PeerState {
    return {
      replicaId: this.o.replicaId,
      agents: this.o.local.allReady().map((s) => ({
        clusterId: s.clusterId,
        agentId: s.agentId,
        connectedAt: s.connectedAt.toISOString(),
        tokenId: s.tokenId,
        state: s.state!,
      })),
    };
  }

  private remember(nonce: string): void {
    const now = Date.now();
    this.seenNonces.set(nonce, now);
    for (const [n, at] of this.seenNonces) if (now - at > 120_000) this.seenNonces.delete(n);
  }

  /** One heartbeat: refresh our registration, link to new replicas, forget vanished ones. */
  private async beat(): Promise<void> {
    if (this.closed) return;
    const now = Date.now();
    let live: ReplicaRecord[];
    try {
      await this.o.store.heartbeatReplica({ id: this.o.replicaId, peerUrl: this.o.peerUrl, heartbeatAt: new Date(now) });
      live = await this.o.store.listReplicas(new Date(now - this.staleMs));
      // Rows of replicas long gone (killed without unregistering) are swept by whoever sees them.
      await this.o.store.removeReplicas({ before: new Date(now - 10 * this.staleMs) });
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'could not refresh the replica registry');
      return;
    }
    const ids = new Set(live.map((r) => r.id));
    for (const [id, link] of this.links) {
      if (!ids.has(id)) {
        link.tunnel?.close();
        this.forget(id);
      }
    }
    for (const replica of live) {
      if (replica.id === this.o.replicaId) continue;
      const link = this.links.get(replica.id);
      if (link && (link.tunnel || link.replica.peerUrl === replica.peerUrl)) continue;
      void this.link(replica);
    }
  }

  private async link(replica: ReplicaRecord): Promise<void> {
    const entry: Link = { replica, tunnel: undefined, agents: [] };
    this.links.set(replica.id, entry);
    const nonce = newNonce();
    try {
      let binding = '';
      const { socket, headers } = await dialUpgrade({
        url: new URL(replica.peerUrl),
        path: PEER_CONNECT_PATH,
        rejectUnauthorized: false,
        timeoutMs: UPGRADE_TIMEOUT_MS,
        headers: (s) => {
          binding = channelBinding(s);
          return {
            [PEER_ID_HEADER]: this.o.replicaId,
            [PEER_TARGET_HEADER]: replica.id,
            [PEER_NONCE_HEADER]: nonce,
            [PEER_PROOF_HEADER]: proof(this.o.secret, 'client', this.o.replicaId, replica.id, nonce, binding),
          };
        },
      });
      if (!sameProof(headers[PEER_PROOF_HEADER], proof(this.o.secret, 'server', replica.id, this.o.replicaId, nonce, binding))) {
        socket.destroy();
        throw new Error('the peer did not prove it shares the peer secret');
      }
      if (this.closed || this.links.get(replica.id) !== entry) return void socket.destroy();
      const tunnel = new TunnelClient(socket);
      entry.tunnel = tunnel;
      tunnel.once('close', () => {
        if (this.links.get(replica.id) === entry) this.forget(replica.id);
        this.o.log.info({ peer: replica.id }, 'the link to a peer replica closed');
      });
      tunnel.watchState((value) => {
        const parsed = PeerStateSchema.safeParse(value);
        if (!parsed.success || parsed.data.replicaId !== replica.id) return tunnel.close();
        const before = new Set(entry.agents.map((a) => a.clusterId));
        entry.agents = parsed.data.agents.map((a) => ({ replicaId: replica.id, clusterId: a.clusterId, agentId: a.agentId, connectedAt: new Date(a.connectedAt), state: a.state }));
        for (const a of entry.agents) before.add(a.clusterId);
        for (const id of before) this.emit('change', id);
      });
      this.o.log.info({ peer: replica.id, url: replica.peerUrl }, 'linked to a peer replica');
    } catch (err) {
      if (this.links.get(replica.id) === entry) this.links.delete(replica.id);
      this.o.log.warn({ peer: replica.id, url: replica.peerUrl, err: (err as NodeJS.ErrnoException).code ?? (err as Error).message }, 'could not link to a peer replica; retrying');
    }
  }

  /** Drops a replica's link and its agents. */
  private forget(id: string): void {
    const link = this.links.get(id);
    this.links.delete(id);
    for (const clusterId of new Set(link?.agents.map((a) => a.clusterId) ?? [])) this.emit('change', clusterId);
  }
}
