/**
 * kube-apiserver's impersonation filter (apiserver/pkg/endpoints/filters/impersonation.go, v1.32).
 * Wire rules that matter to a proxy in front of it:
 * - `Impersonate-User` and `Impersonate-Uid`: the first header line only (Go's Header.Get);
 * - `Impersonate-Group`: every header line is one group, never split on commas;
 * - `Impersonate-Extra-<key>`: key lower-cased then percent-decoded; every line is one value;
 * - groups/uid/extra without a user: plain-text 500 "requested [...] without impersonating a user";
 * - each requested item is authorized in turn (user first) as verb `impersonate` on users, groups,
 *   serviceaccounts (in their namespace), uids or userextras/<key> (authentication.k8s.io), with
 *   the item as the resource name; the first refusal is a 403 Status;
 * - the new user gets `system:authenticated` unless a group already says (un)authenticated.
 */
import type { IncomingMessage } from 'node:http';
import { PlainTextError, forbidden } from './status.js';
import type { AuthorizationAttributes, UserInfo } from './types.js';

const EXTRA_PREFIX = 'impersonate-extra-';
const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** One thing asked for, as kube-apiserver's `v1.ObjectReference` impersonation request. */
interface ImpersonationRequest {
  kind: 'ServiceAccount' | 'User' | 'Group' | 'UserExtra' | 'UID';
  namespace: string;
  name: string;
  apiVersion: string;
  fieldPath: string;
}

const request = (kind: ImpersonationRequest['kind'], name: string, extra: Partial<ImpersonationRequest> = {}): ImpersonationRequest => ({
  kind,
  namespace: '',
  name,
  apiVersion: '',
  fieldPath: '',
  ...extra,
});

/** Go's `%v` of an ObjectReference, so the 500 body reads exactly like kube-apiserver's. */
const formatRequest = (r: ImpersonationRequest): string => `{${r.kind} ${r.namespace} ${r.name}  ${r.apiVersion}  ${r.fieldPath}}`;

/** serviceaccount.SplitUsername: `system:serviceaccount:<ns>:<name>` with valid names. */
const splitServiceAccount = (username: string): { namespace: string; name: string } | null => {
  if (!username.startsWith(SERVICE_ACCOUNT_PREFIX)) return null;
  const parts = username.slice(SERVICE_ACCOUNT_PREFIX.length).split(':');
  if (parts.length !== 2) return null;
  const [namespace = '', name = ''] = parts;
  if (!DNS_LABEL.test(namespace) || namespace.length > 63) return null;
  if (!DNS_SUBDOMAIN.test(name) || name.length > 253) return null;
  return { namespace, name };
};

/** url.PathUnescape; a malformed escape keeps the key as sent. */
const unescapeExtraKey = (key: string): string => {
  try {
    return decodeURIComponent(key);
  } catch {
    return key;
  }
};

const buildRequests = (req: IncomingMessage): ImpersonationRequest[] => {
  const requests: ImpersonationRequest[] = [];
  const user = req.headersDistinct['impersonate-user']?.[0] ?? '';
  if (user) {
    const sa = splitServiceAccount(user);
    requests.push(sa ? request('ServiceAccount', sa.name, { namespace: sa.namespace }) : request('User', user));
  }
  const groups = req.headersDistinct['impersonate-group'] ?? [];
  for (const group of groups) requests.push(request('Group', group));

  let hasExtra = false;
  for (const [header, values] of Object.entries(req.headersDistinct)) {
    if (!header.startsWith(EXTRA_PREFIX) || !values) continue;
    hasExtra = true;
    const key = unescapeExtraKey(header.slice(EXTRA_PREFIX.length).toLowerCase());
    for (const value of values) requests.push(request('UserExtra', value, { apiVersion: 'authentication.k8s.io/v1', fieldPath: key }));
  }

  const uid = req.headersDistinct['impersonate-uid']?.[0] ?? '';
  if (uid) requests.push(request('UID', uid, { apiVersion: 'authentication.k8s.io/v1' }));

  if ((groups.length > 0 || hasExtra || uid) && !user) {
    const target = JSON.stringify(req.url ?? '/');
    // responsewriters.InternalError HTML-escapes its text (sanitizer), hence &#34; for quotes.
    const text = `Internal Server Error: ${target}: requested [${requests.map(formatRequest).join(' ')}] without impersonating a user`;
    throw new PlainTextError(500, text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&#34;').replaceAll("'", '&#39;'));
  }
  return requests;
};

/** What the authorizer is asked for one impersonation request, and how a refusal names it. */
const attributesOf = (requester: UserInfo, r: ImpersonationRequest): { attributes: AuthorizationAttributes; scope: string } => {
  const ask = (apiGroup: string, resource: string, subresource = '', namespace = ''): AuthorizationAttributes => ({
    user: requester,
    verb: 'impersonate',
    resourceRequest: true,
    apiGroup,
    apiVersion: '',
    resource,
    subresource,
    namespace,
    name: r.name,
    path: '',
  });
  const cluster = 'at the cluster scope';
  switch (r.kind) {
    case 'ServiceAccount':
      return { attributes: ask('', 'serviceaccounts', '', r.namespace), scope: `in the namespace "${r.namespace}"` };
    case 'User':
      return { attributes: ask('', 'users'), scope: cluster };
    case 'Group':
      return { attributes: ask('', 'groups'), scope: cluster };
    case 'UserExtra':
      return { attributes: ask('authentication.k8s.io', 'userextras', r.fieldPath), scope: cluster };
    case 'UID':
      return { attributes: ask('authentication.k8s.io', 'uids'), scope: cluster };
  }
};

/**
 * Returns the identity the request acts as: the requester itself when no `Impersonate-*` header
 * was sent, else the impersonated user. Throws the Status kube-apiserver would answer.
 */
export const impersonate = (req: IncomingMessage, requester: UserInfo, authorize: (attributes: AuthorizationAttributes) => boolean): UserInfo => {
  const requests = buildRequests(req);
  if (requests.length === 0) return requester;

  const groupsSpecified = (req.headersDistinct['impersonate-group'] ?? []).length > 0;
  let username = '';
  let uid = '';
  let groups: string[] = [];
  const extra: Record<string, string[]> = {};

  for (const r of requests) {
    const { attributes, scope } = attributesOf(requester, r);
    if (!authorize(attributes)) {
      const { apiGroup, resource, subresource } = attributes;
      const what = subresource ? `${resource}/${subresource}` : resource;
      const why = `User "${requester.username}" cannot impersonate resource "${what}" in API group "${apiGroup}" ${scope}`;
      throw forbidden({ group: apiGroup, resource }, r.name, why);
    }
    switch (r.kind) {
      case 'ServiceAccount':
        username = `${SERVICE_ACCOUNT_PREFIX}${r.namespace}:${r.name}`;
        if (!groupsSpecified) groups = ['system:serviceaccounts', `system:serviceaccounts:${r.namespace}`];
        break;
      case 'User':
        username = r.name;
        break;
      case 'Group':
        groups.push(r.name);
        break;
      case 'UserExtra':
        (extra[r.fieldPath] ??= []).push(r.name);
        break;
      case 'UID':
        uid = r.name;
        break;
    }
  }

  if (username !== 'system:anonymous') {
    if (!groups.includes('system:authenticated') && !groups.includes('system:unauthenticated')) groups.push('system:authenticated');
  } else if (!groups.includes('system:unauthenticated')) {
    groups.push('system:unauthenticated');
  }
  return { username, uid, groups, extra };
};

