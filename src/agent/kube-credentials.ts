/**
 * The agent's view of its kube-apiserver: the URL, the CA and its ServiceAccount token, as the
 * state it sends the gateway. The kubelet rotates a projected token (and may update the CA) by
 * swapping the mounted files; the agent re-reads them on a short period and tells the gateway
 * when anything changed, so the gateway never holds an expired token.
 */
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { packageVersion } from '../render/documents.js';
import type { AgentState } from '../tunnel/protocol.js';

/** How often the mounted files are read again (the kubelet refreshes a token well before it expires). */
export const REREAD_MS = 10_000;

export class KubeCredentials extends EventEmitter<{ change: [AgentState] }> {
  private current: AgentState | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly files: { kubeApi: URL; kubeTokenFile: string; kubeCaFile: string },
    private readonly log: Logger,
    private readonly rereadMs = REREAD_MS,
  ) {
    super();
  }

  /** Reads the files the first time (throws if they cannot be read), then keeps them fresh. */
  async start(): Promise<AgentState> {
    this.current = await this.read();
    this.timer = setInterval(() => void this.refresh(), this.rereadMs).unref();
    return this.current;
  }

  get state(): AgentState {
    if (!this.current) throw new Error('not started');
    return this.current;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async read(): Promise<AgentState> {
    const [token, ca] = await Promise.all([readFile(this.files.kubeTokenFile, 'utf8'), readFile(this.files.kubeCaFile, 'utf8')]);
    return { server: this.files.kubeApi.href.replace(/\/$/, ''), caData: Buffer.from(ca).toString('base64'), token: token.trim(), version: packageVersion() };
  }

  private async refresh(): Promise<void> {
    try {
      const next = await this.read();
      if (next.token === this.current?.token && next.caData === this.current.caData) return;
      this.current = next;
      this.log.info('the ServiceAccount token or CA changed; telling the gateway');
      this.emit('change', next);
    } catch (err) {
      // Mid-swap the kubelet's files may be missing for an instant: keep the last good ones.
      this.log.warn({ err: (err as NodeJS.ErrnoException).code ?? (err as Error).message }, 'could not re-read the ServiceAccount token or CA');
    }
  }
}
