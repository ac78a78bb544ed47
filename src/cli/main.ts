/**
 * The `kubegate` CLI: registers commands only; each command lives in its own file, loaded when
 * run (so `kubegate token` loads nothing it does not need). This table holds each command's
 * one-line summary; its usage and flags are its settings table (`config/settings.ts`).
 */
import { commandHelp, wantsHelp, type CommandSpec } from '../config/settings.js';
import { ConfigError } from '../errors.js';

/** What a command module exports. */
export interface CommandModule {
  spec: CommandSpec;
  /** Runs the command; its exit status. */
  run(argv: string[]): Promise<number>;
}

interface Entry {
  summary: string;
  load(): Promise<CommandModule>;
}

export const COMMANDS: Record<string, Entry> = {
  serve: { summary: 'run the gateway (HTTPS API, proxy, web UI)', load: () => import('./serve.js') },
  demo: { summary: 'try kubegate on this machine: the gateway, a kube-apiserver imitation, kubectl on both doors', load: () => import('./demo.js') },
  token: { summary: 'kubectl credential plugin (prints an ExecCredential)', load: () => import('./token.js') },
  webhook: { summary: 'run the kube-api-auth TokenReview webhook for one cluster', load: () => import('./webhook.js') },
  agent: { summary: 'connect this cluster to the gateway (run inside the cluster)', load: () => import('./agent.js') },
  'cluster add': { summary: 'import a cluster kubectl can reach: impersonator (or agent) manifests, then registration', load: () => import('./cluster-add.js') },
  'render webhook-config': {
    summary: 'print the kube-apiserver webhook config (kube-api-authn-webhook.yaml)',
    load: () => import('./render-webhook-config.js'),
  },
  'render kube-api-auth': { summary: 'print the manifests that run the webhook on a cluster', load: () => import('./render-kube-api-auth.js') },
  'render agent': { summary: "print the manifests that run a cluster's agent", load: () => import('./render-agent.js') },
  'render impersonator': { summary: 'print the RBAC and ServiceAccount the gateway impersonates with', load: () => import('./render-impersonator.js') },
  'render rbac': { summary: "print the ClusterRoleBindings that give kubegate's roles their ClusterRoles", load: () => import('./render-rbac.js') },
};

/** `kubegate render` (or `cluster`) alone: the subcommands it has, on stderr (exit 2). */
function subcommands(group: string): string {
  const lines = [`kubegate ${group}: give a subcommand:`];
  for (const [name, entry] of Object.entries(COMMANDS)) if (name.startsWith(`${group} `)) lines.push(`  kubegate ${name.padEnd(24)} ${entry.summary}`);
  return lines.join('\n') + '\n';
}

/** The version in package.json (dist/cli/ and src/cli/ both sit two levels below it). */
async function version(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return (JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

function usage(): string {
  const lines = ['Usage: kubegate <command> [flags]', '', 'Commands:'];
  for (const [name, entry] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(24)} ${entry.summary}`);
  lines.push('', 'Run `kubegate <command> --help` for the flags of a command; `kubegate --version` for the version.');
  return lines.join('\n') + '\n';
}

/** Runs the CLI; bad usage or config exits 2 with one line on stderr. */
export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write(`kubegate ${await version()}\n`);
    return;
  }
  // `render webhook-config`, `cluster add` and friends: two words make one command.
  const key = (name === 'render' || name === 'cluster') && rest[0] && !rest[0].startsWith('-') ? `${name} ${rest.shift()}` : name;
  const entry = COMMANDS[key];
  if (!entry && (key === 'render' || key === 'cluster')) {
    process.stderr.write(subcommands(key));
    process.exit(2);
  }
  if (!entry) {
    process.stderr.write(`kubegate: unknown command "${key}" (see kubegate --help)\n`);
    process.exit(2);
  }
  try {
    const command = await entry.load();
    if (wantsHelp(rest)) {
      process.stdout.write(commandHelp(command.spec));
      return;
    }
    process.exitCode = await command.run(rest);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`kubegate ${key}: ${err.message}\n`);
      // Not process.exit(): an audit/log file still being opened would throw from pino's exit hook,
      // printing a stack after our one line. Let the loop drain; force the exit if something holds it.
      process.exitCode = 2;
      setTimeout(() => process.exit(2), 1_000).unref();
      return;
    }
    throw err;
  }
}
