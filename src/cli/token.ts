/**
 * `kubegate token`: the kubectl credential plugin (docs/reference/kubeconfig.md). Reads its flags
 * and environment here, once, and prints only the ExecCredential JSON on stdout; failures are one
 * line on stderr.
 *
 * Kept light on purpose: kubectl runs it before every command, so this module and what it
 * imports use Node built-ins only (no express, no database, no x509 library).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { isatty } from 'node:tty';
import { defineCommand, readSettings } from '../config/settings.js';
import { parseBaseUrl, parseClusterId, parsePath } from '../config/values.js';
import { execCredentialJson, parseExecInfo } from '../credential-plugin/exec-credential.js';
import { PluginError } from '../credential-plugin/plugin-error.js';
import { logout, obtainCredential } from '../credential-plugin/plugin.js';
import { ConfigError } from '../errors.js';

/** The gateway URL as the kubeconfig writes it: http(s), no trailing slash, query or credentials. */
function parseServer(name: string, raw: string): string {
  return parseBaseUrl(name, raw).href.replace(/\/$/, '');
}

/** `8000,18000`: ports for the loopback redirect, tried in order; 0 is any free port. */
function parsePorts(name: string, raw: string): number[] {
  const ports = raw.split(',').map((p) => p.trim());
  if (!ports.every((p) => /^\d{1,5}$/.test(p) && Number(p) <= 65535)) throw new ConfigError(`${name}: "${raw}" is not a comma-separated list of ports`);
  return ports.map(Number);
}

function parseCaData(name: string, raw: string): string {
  const pem = Buffer.from(raw.trim(), 'base64').toString('utf8');
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`${name}: must be base64 of a PEM certificate`);
  return raw.trim();
}

export const spec = defineCommand({
  name: 'token',
  usage: ['token --server URL --cluster ID', 'token --logout [--server URL [--cluster ID]]'],
  description: [
    'kubectl credential plugin (client.authentication.k8s.io v1 and v1beta1): prints an ExecCredential',
    'holding a token scoped to the cluster, from the cache or from a login at the gateway.',
  ].join('\n'),
  settings: {
    server: { flag: 'server', help: "the gateway's public URL", parse: parseServer },
    cluster: { flag: 'cluster', help: 'the cluster id', parse: parseClusterId },
    logout: { flag: 'logout', boolean: true, help: 'revoke and forget cached credentials (all, one gateway\'s, or one cluster\'s)' },
    username: { env: 'KUBEGATE_USERNAME', help: 'log in as this user with a password (else single sign-on when the gateway offers it, else ask on the terminal)' },
    password: { env: 'KUBEGATE_PASSWORD', help: 'and with this password' },
    caData: { env: 'KUBEGATE_GATEWAY_CA_DATA', help: 'the gateway CA, base64 PEM (else the system CAs)', parse: parseCaData },
    configDir: { env: 'KUBEGATE_CONFIG_DIR', help: 'where credentials are cached (default ~/.kubegate)', parse: parsePath },
    browser: { env: 'KUBEGATE_BROWSER', help: 'single sign-on: the command that opens the login page (none: only print its URL)' },
    loopbackPorts: {
      env: 'KUBEGATE_LOOPBACK_PORTS',
      default: '8000,18000',
      help: 'single sign-on without a device flow: ports tried for the redirect to http://127.0.0.1:PORT/callback (0: any)',
      parse: parsePorts,
    },
    execInfo: { env: 'KUBERNETES_EXEC_INFO', help: 'set by kubectl: the ExecCredential version it reads and whether it has a terminal' },
  },
});

async function tokenCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const v = readSettings(spec, argv, env);
  const configDir = v.configDir ?? join(homedir(), '.kubegate');
  if (v.logout) {
    if (v.cluster !== undefined && v.server === undefined) throw new ConfigError('--logout --cluster needs --server too');
    const { removed, revoked, invalid, unreachable } = await logout({ configDir, server: v.server, clusterId: v.cluster });
    // Only what this run revoked counts as revoked (issue 15): tokens that no longer worked, or whose gateway did not answer, are said apart.
    const details = [`${revoked} revoked at the gateway`];
    if (invalid > 0) details.push(`${invalid} no longer valid there`);
    if (unreachable > 0) details.push(`${unreachable} not revoked: the gateway did not answer`);
    process.stderr.write(`kubegate token: forgot ${removed} cached credential${removed === 1 ? '' : 's'} (${details.join(', ')})\n`);
    return 0;
  }
  if (v.server === undefined || v.cluster === undefined) throw new ConfigError("--server and --cluster are required; see 'kubegate token --help'");

  const info = parseExecInfo(v.execInfo, isatty(0));
  const credential = await obtainCredential({
    server: v.server,
    clusterId: v.cluster,
    configDir,
    caData: v.caData,
    username: v.username,
    password: v.password,
    interactive: info.interactive,
    browser: v.browser,
    loopbackPorts: v.loopbackPorts,
    // kubectl runs us directly: our parent is the kubectl process asking (see plugin.ts).
    caller: process.ppid,
  });
  process.stdout.write(execCredentialJson(info.apiVersion, credential.token, credential.expiresAt));
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  try {
    return await tokenCommand(argv, process.env);
  } catch (err) {
    // kubectl shows the plugin's stderr as is: one line, no stack.
    process.stderr.write(`kubegate token: ${(err as Error).message.split('\n')[0]}\n`);
    if (err instanceof ConfigError) return 2;
    return err instanceof PluginError ? err.exitCode : 1;
  }
}
