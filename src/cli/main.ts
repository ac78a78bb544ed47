/** The `kubegate` CLI: registers commands only; each command lives in its own file. */
import { ConfigError } from '../errors.js';

interface Command {
  summary: string;
  run(argv: string[]): Promise<number | void>;
}

const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./serve.js')).serveCommand,
  token: async () => (await import('./token.js')).tokenCommand,
  webhook: async () => (await import('./webhook.js')).webhookCommand,
  'render webhook-config': async () => (await import('./render-webhook-config.js')).renderWebhookConfigCommand,
  'render kube-api-auth': async () => (await import('./render-kube-api-auth.js')).renderKubeApiAuthCommand,
  'render impersonator': async () => (await import('./render-impersonator.js')).renderImpersonatorCommand,
};

function usage(): string {
  const lines = ['Usage: kubegate <command> [flags]', '', 'Commands:'];
  for (const [name, summary] of Object.entries(SUMMARIES)) lines.push(`  ${name.padEnd(24)} ${summary}`);
  lines.push('', 'Run `kubegate <command> --help` for the flags of a command.');
  return lines.join('\n') + '\n';
}

const SUMMARIES: Record<string, string> = {
  serve: 'run the gateway (HTTPS API, proxy, web UI)',
  token: 'kubectl credential plugin (prints an ExecCredential)',
  webhook: 'run the kube-api-auth TokenReview webhook for one cluster',
  'render webhook-config': 'print the kube-apiserver webhook config (kube-api-authn-webhook.yaml)',
  'render kube-api-auth': 'print the manifests that run the webhook on a cluster',
  'render impersonator': 'print the RBAC and ServiceAccount the gateway impersonates with',
};

/** Runs the CLI; bad usage or config exits 2 with one line on stderr. */
export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return;
  }
  // `render webhook-config` and friends: two words make one command.
  const key = name === 'render' && rest[0] && !rest[0].startsWith('-') ? `render ${rest.shift()}` : name;
  const load = COMMANDS[key];
  if (!load) {
    process.stderr.write(`kubegate: unknown command "${key}" (see kubegate --help)\n`);
    process.exit(2);
  }
  try {
    const code = await (await load()).run(rest);
    if (typeof code === 'number') process.exitCode = code;
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
