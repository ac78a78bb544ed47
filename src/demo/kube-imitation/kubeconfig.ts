/**
 * Writes the kubeconfig tests hand to kubectl (`--kubeconfig <file>`): one cluster, one user
 * (bearer token and/or client certificate), one context, made current.
 */
import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';

export interface KubeconfigOptions {
  server: string;
  caPem: string;
  token?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
  /** Default namespace of the context. */
  namespace?: string;
  /** Name of the cluster, user and context entries. Default `kube-double`. */
  name?: string;
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** The kubeconfig as YAML text. */
export const renderKubeconfig = (options: KubeconfigOptions): string => {
  const name = options.name ?? 'kube-double';
  const user: Record<string, string> = {};
  if (options.token !== undefined) user.token = options.token;
  if (options.clientCertPem !== undefined) user['client-certificate-data'] = b64(options.clientCertPem);
  if (options.clientKeyPem !== undefined) user['client-key-data'] = b64(options.clientKeyPem);
  const context: Record<string, string> = { cluster: name, user: name };
  if (options.namespace !== undefined) context.namespace = options.namespace;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: options.server, 'certificate-authority-data': b64(options.caPem) } }],
    users: [{ name, user }],
    contexts: [{ name, context }],
    'current-context': name,
    preferences: {},
  });
};

/** Writes the kubeconfig to `path`, readable by its owner only (it holds a credential). */
export async function writeKubeconfig(path: string, options: KubeconfigOptions): Promise<void> {
  await writeFile(path, renderKubeconfig(options), { mode: 0o600 });
}
