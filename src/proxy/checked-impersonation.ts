/**
 * Checked impersonation (`kubectl --as`, docs/reference/identity.md): a client's `Impersonate-*`
 * headers are read as kube-apiserver reads them, and each requested user, group, uid and extra
 * is put to the cluster as the user (the gateway impersonating them, with their role groups) in a
 * `SelfSubjectAccessReview` for verb `impersonate`, the check kube-apiserver's impersonation
 * filter makes. Only when the cluster allows every one does the request go on as the requested
 * identity (`Impersonate-*` of it, plus the extra `kubegate.io/impersonated-by`); otherwise it is
 * a 403 naming what was refused. Answers are cached briefly per cluster, user and item.
 */
import type { IncomingMessage } from 'node:http';
import { LRUCache } from 'lru-cache';
import { kubeUserOf } from '../auth/kube-user.js';
import type { UserIdentity } from '../auth/identity.js';
import { badRequest, forbidden, GatewayError, unavailable } from '../errors.js';
import type { ClusterRoute } from '../upstream/cluster-directory.js';
import { impersonationHeaders } from './impersonate.js';

/** The extra that names who asked for the impersonation (the gateway sets it, never a client). */
export const IMPERSONATED_BY_EXTRA = 'kubegate.io/impersonated-by';

const EXTRA_PREFIX = 'impersonate-extra-';
const SERVICE_ACCOUNT = /^system:serviceaccount:([^:]+):([^:]+)$/;

/** What a client asked to act as, with kube-apiserver's reading of the headers. */
export interface RequestedIdentity {
  user: string;
  uid: string | undefined;
  /** One per header line, never split on commas. */
  groups: string[];
  /** Keys lower-cased then percent-decoded. */
  extra: Record<string, string[]>;
}

/** One thing to be allowed: the `impersonate` check's resource attributes, and how a refusal names it. */
interface Item {
  attributes: { group: string; resource: string; subresource?: string; namespace?: string; name: string };
  label: string;
}

const unescape = (key: string): string => {
  try {
    return decodeURIComponent(key);
  } catch {
    return key;
  }
};

/**
 * The client's impersonation request, or undefined when it sent no `Impersonate-*` header.
 * `Impersonate-User` and `-Uid`: the first line; `-Group`: every line; groups, uid or extras
 * without a user are a 400 (kube-apiserver answers 500).
 */
export function requestedIdentity(req: Pick<IncomingMessage, 'rawHeaders'>): RequestedIdentity | undefined {
  const raw = req.rawHeaders;
  let user: string | undefined;
  let uid: string | undefined;
  const groups: string[] = [];
  // Prototype-free: an extra named `constructor` or `__proto__` is an ordinary key.
  const extra = Object.create(null) as Record<string, string[]>;
  let any = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!name.startsWith('impersonate-')) continue;
    any = true;
    const value = raw[i + 1]!;
    if (name === 'impersonate-user') user ??= value;
    else if (name === 'impersonate-uid') uid ??= value;
    else if (name === 'impersonate-group') groups.push(value);
    else if (name.startsWith(EXTRA_PREFIX)) (extra[unescape(name.slice(EXTRA_PREFIX.length))] ??= []).push(value);
    else throw badRequest(`unknown impersonation header ${raw[i]}`);
  }
  if (!any) return undefined;
  if (!user) throw badRequest('impersonating groups, a uid or extras needs Impersonate-User (kubectl --as) too');
  if (Object.hasOwn(extra, IMPERSONATED_BY_EXTRA)) throw forbidden(`the extra ${IMPERSONATED_BY_EXTRA} is set by kubegate only`);
  return { user, uid, groups, extra };
}

/** The items to allow, in kube-apiserver's order: user (or service account), groups, extras, uid. */
function itemsOf(asked: RequestedIdentity): Item[] {
  const items: Item[] = [];
  const sa = SERVICE_ACCOUNT.exec(asked.user);
  items.push(
    sa
      ? { attributes: { group: '', resource: 'serviceaccounts', namespace: sa[1]!, name: sa[2]! }, label: `service account "${sa[1]}/${sa[2]}"` }
      : { attributes: { group: '', resource: 'users', name: asked.user }, label: `user "${asked.user}"` },
  );
  for (const g of asked.groups) items.push({ attributes: { group: '', resource: 'groups', name: g }, label: `group "${g}"` });
  for (const [key, values] of Object.entries(asked.extra)) {
    for (const v of values) items.push({ attributes: { group: 'authentication.k8s.io', resource: 'userextras', subresource: key, name: v }, label: `extra "${key}"="${v}"` });
  }
  if (asked.uid) items.push({ attributes: { group: 'authentication.k8s.io', resource: 'uids', name: asked.uid }, label: `uid "${asked.uid}"` });
  return items;
}

/** The outgoing `Impersonate-*` lines of an allowed request: the requested identity and who asked. */
export function requestedIdentityHeaders(asked: RequestedIdentity, by: UserIdentity): string[] {
  const lines = ['Impersonate-User', asked.user];
  if (asked.uid) lines.push('Impersonate-Uid', asked.uid);
  for (const g of asked.groups) lines.push('Impersonate-Group', g);
  const extra = { ...asked.extra, [IMPERSONATED_BY_EXTRA]: [by.username] };
  for (const [key, values] of Object.entries(extra)) for (const v of values) lines.push(`Impersonate-Extra-${encodeURIComponent(key)}`, v);
  return lines;
}

export interface ImpersonationCheckerOptions {
  /** How long an answer is reused. */
  ttlMs: number;
  maxEntries?: number;
  /** Milliseconds; injectable for tests. */
  clock?: () => number;
}

/** How long the cluster's answer is reused (docs/reference/identity.md). */
export const IMPERSONATION_CACHE_TTL_MS = 5_000;

export class ImpersonationChecker {
  private readonly answers: LRUCache<string, boolean>;

  constructor(options: ImpersonationCheckerOptions) {
    const clock = options.clock ?? Date.now;
    this.answers = new LRUCache({ max: options.maxEntries ?? 10_000, ttl: options.ttlMs, ttlAutopurge: false, perf: { now: clock } });
  }

  /** Resolves when the cluster lets `user` impersonate everything asked; throws the 403 (or 503) otherwise. */
  async check(user: UserIdentity, route: ClusterRoute, asked: RequestedIdentity): Promise<void> {
    const kube = kubeUserOf(user, route.id);
    const who = JSON.stringify([route.id, kube.username, kube.uid, kube.groups]);
    const items = itemsOf(asked);
    const answers = await Promise.all(
      items.map(async (item) => {
        const key = `${who}\0${JSON.stringify(item.attributes)}`;
        const cached = this.answers.get(key);
        if (cached !== undefined) return cached;
        const allowed = await this.ask(user, route, item);
        this.answers.set(key, allowed);
        return allowed;
      }),
    );
    const refused = items.filter((_, i) => !answers[i]).map((item) => item.label);
    if (refused.length > 0) {
      throw forbidden(`cluster "${route.id}" does not allow ${user.username} to impersonate ${refused.join(', ')} (kubectl --as)`);
    }
  }

  /** One SelfSubjectAccessReview, sent as the user. */
  private async ask(user: UserIdentity, route: ClusterRoute, item: Item): Promise<boolean> {
    const review = {
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      spec: { resourceAttributes: { verb: 'impersonate', ...item.attributes } },
    };
    const headers = ['Host', route.host, ...route.credentialHeader, ...impersonationHeaders(user, route.id), 'Content-Type', 'application/json', 'Accept', 'application/json'];
    let status: number;
    let body: string;
    try {
      const res = await route.pool.request({ method: 'POST', path: `${route.basePath}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`, headers, body: JSON.stringify(review) });
      status = res.statusCode;
      body = await res.body.text();
    } catch (err) {
      throw unavailable(`cluster "${route.id}" could not be asked whether impersonation is allowed`, err);
    }
    if (status !== 201 && status !== 200) {
      throw new GatewayError('Forbidden', `cluster "${route.id}" refused to check impersonation for ${user.username} (HTTP ${status})`);
    }
    try {
      return (JSON.parse(body) as { status?: { allowed?: unknown } }).status?.allowed === true;
    } catch {
      throw unavailable(`cluster "${route.id}" answered the impersonation check with something other than JSON`);
    }
  }
}
