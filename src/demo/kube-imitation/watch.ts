/**
 * Watches (`?watch=true|1`) as kube-apiserver serves them over HTTP: a 200 with
 * `Transfer-Encoding: chunked` flushed at once, then one JSON event per line.
 * - no `resourceVersion` or "0": synthetic ADDED events for what exists, then live changes;
 * - a resourceVersion: every change after it (from history), or one ERROR event 410 Expired
 *   when it is too old;
 * - `timeoutSeconds` ends the stream; otherwise it lasts until the client goes away.
 * With a Table Accept, each event's object is a one-row Table and only the first carries
 * column definitions (handlers/watch.go sets NoHeaders after the first event).
 */
import { groupVersionString, withTypeMeta, type ResourceDef } from './catalog.js';
import type { HttpContext } from './context.js';
import { negotiateOutput } from './negotiation.js';
import { startStream } from './respond.js';
import { selectorFilter } from './selectors.js';
import { badRequest, expired, notAcceptable } from './status.js';
import { ObjectStore, type StoreEvent } from './store.js';
import { includeObjectParam, toTable } from './table.js';
import type { KubeObject } from './types.js';

type EventType = StoreEvent['type'] | 'ERROR' | 'BOOKMARK';

export const serveWatch = (ctx: HttpContext, def: ResourceDef): void => {
  const { query } = ctx.info;
  const format = negotiateOutput(ctx.req.headers.accept, true);
  // YAML has no stream framing in kube-apiserver, so a YAML-only watch is not acceptable.
  if (format.type === 'yaml') throw notAcceptable();
  const matches = selectorFilter(query, ctx.info.name ? `metadata.name=${ctx.info.name}` : undefined);
  const namespace = def.namespaced ? ctx.info.namespace : '';
  const inScope = (object: KubeObject): boolean => (!namespace || object.metadata.namespace === namespace) && matches(object);

  const rvParam = query.get('resourceVersion') ?? '';
  if (rvParam !== '' && !/^\d+$/.test(rvParam)) throw badRequest(`invalid resource version: "${rvParam}"`);
  const fromRevision = rvParam === '' || rvParam === '0' ? undefined : Number(rvParam);
  const includeObject = includeObjectParam(query);
  const sendInitialEvents = query.get('sendInitialEvents') === 'true';

  startStream(ctx.res, ctx.record, 'application/json');
  let headersSent = false;
  const write = (type: EventType, object: unknown): void => {
    let payload = object;
    if (format.type === 'table' && (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED')) {
      payload = toTable(def.kind, [object as KubeObject], { apiVersion: format.apiVersion, includeObject, noHeaders: headersSent });
      headersSent = true;
    }
    ctx.res.write(`${JSON.stringify({ type, object: payload })}\n`);
  };

  let done = false;
  let unsubscribe = (): void => undefined;
  let timer: NodeJS.Timeout | undefined;
  const untrack = ctx.streams.open(() => finish());
  function finish(): void {
    if (done) return;
    done = true;
    unsubscribe();
    if (timer) clearTimeout(timer);
    untrack();
    if (!ctx.res.writableEnded) ctx.res.end();
  }
  ctx.res.on('close', finish);

  if (fromRevision === undefined || sendInitialEvents) {
    for (const object of ctx.store.list(def, namespace || undefined).filter(inScope)) write('ADDED', withTypeMeta(def, object));
    if (sendInitialEvents) {
      write('BOOKMARK', {
        kind: def.kind,
        apiVersion: groupVersionString(def.group, def.version),
        metadata: { resourceVersion: String(ctx.store.currentRevision()), annotations: { 'k8s.io/initial-events-end': 'true' } },
      });
    }
  } else {
    const history = ctx.store.eventsSince(def, fromRevision);
    if (history === 'expired') {
      write('ERROR', expired(`too old resource version: ${fromRevision} (${ctx.store.oldestRevision()})`).status);
      finish();
      return;
    }
    for (const event of history) if (inScope(event.object)) write(event.type, withTypeMeta(def, event.object));
  }

  const key = ObjectStore.keyOf(def);
  unsubscribe = ctx.store.subscribe((event) => {
    if (done || event.resourceKey !== key || !inScope(event.object)) return;
    write(event.type, withTypeMeta(def, event.object));
  });

  const timeoutSeconds = Number(query.get('timeoutSeconds') ?? '0');
  if (Number.isFinite(timeoutSeconds) && timeoutSeconds > 0) timer = setTimeout(finish, timeoutSeconds * 1000);
};
