/**
 * CRUD on stored resources (namespaces, configmaps, pods), answering as kube-apiserver's generic
 * registry does: typed lists with `metadata.resourceVersion`, list items without type meta,
 * `limit`/`continue` paging, Table output for kubectl, 201 on create, a Success Status when a
 * configmap is deleted, and namespace deletion taking its contents with it.
 */
import { admit } from './admission.js';
import { findResource, groupVersionString, withoutTypeMeta as untyped, withTypeMeta as typed, type ResourceDef } from './catalog.js';
import type { HttpContext } from './context.js';
import { mergePatch } from './merge-patch.js';
import { decodeBody, encodeObject, negotiateOutput, type OutputFormat } from './negotiation.js';
import { send } from './respond.js';
import { selectorFilter } from './selectors.js';
import { afterSecretCreated } from './service-account-tokens.js';
import { badRequest, conflict, methodNotAllowed, notFound, pathNotFound, successStatus, unsupportedMediaType } from './status.js';
import { kubeTimestamp } from './store.js';
import { includeObjectParam, toTable } from './table.js';
import type { KubeObject } from './types.js';
import { serveWatch } from './watch.js';

const NAMESPACES = { group: '', resource: 'namespaces' };

const reply = (ctx: HttpContext, format: OutputFormat, status: number, value: unknown, warnings: string[] = []): void => {
  const answer = encodeObject(format, status, value);
  // One `Warning` line per warning, as Go's Header().Add writes them.
  if (warnings.length > 0) answer.headers = { ...answer.headers, Warning: warnings };
  send(ctx.res, ctx.record, answer);
};

const replyObject = (ctx: HttpContext, def: ResourceDef, status: number, object: KubeObject, warnings: string[] = []): void => {
  const format = negotiateOutput(ctx.req.headers.accept, true);
  const value =
    format.type === 'table'
      ? toTable(def.kind, [typed(def, object)], {
          apiVersion: format.apiVersion,
          includeObject: includeObjectParam(ctx.info.query),
          resourceVersion: object.metadata.resourceVersion ?? '',
        })
      : typed(def, object);
  reply(ctx, format, status, value, warnings);
};

interface ContinueToken {
  rv: number;
  start: string;
}

const keyOf = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

/** `limit` / `continue` paging over a list already in key order. */
const paginate = (items: KubeObject[], query: URLSearchParams, revision: number) => {
  const token = query.get('continue');
  let listRevision = revision;
  let rest = items;
  if (token) {
    let parsed: ContinueToken;
    try {
      parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as ContinueToken;
    } catch {
      throw badRequest('continue key is not valid: illegal base64 data');
    }
    listRevision = parsed.rv;
    rest = items.filter((o) => keyOf(o) > parsed.start);
  }
  const limit = Number(query.get('limit') ?? '0');
  if (!Number.isInteger(limit) || limit <= 0 || rest.length <= limit) return { page: rest, listRevision };
  const page = rest.slice(0, limit);
  const last = page.at(-1);
  const next: ContinueToken = { rv: listRevision, start: last ? keyOf(last) : '' };
  return {
    page,
    listRevision,
    continueToken: Buffer.from(JSON.stringify(next)).toString('base64url'),
    remainingItemCount: rest.length - limit,
  };
};

const list = (ctx: HttpContext, def: ResourceDef): void => {
  const format = negotiateOutput(ctx.req.headers.accept, true);
  const filter = selectorFilter(ctx.info.query);
  const all = ctx.store.list(def, def.namespaced ? ctx.info.namespace : undefined).filter(filter);
  const { page, listRevision, continueToken, remainingItemCount } = paginate(all, ctx.info.query, ctx.store.currentRevision());
  if (format.type === 'table') {
    const table = toTable(def.kind, page.map((o) => typed(def, o)), {
      apiVersion: format.apiVersion,
      includeObject: includeObjectParam(ctx.info.query),
      resourceVersion: String(listRevision),
      ...(continueToken ? { continueToken } : {}),
    });
    reply(ctx, format, 200, table);
    return;
  }
  const metadata: Record<string, unknown> = { resourceVersion: String(listRevision) };
  if (continueToken) {
    metadata.continue = continueToken;
    metadata.remainingItemCount = remainingItemCount;
  }
  reply(ctx, format, 200, { kind: def.listKind, apiVersion: groupVersionString(def.group, def.version), metadata, items: page.map(untyped) });
};

const requireNamespace = (ctx: HttpContext, def: ResourceDef): void => {
  if (def.namespaced && !ctx.store.has(NAMESPACES, '', ctx.info.namespace)) throw notFound(NAMESPACES, ctx.info.namespace);
};

const isDryRun = (ctx: HttpContext): boolean => ctx.info.query.getAll('dryRun').includes('All');

const create = (ctx: HttpContext, def: ResourceDef): void => {
  const { object, warnings } = admit(def, decodeBody(ctx.req.headers['content-type'], ctx.body), ctx.info.namespace, ctx.info.query);
  requireNamespace(ctx, def);
  if (def.resource === 'namespaces') {
    object.metadata.labels = { ...object.metadata.labels, 'kubernetes.io/metadata.name': object.metadata.name ?? '' };
    object.spec = { finalizers: ['kubernetes'] };
    object.status = { phase: 'Active' };
  }
  if (def.resource === 'pods' && object.status === undefined) object.status = { phase: 'Pending', qosClass: 'BestEffort' };
  delete object.metadata.resourceVersion;
  if (isDryRun(ctx)) {
    if (ctx.store.has(def, ctx.info.namespace, object.metadata.name ?? '')) ctx.store.create(def, object); // throws AlreadyExists
    replyObject(ctx, def, 201, { ...object, metadata: { ...object.metadata, creationTimestamp: kubeTimestamp() } }, warnings);
    return;
  }
  const created = ctx.store.create(def, object);
  if (def.resource === 'secrets') afterSecretCreated(ctx.store, created, ctx.options().tokenController);
  replyObject(ctx, def, 201, created, warnings);
};

/** Stores `next` as the new state of the named object, checking an optimistic-concurrency precondition. */
const replace = (ctx: HttpContext, def: ResourceDef, next: KubeObject, warnings: string[]): void => {
  const current = ctx.store.get(def, ctx.info.namespace, ctx.info.name);
  if (next.metadata.name !== ctx.info.name) throw badRequest('the name of the object does not match the name on the URL');
  const precondition = next.metadata.resourceVersion;
  if (precondition && precondition !== current.metadata.resourceVersion) {
    throw conflict(def, ctx.info.name, 'the object has been modified; please apply your changes to the latest version and try again');
  }
  if (isDryRun(ctx)) {
    replyObject(ctx, def, 200, { ...next, metadata: { ...next.metadata, uid: current.metadata.uid, creationTimestamp: current.metadata.creationTimestamp } }, warnings);
    return;
  }
  replyObject(ctx, def, 200, ctx.store.update(def, next), warnings);
};

const update = (ctx: HttpContext, def: ResourceDef): void => {
  const { object, warnings } = admit(def, decodeBody(ctx.req.headers['content-type'], ctx.body), ctx.info.namespace, ctx.info.query);
  replace(ctx, def, object, warnings);
};

const MERGE_PATCH_TYPES = new Set(['application/merge-patch+json', 'application/strategic-merge-patch+json']);

const patch = (ctx: HttpContext, def: ResourceDef): void => {
  const contentType = (ctx.req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
  // JSON patch and server-side apply are not implemented; kube would accept them.
  if (!MERGE_PATCH_TYPES.has(contentType)) throw unsupportedMediaType(contentType);
  const current = typed(def, ctx.store.get(def, ctx.info.namespace, ctx.info.name));
  const patched = mergePatch(current, decodeBody('application/json', ctx.body));
  const { object, warnings } = admit(def, patched, ctx.info.namespace, ctx.info.query);
  replace(ctx, def, object, warnings);
};

const deleteNamespaceContents = (ctx: HttpContext, namespace: string): void => {
  for (const def of ['configmaps', 'pods'].map((r) => findResource('', 'v1', r))) {
    if (!def) continue;
    for (const object of ctx.store.list(def, namespace)) ctx.store.delete(def, namespace, object.metadata.name ?? '');
  }
};

const remove = (ctx: HttpContext, def: ResourceDef): void => {
  const { namespace, name } = ctx.info;
  const current = ctx.store.get(def, namespace, name);
  if (isDryRun(ctx)) {
    replyObject(ctx, def, 200, current);
    return;
  }
  if (def.resource === 'namespaces') {
    // The namespace controller's work, done at once: contents first, then the namespace.
    deleteNamespaceContents(ctx, name);
    const deleted = ctx.store.delete(def, '', name);
    deleted.metadata.deletionTimestamp = kubeTimestamp();
    deleted.status = { phase: 'Terminating' };
    replyObject(ctx, def, 200, deleted);
    return;
  }
  const deleted = ctx.store.delete(def, namespace, name);
  if (def.resource === 'pods') {
    replyObject(ctx, def, 200, { ...deleted, metadata: { ...deleted.metadata, deletionTimestamp: kubeTimestamp() } });
    return;
  }
  const format = negotiateOutput(ctx.req.headers.accept, false);
  reply(ctx, format, 200, successStatus({ name, kind: def.resource, uid: deleted.metadata.uid ?? '' }));
};

const deleteCollection = (ctx: HttpContext, def: ResourceDef): void => {
  const filter = selectorFilter(ctx.info.query);
  const deleted = ctx.store
    .list(def, ctx.info.namespace)
    .filter(filter)
    .map((o) => ctx.store.delete(def, o.metadata.namespace ?? '', o.metadata.name ?? ''));
  const format = negotiateOutput(ctx.req.headers.accept, false);
  reply(ctx, format, 200, {
    kind: def.listKind,
    apiVersion: groupVersionString(def.group, def.version),
    metadata: { resourceVersion: String(ctx.store.currentRevision()) },
    items: deleted.map(untyped),
  });
};

/** Serves a request on a stored resource (no subresource). */
export const serveStoredResource = async (ctx: HttpContext, def: ResourceDef): Promise<void> => {
  const { verb, namespace, name } = ctx.info;
  const isNamespaceObject = def.resource === 'namespaces';
  if (!def.namespaced && !isNamespaceObject && namespace) throw pathNotFound();
  if (isNamespaceObject) ctx.info.namespace = '';
  if (def.namespaced && !namespace && !['list', 'watch'].includes(verb)) throw methodNotAllowed();
  if (!def.verbs.includes(verb)) throw methodNotAllowed();
  if (name && ['create'].includes(verb)) throw methodNotAllowed();

  switch (verb) {
    case 'list':
      return list(ctx, def);
    case 'get':
      return replyObject(ctx, def, 200, ctx.store.get(def, ctx.info.namespace, name));
    case 'watch':
      return serveWatch(ctx, def);
    case 'create':
      return create(ctx, def);
    case 'update':
      return update(ctx, def);
    case 'patch':
      return patch(ctx, def);
    case 'delete':
      return remove(ctx, def);
    case 'deletecollection':
      return deleteCollection(ctx, def);
    default:
      throw methodNotAllowed();
  }
};

