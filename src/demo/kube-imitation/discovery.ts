/**
 * Discovery as kube-apiserver 1.32 serves it, built from the catalog: `/version`, legacy
 * discovery (`/api`, `/api/v1`, `/apis`, `/apis/<g>`, `/apis/<g>/<v>`), and aggregated discovery
 * (`Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`), which kubectl
 * asks for first and which answers with that media type as Content-Type.
 */
import { API_GROUPS, RESOURCES, groupVersionString, type ResourceDef } from './catalog.js';
import { parseAccept } from './negotiation.js';
import { jsonReply, type Reply } from './respond.js';
import { pathNotFound } from './status.js';

export const VERSION_INFO = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.4',
  gitCommit: '59526cd4867447956156ae3a602fcbac10a2c335',
  gitTreeState: 'clean',
  buildDate: '2025-04-22T16:02:27Z',
  goVersion: 'go1.23.6',
  compiler: 'gc',
  platform: 'linux/amd64',
};

const legacyResources = (group: string, version: string): unknown[] =>
  RESOURCES.filter((r) => r.group === group && r.version === version).flatMap((r) => [
    {
      name: r.resource,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
      ...(r.categories.length > 0 ? { categories: r.categories } : {}),
    },
    ...r.subresources.map((s) => ({
      name: `${r.resource}/${s.name}`,
      singularName: '',
      namespaced: r.namespaced,
      kind: s.kind,
      verbs: s.verbs,
    })),
  ]);

const aggregatedResource = (r: ResourceDef): unknown => ({
  resource: r.resource,
  responseKind: { group: r.group, version: r.version, kind: r.kind },
  scope: r.namespaced ? 'Namespaced' : 'Cluster',
  singularResource: r.singular,
  verbs: r.verbs,
  ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
  ...(r.categories.length > 0 ? { categories: r.categories } : {}),
  ...(r.subresources.length > 0
    ? {
        subresources: r.subresources.map((s) => ({
          subresource: s.name,
          responseKind: { group: s.kindGroup ?? r.group, version: s.kindVersion ?? r.version, kind: s.kind },
          verbs: s.verbs,
        })),
      }
    : {}),
});

const aggregatedGroup = (group: string, versions: string[]): unknown => ({
  metadata: group ? { name: group, creationTimestamp: null } : { creationTimestamp: null },
  versions: versions.map((version) => ({
    version,
    resources: RESOURCES.filter((r) => r.group === group && r.version === version).map(aggregatedResource),
    freshness: 'Current',
  })),
});

/** The aggregated discovery version the client asked for first, if any, else legacy JSON. */
const aggregatedVersion = (accept: string | undefined): 'v2' | 'v2beta1' | undefined => {
  for (const range of parseAccept(accept)) {
    const { as, g, v } = range.params;
    if (as === 'APIGroupDiscoveryList' && g === 'apidiscovery.k8s.io' && (v === 'v2' || v === 'v2beta1')) return v;
    if (as === undefined && (range.mime === 'application/json' || range.mime === '*/*' || range.mime === 'application/*')) return undefined;
  }
  return undefined;
};

const aggregatedReply = (version: 'v2' | 'v2beta1', items: unknown[]): Reply => ({
  ...jsonReply(200, { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items }, `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`),
  headers: { Vary: 'Accept' },
});

const groupVersionEntry = (group: string, version: string) => ({ groupVersion: groupVersionString(group, version), version });

/** Answers a discovery path, or undefined when `path` is not one. */
export const discoveryReply = (path: string, accept: string | undefined, serverAddress: string): Reply | undefined => {
  const parts = path.split('/').filter((p) => p !== '');
  if (path === '/version') return jsonReply(200, VERSION_INFO);
  if (parts[0] === 'api' && parts.length === 1) {
    const aggregated = aggregatedVersion(accept);
    if (aggregated) return aggregatedReply(aggregated, [aggregatedGroup('', ['v1'])]);
    return jsonReply(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] });
  }
  if (parts[0] === 'api' && parts.length === 2) {
    if (parts[1] !== 'v1') throw pathNotFound();
    return jsonReply(200, { kind: 'APIResourceList', groupVersion: 'v1', resources: legacyResources('', 'v1') });
  }
  if (parts[0] !== 'apis' || parts.length > 3) return undefined;
  if (parts.length === 1) {
    const aggregated = aggregatedVersion(accept);
    if (aggregated) return aggregatedReply(aggregated, API_GROUPS.map((g) => aggregatedGroup(g.name, g.versions)));
    return jsonReply(200, {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: API_GROUPS.map((g) => ({
        name: g.name,
        versions: g.versions.map((v) => groupVersionEntry(g.name, v)),
        preferredVersion: groupVersionEntry(g.name, g.versions[0] ?? ''),
      })),
    });
  }
  const group = API_GROUPS.find((g) => g.name === parts[1]);
  if (!group) throw pathNotFound();
  if (parts.length === 2) {
    return jsonReply(200, {
      kind: 'APIGroup',
      apiVersion: 'v1',
      name: group.name,
      versions: group.versions.map((v) => groupVersionEntry(group.name, v)),
      preferredVersion: groupVersionEntry(group.name, group.versions[0] ?? ''),
    });
  }
  const version = parts[2] ?? '';
  if (!group.versions.includes(version)) throw pathNotFound();
  return jsonReply(200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersionString(group.name, version), resources: legacyResources(group.name, version) });
};
