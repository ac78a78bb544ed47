/**
 * `kubegate token`: the kubectl credential plugin (SPEC §6). Reads its flags and environment here,
 * once, and prints only the ExecCredential JSON on stdout; failures are one line on stderr.
 *
 * Kept light on purpose: kubectl runs it before every command, so this module and what it
 * imports use Node built-ins only (no express, no database, no x509 library).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { isatty } from 'node:tty';
import { parseArgs } from 'node:util';
import { execCredentialJson, parseExecInfo } from '../credential-plugin/exec-credential.js';
import { PluginError } from '../credential-plugin/plugin-error.js';
import { logout, obtainCredential } from '../credential-plugin/plugin.js';

const HELP = `Usage: kubegate token --server URL --cluster ID
       kubegate token --logout [--server URL [--cluster ID]]

kubectl credential plugin (client.authentication.k8s.io v1 and v1beta1): prints an ExecCredential
holding a token scoped to the cluster, from the cache or from a login at the gateway.

Flags:
  --server URL    the gateway's public URL
  --cluster ID    the cluster id
  --logout        revoke and forget cached credentials (all, one gateway's, or one cluster's)

Environment:
  KUBEGATE_USERNAME, KUBEGATE_PASSWORD  log in with these (else ask on the terminal when kubectl has one)
  KUBEGATE_GATEWAY_CA_DATA              the gateway CA, base64 PEM (else the system CAs)
  KUBEGATE_CONFIG_DIR                   where credentials are cached (default ~/.kubegate)
  KUBERNETES_EXEC_INFO                  set by kubectl
`;

const CLUSTER_ID = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

interface TokenFlags {
  server: string | undefined;
  cluster: string | undefined;
  logout: boolean;
  help: boolean;
}

function parseFlags(argv: string[]): TokenFlags {
  try {
    const { values } = parseArgs({
      args: argv,
      options: { server: { type: 'string' }, cluster: { type: 'string' }, logout: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
    return { server: values.server, cluster: values.cluster, logout: values.logout ?? false, help: values.help ?? false };
  } catch (err) {
    throw new PluginError((err as Error).message.split('\n')[0]!, 2);
  }
}

/** The gateway URL as the kubeconfig writes it: http(s), no trailing slash, query or credentials. */
function parseServer(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PluginError(`--server: "${raw}" is not a URL`, 2);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash || url.username || url.password) {
    throw new PluginError(`--server: must be an https:// URL without query or credentials`, 2);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function parseCluster(raw: string): string {
  if (!CLUSTER_ID.test(raw)) throw new PluginError(`--cluster: "${raw}" is not a cluster id (a DNS-1123 label)`, 2);
  return raw;
}

function parseCaData(raw: string | undefined): string | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const pem = Buffer.from(raw.trim(), 'base64').toString('utf8');
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new PluginError('KUBEGATE_GATEWAY_CA_DATA: must be base64 of a PEM certificate', 2);
  return raw.trim();
}

async function run(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const flags = parseFlags(argv);
  if (flags.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const configDir = env.KUBEGATE_CONFIG_DIR || join(homedir(), '.kubegate');
  const server = flags.server === undefined ? undefined : parseServer(flags.server);
  const clusterId = flags.cluster === undefined ? undefined : parseCluster(flags.cluster);

  if (flags.logout) {
    if (clusterId !== undefined && server === undefined) throw new PluginError('--logout --cluster needs --server too', 2);
    const { removed, revoked } = await logout({ configDir, server, clusterId });
    process.stderr.write(`kubegate token: forgot ${removed} cached credential${removed === 1 ? '' : 's'} (${revoked} revoked at the gateway)\n`);
    return 0;
  }
  if (server === undefined || clusterId === undefined) throw new PluginError('--server and --cluster are required (see kubegate token --help)', 2);

  const info = parseExecInfo(env.KUBERNETES_EXEC_INFO, isatty(0));
  const credential = await obtainCredential({
    server,
    clusterId,
    configDir,
    caData: parseCaData(env.KUBEGATE_GATEWAY_CA_DATA),
    username: env.KUBEGATE_USERNAME || undefined,
    password: env.KUBEGATE_PASSWORD || undefined,
    interactive: info.interactive,
  });
  process.stdout.write(execCredentialJson(info.apiVersion, credential.token, credential.expiresAt));
  return 0;
}

export const tokenCommand = {
  summary: 'kubectl credential plugin (prints an ExecCredential)',
  async run(argv: string[]): Promise<number> {
    try {
      return await run(argv, process.env);
    } catch (err) {
      // kubectl shows the plugin's stderr as is: one line, no stack.
      process.stderr.write(`kubegate token: ${(err as Error).message.split('\n')[0]}\n`);
      return err instanceof PluginError ? err.exitCode : 1;
    }
  },
};
