/**
 * Parses a request path the way kube-apiserver's RequestInfoFactory does: resource requests
 * under `/api/v1` and `/apis/<group>/<version>` get a verb, namespace, resource, name and
 * subresource; everything else is a non-resource request (discovery, `/version`, ...).
 */
import type { IncomingMessage } from 'node:http';

export interface RequestInfo {
  path: string;
  query: URLSearchParams;
  resourceRequest: boolean;
  verb: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  name: string;
  subresource: string;
}

// Subresources of a namespace object itself, not resources inside the namespace.
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

const isWatch = (query: URLSearchParams): boolean => {
  const value = query.get('watch');
  return value === 'true' || value === '1';
};

export const parseRequestInfo = (req: IncomingMessage): RequestInfo => {
  const url = new URL(req.url ?? '/', 'https://kube-double.invalid');
  const method = req.method ?? 'GET';
  const info: RequestInfo = {
    path: url.pathname,
    query: url.searchParams,
    resourceRequest: false,
    verb: method.toLowerCase(),
    apiGroup: '',
    apiVersion: '',
    namespace: '',
    resource: '',
    name: '',
    subresource: '',
  };

  let parts = url.pathname.split('/').filter((part) => part !== '').map(decodeURIComponent);
  if (parts[0] === 'api') {
    if (parts.length < 2) return info;
    info.apiVersion = parts[1] ?? '';
    parts = parts.slice(2);
  } else if (parts[0] === 'apis') {
    if (parts.length < 3) return info;
    info.apiGroup = parts[1] ?? '';
    info.apiVersion = parts[2] ?? '';
    parts = parts.slice(3);
  } else {
    return info;
  }
  if (parts.length === 0) return info; // the group-version discovery document

  info.resourceRequest = true;
  // The deprecated `/api/v1/watch/...` form.
  let watchPath = false;
  if (parts[0] === 'watch') {
    watchPath = true;
    parts = parts.slice(1);
  }

  if (parts[0] === 'namespaces' && parts.length > 1) {
    info.namespace = parts[1] ?? '';
    if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2] ?? '')) parts = parts.slice(2);
  }
  info.resource = parts[0] ?? '';
  info.name = parts[1] ?? '';
  info.subresource = parts[2] ?? '';

  switch (method) {
    case 'POST':
      info.verb = 'create';
      break;
    case 'GET':
    case 'HEAD':
      info.verb = 'get';
      break;
    case 'PUT':
      info.verb = 'update';
      break;
    case 'PATCH':
      info.verb = 'patch';
      break;
    case 'DELETE':
      info.verb = 'delete';
      break;
  }
  if (watchPath || (info.verb === 'get' && isWatch(info.query))) info.verb = 'watch';
  if (info.verb === 'get' && !info.name) info.verb = 'list';
  if (info.verb === 'delete' && !info.name) info.verb = 'deletecollection';
  return info;
};
