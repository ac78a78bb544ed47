/**
 * `GET /v1/clusters/{id}/authn-sync` (docs/reference/api.md, webhook.md): the webhook's sync feed, for that cluster's
 * agent token only. Protocol in `sync/protocol.ts`; pages are built by `sync/authn-feed.ts`.
 */
import { Router, type RequestHandler } from 'express';
import { badRequest, forbidden } from '../../errors.js';
import { AuthnFeed } from '../../sync/authn-feed.js';
import { isEmptyDelta, MAX_WAIT_SECONDS, type AuthnSync } from '../../sync/protocol.js';
import { RevisionWatcher } from '../../sync/revision-watcher.js';
import type { ApiContext } from '../context.js';
import { identityOf } from '../request-identity.js';

// Changes older than this are forgotten; a webhook away longer gets a full copy.
const KEEP_CHANGES_MS = 7 * 24 * 3_600_000;
const PRUNE_EVERY_MS = 3_600_000;

interface FeedQuery {
  revision: number | undefined;
  epoch: string | undefined;
  waitMs: number;
}

function single(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest(`${name}: give it once`);
  return value;
}

function parseQuery(query: Record<string, unknown>): FeedQuery {
  const revision = single(query.revision, 'revision');
  const epoch = single(query.epoch, 'epoch');
  const wait = single(query.waitSeconds, 'waitSeconds');
  if (revision !== undefined && !/^\d{1,15}$/.test(revision)) throw badRequest('revision: must be a whole number');
  if (epoch !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(epoch)) throw badRequest('epoch: malformed');
  if (wait !== undefined && !(/^\d{1,3}$/.test(wait) && Number(wait) <= MAX_WAIT_SECONDS)) {
    throw badRequest(`waitSeconds: must be a whole number from 0 to ${MAX_WAIT_SECONDS}`);
  }
  return { revision: revision === undefined ? undefined : Number(revision), epoch, waitMs: Number(wait ?? 0) * 1000 };
}

export function authnSyncRoutes(ctx: ApiContext, auth: { agent: RequestHandler }): Router {
  const r = Router();
  const feed = new AuthnFeed(ctx.store);
  const watcher = new RevisionWatcher(ctx.store, ctx.revocations, { isDraining: ctx.isDraining });
  let prunedAt = 0;

  r.get('/clusters/:id/authn-sync', auth.agent, async (req, res) => {
    const me = identityOf(req);
    const clusterId = req.params.id!;
    // Each agent token feeds its own cluster only.
    if (me.kind !== 'agent' || me.clusterId !== clusterId) throw forbidden('this agent token belongs to another cluster');
    const q = parseQuery(req.query as Record<string, unknown>);

    if (Date.now() - prunedAt > PRUNE_EVERY_MS) {
      prunedAt = Date.now();
      ctx.store.pruneChanges(new Date(Date.now() - KEEP_CHANGES_MS)).catch((err: unknown) => ctx.log.warn({ err }, 'could not prune the change log'));
    }

    const gone = new AbortController();
    res.on('close', () => gone.abort());
    const deadline = Date.now() + q.waitMs;
    let page: AuthnSync = q.revision === undefined ? await feed.full(clusterId) : await feed.since(clusterId, q.revision, q.epoch);
    // Long-poll: changes to other clusters move the revision too; keep waiting past those.
    while (isEmptyDelta(page) && Date.now() < deadline && !gone.signal.aborted && !ctx.isDraining()) {
      await watcher.waitBeyond(page.revision, deadline - Date.now(), gone.signal);
      if (gone.signal.aborted) return;
      page = await feed.since(clusterId, page.revision, page.epoch);
    }
    if (gone.signal.aborted) return;
    res.set('Cache-Control', 'no-store').json(page);
  });

  return r;
}
