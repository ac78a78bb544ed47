/**
 * Stage: what does this request do? Classified from its method, path and query the way
 * kube-apiserver's RequestInfoFactory does (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go):
 * whether it is long-running decides how it goes upstream; verb and resource label audit lines
 * and metrics.
 */
export interface RequestInfo {
  verb: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  /** Watches, exec/attach/port-forward, proxies and followed logs: audited at start and end. */
  longRunning: boolean;
}

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);
const LONG_RUNNING_SUBRESOURCES = new Set(['exec', 'attach', 'portforward', 'proxy']);

const isTrue = (value: string | null): boolean => value === 'true' || value === '1';

/** The first value of `name` in a query string, decoded as URLSearchParams (and Go's ParseQuery) would. */
function queryParam(query: string, name: string): string | null {
  if (query === '') return null;
  // Escapes and '+' need the full decoder; plain queries (nearly all) are read without one.
  if (query.includes('%') || query.includes('+')) return new URLSearchParams(query).get(name);
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if ((eq === -1 ? pair : pair.slice(0, eq)) === name) return eq === -1 ? '' : pair.slice(eq + 1);
  }
  return null;
}

/** Parses a kube path (with query) as seen by the cluster. */
export function requestInfo(method: string, pathWithQuery: string): RequestInfo {
  const q = pathWithQuery.indexOf('?');
  const path = q === -1 ? pathWithQuery : pathWithQuery.slice(0, q);
  const query = q === -1 ? '' : pathWithQuery.slice(q + 1);
  const parts = path.split('/').filter(Boolean);
  const info: RequestInfo = { verb: method.toLowerCase(), apiGroup: '', apiVersion: '', resource: '', subresource: '', namespace: '', name: '', longRunning: false };

  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 2) {
    info.apiVersion = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    info.apiGroup = parts[1]!;
    info.apiVersion = parts[2]!;
    rest = parts.slice(3);
  } else {
    return info; // non-resource request (/version, /healthz, discovery): the verb is the method
  }
  if (rest.length === 0) return info; // discovery of a group version

  let watchPrefix = false;
  if (rest[0] === 'watch') {
    // Deprecated /watch/ paths.
    watchPrefix = true;
    rest = rest.slice(1);
  }
  if (rest[0] === 'namespaces' && rest.length >= 2) {
    info.namespace = rest[1]!;
    // `/namespaces/{ns}/status` and `/finalize` are subresources of the namespace itself.
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2]!)) rest = rest.slice(2);
  }
  if (rest.length > 0) {
    info.resource = rest[0] ?? '';
    info.name = rest[1] ?? '';
    info.subresource = rest[2] ?? '';
  }

  const watchParam = queryParam(query, 'watch');
  const watching = watchPrefix || isTrue(watchParam);
  switch (method.toUpperCase()) {
    case 'GET':
    case 'HEAD':
      info.verb = watching ? 'watch' : info.name ? 'get' : 'list';
      break;
    case 'POST':
      info.verb = 'create';
      break;
    case 'PUT':
      info.verb = 'update';
      break;
    case 'PATCH':
      info.verb = 'patch';
      break;
    case 'DELETE':
      info.verb = info.name ? 'delete' : 'deletecollection';
      break;
  }
  const follow = info.subresource === 'log' && isTrue(queryParam(query, 'follow'));
  info.longRunning = info.verb === 'watch' || LONG_RUNNING_SUBRESOURCES.has(info.subresource) || follow;
  return info;
}
