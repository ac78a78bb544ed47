/**
 * The open streams of this replica (watches, log follows, exec/attach/port-forward tunnels) and
 * whom they run for, so a revocation ends them (SECURITY.md): kube-apiserver keeps a stream
 * open after its credential is revoked; the gateway does not. Every replica hears every
 * revocation (the revocation bus), judges its own streams that it may concern again against the
 * store, and ends those no longer allowed, with an audit line saying why.
 */
import type { UserIdentity } from '../auth/identity.js';
import type { Revocation } from '../auth/revocations.js';
import { principalsOf } from '../store/store.js';

export interface OpenStream {
  user: UserIdentity;
  clusterId: string;
  /** Ends the stream; `why` goes into its closing audit line. */
  end(why: string): void;
}

export class OpenStreams {
  private readonly streams = new Set<OpenStream>();

  /** Registers a stream until the returned function is called (when it closes). */
  add(stream: OpenStream): () => void {
    this.streams.add(stream);
    return () => this.streams.delete(stream);
  }

  get size(): number {
    return this.streams.size;
  }

  /** The streams whose permission `event` may have changed. */
  affectedBy(event: Revocation): OpenStream[] {
    const out: OpenStream[] = [];
    for (const s of this.streams) {
      const u = s.user;
      const hit =
        event.type === 'all' ||
        (event.type === 'token' && u.token.id === event.tokenId) ||
        (event.type === 'user' && u.userId === event.userId) ||
        (event.type === 'cluster' && s.clusterId === event.clusterId) ||
        (event.type === 'principal' && principalsOf(u).includes(event.principal));
      if (hit) out.push(s);
    }
    return out;
  }
}
