/**
 * The kubeconfig shape kubectl reads (client-go `clientcmd/api/v1.Config`), with field names as
 * serialized, and the inputs generation needs. Only the fields kubegate writes are modelled.
 */
import type { AuthorizedEndpoint } from '../store/store.js';

export interface NamedCluster {
  name: string;
  cluster: { server: string; 'certificate-authority-data'?: string };
}

/** client-go `ExecConfig` (client.authentication.k8s.io/v1). */
export interface ExecConfig {
  apiVersion: string;
  command: string;
  args: string[];
  env?: Array<{ name: string; value: string }>;
  interactiveMode: 'Never' | 'IfAvailable' | 'Always';
  provideClusterInfo: boolean;
  installHint?: string;
}

export type UserCredential = { token: string } | { exec: ExecConfig };

export interface NamedUser {
  name: string;
  user: UserCredential;
}

export interface NamedContext {
  name: string;
  context: { cluster: string; user: string };
}

export interface Kubeconfig {
  apiVersion: 'v1';
  kind: 'Config';
  preferences: Record<string, never>;
  clusters: NamedCluster[];
  users: NamedUser[];
  contexts: NamedContext[];
  'current-context': string;
}

/** Where kubectl reaches the gateway, and the CA it must trust for it. */
export interface GatewayEndpoint {
  publicUrl: URL;
  /** The gateway CA (PEM); undefined when its certificate is publicly trusted. */
  caPem: string | undefined;
}

/** The parts of a cluster record a kubeconfig is made from (never its credential). */
export interface KubeconfigCluster {
  id: string;
  name: string;
  /** Base64 PEM of the cluster's own CA: the fallback CA of its control-plane nodes. */
  caData?: string | undefined;
  authorizedEndpoint: AuthorizedEndpoint;
}

/** How the user entry authenticates: a scoped token, or the `kubegate token` plugin. */
export type CredentialChoice = { token: string } | 'exec';
