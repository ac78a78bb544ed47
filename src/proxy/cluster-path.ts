/** Stage: splits `/k8s/clusters/<id>/<kube path>?<query>` into the cluster id and the upstream path. */
import { isDnsLabel } from '../config/values.js';
import { badRequest } from '../errors.js';

export const PROXY_PREFIX = '/k8s/clusters/';
// Dot segments, raw or percent-encoded, could climb out of a cluster's base path.
const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)/i;

export interface ProxyTarget {
  clusterId: string;
  /** The kube path and query exactly as received, starting with `/`. */
  path: string;
}

/** Parses a raw request URL under `PROXY_PREFIX`; throws 400 for malformed ids or paths. */
export function parseClusterPath(rawUrl: string): ProxyTarget {
  const rest = rawUrl.slice(PROXY_PREFIX.length);
  const end = rest.search(/[/?]/);
  const clusterId = end === -1 ? rest : rest.slice(0, end);
  if (!isDnsLabel(clusterId)) throw badRequest('invalid cluster id in path');
  let path = end === -1 ? '/' : rest.slice(end);
  if (path.startsWith('?')) path = `/${path}`;
  const q = path.indexOf('?');
  const pathname = q === -1 ? path : path.slice(0, q);
  if (DOT_SEGMENT.test(pathname) || /%2f|%5c|\\/i.test(pathname)) throw badRequest('invalid path: dot segments and encoded slashes are refused');
  return { clusterId, path: q !== -1 && /access(?:_|%5f)token/i.test(path) ? withoutAccessToken(pathname, path.slice(q + 1)) : path };
}

/**
 * Drops every `access_token` query parameter (any case, encoded or not): a bearer token in the
 * URL is a credential of the client's, and must not reach a cluster that might honour it.
 */
function withoutAccessToken(pathname: string, query: string): string {
  const kept = query.split('&').filter((p) => {
    const name = p.split('=', 1)[0]!;
    let decoded = name;
    try {
      decoded = decodeURIComponent(name.replace(/\+/g, ' '));
    } catch {
      // A malformed escape is kept as written; it is not `access_token`.
    }
    return decoded.toLowerCase() !== 'access_token';
  });
  return kept.length > 0 ? `${pathname}?${kept.join('&')}` : pathname;
}
