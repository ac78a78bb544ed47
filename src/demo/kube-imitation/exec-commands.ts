/**
 * The commands a container in the double can run, enough to test streams end to end:
 * `cat` (stdin → stdout until stdin closes), `echo`, `whoami` (the effective username),
 * `true`, `false`, `sleep N`, `sh -c "<one of these>"` and `sh -c "exit N"`.
 */
import type { UserInfo } from './types.js';

export interface ExecIO {
  /** stdin chunks until the client closes stdin (or the connection ends); empty when stdin was not requested. */
  stdin: AsyncIterable<Buffer>;
  stdout(data: string | Buffer): void;
  stderr(data: string | Buffer): void;
  user: UserInfo;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

/** Thrown for a command the container does not have (the runtime's "executable file not found"). */
export class CommandNotFoundError extends Error {
  constructor(readonly command: string) {
    super(`exec: "${command}": executable file not found in $PATH`);
    this.name = 'CommandNotFoundError';
  }
}

type Command = (args: string[], io: ExecIO) => Promise<number>;

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

const COMMANDS: Record<string, Command> = {
  cat: async (_args, io) => {
    for await (const chunk of io.stdin) io.stdout(chunk);
    return 0;
  },
  echo: async (args, io) => {
    io.stdout(`${args.join(' ')}\n`);
    return 0;
  },
  whoami: async (_args, io) => {
    io.stdout(`${io.user.username}\n`);
    return 0;
  },
  true: async () => 0,
  false: async () => 1,
  sleep: async (args, io) => {
    await sleep(Number(args[0] ?? '0') * 1000, io.signal);
    return 0;
  },
  sh: async (args, io) => {
    if (args[0] !== '-c' || args[1] === undefined) throw new CommandNotFoundError('sh');
    const [command = '', ...rest] = args[1].trim().split(/\s+/);
    if (command === 'exit') return Number(rest[0] ?? '0');
    return runCommand([command, ...rest], io);
  },
};

/** Runs a command line; resolves with its exit code. */
export const runCommand = (argv: string[], io: ExecIO): Promise<number> => {
  const [name = '', ...args] = argv;
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) return Promise.reject(new CommandNotFoundError(name));
  return command(args, io);
};
