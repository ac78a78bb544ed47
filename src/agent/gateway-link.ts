/**
 * The agent's connection to the gateway: dial, upgrade with the agent token, then serve the
 * tunnel (the gateway opens the streams): the state stream gets the kube-apiserver's URL, CA and
 * this agent's ServiceAccount token, now and whenever they change; every CONNECT stream is piped
 * to the local kube-apiserver, and only there, whatever address the stream names. When the
 * connection ends it is dialed again after a jittered, growing delay.
 */
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import type { ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import { connect as netConnect } from 'node:net';
import type { Logger } from 'pino';
import { parseToken } from '../auth/tokens.js';
import { packageVersion } from '../render/documents.js';
import { AGENT_ID_HEADER, AGENT_VERSION_HEADER, agentConnectPath, type AgentState } from '../tunnel/protocol.js';
import { joinStream, refuseStream, serveTunnel } from '../tunnel/tunnel-server.js';
import { dialUpgrade, UpgradeRefused } from '../tunnel/upgrade-client.js';
import type { AgentConfig } from './config.js';
import type { KubeCredentials } from './kube-credentials.js';

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/** Reconnect delays: 0.5 s doubling to 30 s, each drawn from [½, 1] of that (full jitter would allow 0). */
export const DEFAULT_BACKOFF: Backoff = { initialMs: 500, maxMs: 30_000 };
/** A refused token waits at least this long: the Secret takes a while to be updated. */
const REFUSED_MIN_MS = 5_000;
const UPGRADE_TIMEOUT_MS = 10_000;

export class GatewayLink extends EventEmitter<{ up: []; down: [] }> {
  private session: ServerHttp2Session | undefined;
  private stopped = false;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly stateStreams = new Set<ServerHttp2Stream>();

  constructor(
    private readonly config: AgentConfig,
    private readonly credentials: KubeCredentials,
    private readonly log: Logger,
    private readonly backoff: Backoff = DEFAULT_BACKOFF,
  ) {
    super();
    credentials.on('change', (state) => {
      for (const s of this.stateStreams) s.write(`${JSON.stringify(state)}\n`);
    });
  }

  /** True while the tunnel is up. */
  get connected(): boolean {
    return this.session !== undefined && !this.session.destroyed;
  }

  start(): void {
    void this.connect();
  }

  /** Closes the tunnel (the gateway fails its streams over to other agents) and stops dialing. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.session?.destroy();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const { config } = this;
    let refused = false;
    try {
      // Re-read each time: after a rotation the Secret's file changes, and the next dial uses it.
      const token = (await readFile(config.tokenFile, 'utf8')).trim();
      if (!parseToken(token)) throw new Error(`${config.tokenFile} does not hold a kubegate token`);
      const { socket } = await dialUpgrade({
        url: config.gateway,
        path: agentConnectPath(config.clusterId),
        caPem: config.gatewayCaPem,
        timeoutMs: UPGRADE_TIMEOUT_MS,
        headers: () => ({
          Authorization: `Bearer ${token}`,
          [AGENT_VERSION_HEADER]: packageVersion(),
          [AGENT_ID_HEADER]: config.agentId,
          'User-Agent': `kubegate-agent/${packageVersion()}`,
        }),
      });
      if (this.stopped) return void socket.destroy();
      const session = await serveTunnel(socket, { state: (s) => this.serveState(s), connect: (_authority, s) => this.pipeToApi(s) });
      this.session = session;
      this.failures = 0;
      this.log.info({ gateway: config.gateway.origin, cluster: config.clusterId }, 'connected to the gateway');
      this.emit('up');
      session.once('close', () => {
        this.session = undefined;
        this.stateStreams.clear();
        this.emit('down');
        if (this.stopped) return;
        this.log.warn({ gateway: config.gateway.origin }, 'the tunnel to the gateway closed; reconnecting');
        this.schedule(false);
      });
      return;
    } catch (err) {
      refused = err instanceof UpgradeRefused && (err.status === 401 || err.status === 403);
      this.log.warn(
        { gateway: config.gateway.origin, status: err instanceof UpgradeRefused ? err.status : undefined, err: (err as NodeJS.ErrnoException).code ?? (err as Error).message },
        refused ? 'the gateway refused the agent token' : 'could not connect to the gateway',
      );
    }
    this.schedule(refused);
  }

  private schedule(refused: boolean): void {
    if (this.stopped) return;
    const ceiling = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** this.failures);
    this.failures = Math.min(this.failures + 1, 30);
    let delay = ceiling / 2 + Math.random() * (ceiling / 2);
    if (refused) delay = Math.max(delay, Math.min(REFUSED_MIN_MS, this.backoff.maxMs));
    this.timer = setTimeout(() => void this.connect(), delay);
  }

  /** The gateway's state stream: the current state now, then every change. */
  private serveState(stream: ServerHttp2Stream): void {
    stream.respond({ ':status': 200, 'content-type': 'application/x-ndjson' });
    const state: AgentState = this.credentials.state;
    stream.write(`${JSON.stringify(state)}\n`);
    this.stateStreams.add(stream);
    stream.once('close', () => this.stateStreams.delete(stream));
  }

  /** A CONNECT stream: always to the configured kube-apiserver, never to an address the gateway names. */
  private pipeToApi(stream: ServerHttp2Stream): void {
    const api = this.config.kubeApi;
    const socket = netConnect({ host: api.hostname.replace(/^\[|\]$/g, ''), port: Number(api.port) || 443 });
    socket.setNoDelay(true);
    const fail = (err: NodeJS.ErrnoException): void => {
      this.log.warn({ err: err.code ?? err.message }, 'could not reach the kube-apiserver');
      refuseStream(stream, 502);
    };
    socket.once('error', fail);
    stream.once('close', () => socket.connecting && socket.destroy());
    socket.once('connect', () => {
      socket.off('error', fail);
      if (stream.destroyed) return void socket.destroy();
      joinStream(stream, socket);
    });
  }
}
