/**
 * Assembles kubeconfigs (docs/reference/kubeconfig.md): one cluster's file, or one merged file for many clusters.
 * Pure functions from records to a `Kubeconfig` object; `toYaml` serializes it with the YAML
 * library (never string templates, so names and tokens are always quoted correctly).
 */
import { stringify } from 'yaml';
import { userCredential } from './credentials.js';
import { clusterEndpoints } from './endpoints.js';
import type { CredentialChoice, GatewayEndpoint, Kubeconfig, KubeconfigCluster } from './types.js';

export interface KubeconfigEntry {
  cluster: KubeconfigCluster;
  credential: CredentialChoice;
}

/** Entry names (clusters, contexts and the user) a cluster takes under base name `name`. */
function namesTaken(entry: KubeconfigEntry, gateway: GatewayEndpoint, name: string): string[] {
  return clusterEndpoints(entry.cluster, gateway, name).map((e) => e.name);
}

/** Base names to try for a cluster, in order of preference. */
function* candidateNames(cluster: KubeconfigCluster): Generator<string> {
  yield cluster.name;
  yield `${cluster.name}-${cluster.id}`;
  for (let n = 2; ; n++) yield `${cluster.name}-${cluster.id}-${n}`;
}

/**
 * A base name per entry, unique across the file: the cluster's name, else `<name>-<id>` when
 * another cluster (or another cluster's endpoint entry) already uses it, else a numbered variant.
 */
function uniqueBaseNames(entries: readonly KubeconfigEntry[], gateway: GatewayEndpoint): string[] {
  const taken = new Set<string>();
  return entries.map((entry) => {
    for (const name of candidateNames(entry.cluster)) {
      const names = namesTaken(entry, gateway, name);
      if (names.every((x) => !taken.has(x))) {
        for (const x of names) taken.add(x);
        return name;
      }
    }
    throw new Error('unreachable');
  });
}

/**
 * A kubeconfig holding every entry in order. Each cluster gets its main context, its
 * authorized-endpoint contexts, and one user entry they all share; `current-context` is the first
 * cluster's default context.
 */
export function buildKubeconfig(gateway: GatewayEndpoint, entries: readonly KubeconfigEntry[]): Kubeconfig {
  const config: Kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [],
    users: [],
    contexts: [],
    'current-context': '',
  };
  const baseNames = uniqueBaseNames(entries, gateway);
  let current: string | undefined;
  entries.forEach((entry, i) => {
    const user = baseNames[i]!;
    const endpoints = clusterEndpoints(entry.cluster, gateway, user);
    // The first cluster's default context is the file's: the gateway's, or the first direct one
    // when the cluster says `kubeconfigDefaultContext: direct` (it takes load off the gateway).
    const wantsDirect = entry.cluster.authorizedEndpoint.kubeconfigDefaultContext === 'direct';
    current ??= (wantsDirect ? endpoints.find((e) => e.direct) : undefined)?.name ?? endpoints[0]?.name;
    for (const endpoint of endpoints) {
      const cluster: Kubeconfig['clusters'][number]['cluster'] = { server: endpoint.server };
      if (endpoint.caData !== undefined) cluster['certificate-authority-data'] = endpoint.caData;
      config.clusters.push({ name: endpoint.name, cluster });
      config.contexts.push({ name: endpoint.name, context: { cluster: endpoint.name, user } });
    }
    config.users.push({ name: user, user: userCredential(entry.credential, gateway, entry.cluster.id) });
  });
  config['current-context'] = current ?? '';
  return config;
}

/** The YAML text of a kubeconfig. */
export function toYaml(config: Kubeconfig): string {
  // lineWidth 0: never fold long scalars (base64 CA data, tokens).
  return stringify(config, { lineWidth: 0, minContentWidth: 0 });
}
