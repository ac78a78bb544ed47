/**
 * The client.authentication.k8s.io protocol between kubectl and `kubegate token`: what kubectl
 * tells the plugin in `KUBERNETES_EXEC_INFO`, and the `ExecCredential` the plugin prints.
 */
import { PluginError } from './plugin-error.js';

const GROUP = 'client.authentication.k8s.io';
export const SUPPORTED_VERSIONS = [`${GROUP}/v1`, `${GROUP}/v1beta1`] as const;
export type ExecApiVersion = (typeof SUPPORTED_VERSIONS)[number];

export interface ExecInfo {
  apiVersion: ExecApiVersion;
  /** True when kubectl handed the plugin its terminal (`interactiveMode: IfAvailable` and a TTY). */
  interactive: boolean;
}

/**
 * Reads `KUBERNETES_EXEC_INFO`. Without it (the plugin run by hand) the answer is `v1`, and
 * interactive when stdin is a terminal.
 */
export function parseExecInfo(raw: string | undefined, stdinIsTty: boolean): ExecInfo {
  if (raw === undefined || raw.trim() === '') return { apiVersion: `${GROUP}/v1`, interactive: stdinIsTty };
  let info: { apiVersion?: unknown; spec?: { interactive?: unknown } };
  try {
    info = JSON.parse(raw) as typeof info;
  } catch {
    throw new PluginError('KUBERNETES_EXEC_INFO is not valid JSON', 2);
  }
  const apiVersion = info?.apiVersion;
  if (!SUPPORTED_VERSIONS.includes(apiVersion as ExecApiVersion)) {
    throw new PluginError(`KUBERNETES_EXEC_INFO asks for apiVersion ${JSON.stringify(apiVersion)}; supported: ${SUPPORTED_VERSIONS.join(', ')}`, 2);
  }
  return { apiVersion: apiVersion as ExecApiVersion, interactive: info.spec?.interactive === true };
}

/** The ExecCredential JSON kubectl reads from stdout (RFC 3339 expiry, whole seconds). */
export function execCredentialJson(apiVersion: ExecApiVersion, token: string, expiresAt: Date): string {
  const expirationTimestamp = expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return JSON.stringify({ apiVersion, kind: 'ExecCredential', status: { token, expirationTimestamp } }) + '\n';
}
