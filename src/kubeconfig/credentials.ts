/** The user entry of a kubeconfig: a scoped token, or the `kubegate token` exec plugin (docs/reference/kubeconfig.md). */
import { publicBase } from './endpoints.js';
import type { ExecConfig, GatewayEndpoint, UserCredential } from './types.js';

export const EXEC_API_VERSION = 'client.authentication.k8s.io/v1';
/** The plugin reads the gateway CA from here (base64 PEM). */
export const GATEWAY_CA_ENV = 'KUBEGATE_GATEWAY_CA_DATA';

/**
 * The exec entry running `kubegate token --server=<public-url> --cluster=<id>`.
 *
 * The gateway CA travels in the entry's env rather than through `provideClusterInfo`: in an
 * authorized-endpoint context the context's CA is the cluster's, not the gateway's, and the
 * plugin always logs in at the gateway.
 */
export function execCredential(gateway: GatewayEndpoint, clusterId: string): ExecConfig {
  const env = gateway.caPem === undefined ? [] : [{ name: GATEWAY_CA_ENV, value: Buffer.from(gateway.caPem, 'utf8').toString('base64') }];
  return {
    apiVersion: EXEC_API_VERSION,
    command: 'kubegate',
    args: ['token', `--server=${publicBase(gateway.publicUrl)}`, `--cluster=${clusterId}`],
    ...(env.length ? { env } : {}),
    interactiveMode: 'IfAvailable',
    provideClusterInfo: false,
    installHint: 'kubegate token is the credential plugin of this kubeconfig: install kubegate and put its bin directory on PATH',
  };
}

/** The `user` of a user entry for a credential choice. */
export function userCredential(choice: { token: string } | 'exec', gateway: GatewayEndpoint, clusterId: string): UserCredential {
  return choice === 'exec' ? { exec: execCredential(gateway, clusterId) } : { token: choice.token };
}
