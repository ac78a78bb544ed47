/** The servers a cluster's kubeconfig names: the gateway path, then its authorized endpoints (docs/reference/kubeconfig.md). */
import { isIP } from 'node:net';
import type { GatewayEndpoint, KubeconfigCluster } from './types.js';

/** One cluster entry to write: its name, server URL and CA (base64 PEM) when one must be pinned. */
export interface Endpoint {
  name: string;
  server: string;
  caData: string | undefined;
  /** The authorized endpoint's (straight to kube-apiserver), not the gateway's. */
  direct: boolean;
}

const DEFAULT_APISERVER_PORT = 6443;

/** The public URL as written into kubeconfigs and plugin flags: no trailing slash. */
export function publicBase(publicUrl: URL): string {
  return `${publicUrl.origin}${publicUrl.pathname.replace(/\/+$/, '')}`;
}

/** `https://host:port` for a node address: port 6443 unless it has one, IPv6 in brackets. */
export function nodeServerUrl(address: string): string {
  if (isIP(address) === 6) return `https://[${address}]:${DEFAULT_APISERVER_PORT}`;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(address);
  if (bracketed) return `https://[${bracketed[1]}]:${bracketed[2] ?? DEFAULT_APISERVER_PORT}`;
  return /:\d+$/.test(address) ? `https://${address}` : `https://${address}:${DEFAULT_APISERVER_PORT}`;
}

/**
 * The main entry (`<name>` → `<public-url>/k8s/clusters/<id>`) and, when the authorized endpoint is
 * enabled, `<name>-fqdn` or one `<name>-<node>` per control-plane node. `name` defaults to the
 * cluster's name; a merged file passes another when names collide.
 */
export function clusterEndpoints(cluster: KubeconfigCluster, gateway: GatewayEndpoint, name = cluster.name): Endpoint[] {
  const main: Endpoint = {
    name,
    server: `${publicBase(gateway.publicUrl)}/k8s/clusters/${cluster.id}`,
    caData: gateway.caPem === undefined ? undefined : Buffer.from(gateway.caPem, 'utf8').toString('base64'),
    direct: false,
  };
  const ace = cluster.authorizedEndpoint;
  if (!ace.enabled) return [main];
  // The nodes serve kube-apiserver's own certificate: the endpoint CA when given, else the cluster's.
  const caData = ace.caData ?? cluster.caData;
  // An FQDN (a balancer in front of the nodes) takes port 6443 unless it names one, and may have its own CA.
  if (ace.fqdn) return [main, { name: `${name}-fqdn`, server: nodeServerUrl(ace.fqdn), caData: ace.fqdnCaData ?? caData, direct: true }];
  return [main, ...ace.controlPlaneNodes.map((node) => ({ name: `${name}-${node.name}`, server: nodeServerUrl(node.address), caData, direct: true }))];
}
