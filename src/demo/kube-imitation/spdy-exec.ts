/**
 * `pods/<name>/exec` and `attach` over SPDY/3.1, remotecommand `v4.channel.k8s.io`, the way
 * kubectl 1.27–1.29 speaks it (and later versions when WebSocket is refused): after the 101 the
 * client opens one SPDY stream per channel, each named by its `streamtype` header (`error`,
 * `stdin`, `stdout`, `stderr`, `resize` with a TTY); the server accepts each, runs the command
 * once every expected stream is there, sends output on stdout/stderr, then the final
 * `metav1.Status` as JSON on the error stream, and closes them all. An attach is to a container
 * whose process is `cat` (stdin back on stdout).
 */
import type { UpgradeContext } from './context.js';
import { runCommand } from './exec-commands.js';
import { exitStatusFor, StdinQueue, type ExecRequest } from './exec.js';
import { sendSwitchingProtocols } from './respond.js';
import { SpdyConnection } from './spdy-framing.js';

/** The remotecommand version served over SPDY (kubectl offers it first). */
export const SPDY_EXEC_PROTOCOL = 'v4.channel.k8s.io';

/** Serves one SPDY exec (or attach) session. */
export const serveSpdyExec = (ctx: UpgradeContext, exec: ExecRequest, tty: boolean): void => {
  const { socket, head, record } = ctx;
  sendSwitchingProtocols(socket, record, [
    ['Connection', 'Upgrade'],
    ['Upgrade', 'SPDY/3.1'],
    ['X-Stream-Protocol-Version', SPDY_EXEC_PROTOCOL],
  ]);
  const expected = new Set(['error', ...(exec.stdin ? ['stdin'] : []), ...(exec.stdout ? ['stdout'] : []), ...(exec.stderr && !tty ? ['stderr'] : [])]);
  const ids = new Map<string, number>();
  const stdin = new StdinQueue();
  if (!exec.stdin) stdin.close();
  const aborter = new AbortController();
  let started = false;
  const untrack = ctx.streams.open(() => socket.destroy());

  const conn = new SpdyConnection(socket, {
    onStream(id, headers) {
      conn.reply(id);
      const type = headers.streamtype ?? '';
      ids.set(type, id);
      if (!started && [...expected].every((t) => ids.has(t))) {
        started = true;
        void run();
      }
    },
    onData(id, data, fin) {
      if (id !== ids.get('stdin')) return; // resize and anything else: nothing to do for a fake process
      stdin.push(data);
      if (fin) stdin.close();
    },
    onClose() {
      stdin.close();
      aborter.abort();
      untrack();
    },
  });
  if (head.length > 0) conn.receive(head);

  const send = (type: string, data: string | Buffer): void => {
    const id = ids.get(type);
    if (id !== undefined) conn.data(id, typeof data === 'string' ? Buffer.from(data) : data);
  };
  const run = async (): Promise<void> => {
    const io = {
      stdin,
      stdout: (data: string | Buffer) => exec.stdout && send('stdout', data),
      stderr: (data: string | Buffer) => exec.stderr && send(tty ? 'stdout' : 'stderr', data),
      user: ctx.user,
      signal: aborter.signal,
    };
    const outcome = await runCommand(exec.command, io).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
    for (const type of ['stdout', 'stderr']) {
      const id = ids.get(type);
      if (id !== undefined) conn.data(id, Buffer.alloc(0), true);
    }
    conn.data(ids.get('error')!, Buffer.from(JSON.stringify(exitStatusFor(exec.command, outcome))), true);
    conn.close();
  };
};
