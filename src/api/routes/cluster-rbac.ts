/**
 * `GET /v1/clusters/{id}/rbac` (docs/reference/api.md): the ClusterRoleBindings that give the
 * cluster's role groups their ClusterRoles, for that cluster's agent token only. An agent started
 * with `--manage-rbac` reads it and keeps the cluster's bindings the same (agent/rbac-reconciler.ts).
 */
import { Router, type RequestHandler } from 'express';
import { forbidden } from '../../errors.js';
import { roleBindings } from '../../render/rbac.js';
import { roleGroup } from '../../auth/cluster-access.js';
import type { ApiContext } from '../context.js';
import { identityOf } from '../request-identity.js';

export function clusterRbacRoutes(ctx: ApiContext, auth: { agent: RequestHandler }): Router {
  const r = Router();
  r.get('/clusters/:id/rbac', auth.agent, async (req, res) => {
    const me = identityOf(req);
    if (me.kind !== 'agent' || me.clusterId !== req.params.id) throw forbidden('this agent token belongs to another cluster');
    const bindings = roleBindings(ctx.builtInClusterRoles, await ctx.store.listRoles()).map((b) => ({ role: b.role, group: roleGroup(b.role), clusterRole: b.clusterRole }));
    res.set('Cache-Control', 'no-store').json({ bindings });
  });
  return r;
}
