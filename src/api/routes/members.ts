/** Cluster members (docs/reference/api.md): admins and the cluster's owners manage them; a member holds one role (built-in or custom). */
import { Router } from 'express';
import { z } from 'zod';
import { badRequest, notFound } from '../../errors.js';
import { BUILT_IN_ROLES } from '../../store/store.js';
import { reachableCluster } from '../cluster-access.js';
import type { ApiContext } from '../context.js';
import { userOf } from '../request-identity.js';
import { parseBody, PrincipalNameSchema } from '../validate.js';

const PrincipalSchema = z.string().refine((p) => {
  const [kind, ...rest] = p.split(':');
  const name = rest.join(':');
  // Names a provider gave may hold characters local names may not; reserved groups stay refused.
  if (kind === 'user') return PrincipalNameSchema.safeParse(name).success;
  if (kind === 'group') return PrincipalNameSchema.safeParse(name).success && !name.startsWith('system:') && name !== 'kubegate:authenticated' && !name.startsWith('kubegate:role:');
  return false;
}, 'must be user:<username> or group:<name>');

const PutMemberSchema = z.object({ principal: PrincipalSchema, role: z.string().min(1).max(63) }).strict();

/**
 * Says when a new membership names nobody yet (the answer's `notice`): a user no one is, or a group
 * no user holds. Both are allowed: a user may be created, or log in with single sign-on, later,
 * and a group may be added before anyone holds it.
 */
async function nobodyYet(ctx: ApiContext, principal: string): Promise<string | undefined> {
  const [kind, ...rest] = principal.split(':');
  const name = rest.join(':');
  if (kind === 'user') {
    if (await ctx.store.getUserByUsername(name)) return undefined;
    return `there is no user "${name}" yet: the membership applies once one is created, or logs in with single sign-on under that name`;
  }
  if ((await ctx.store.listUsers()).some((u) => u.groups.includes(name))) return undefined;
  return `no user is in group "${name}" yet: groups may be added before anyone holds them, and the membership applies to whoever gets the group`;
}

export function memberRoutes(ctx: ApiContext): Router {
  const r = Router();

  r.get('/clusters/:id/members', async (req, res) => {
    const cluster = await reachableCluster(ctx.store, userOf(req), req.params.id!, 'owner');
    res.json({ items: await ctx.store.listMembers(cluster.id) });
  });

  r.put('/clusters/:id/members', async (req, res) => {
    const me = userOf(req);
    const cluster = await reachableCluster(ctx.store, me, req.params.id!, 'owner');
    const body = parseBody(req, PutMemberSchema);
    if (!(BUILT_IN_ROLES as readonly string[]).includes(body.role) && !(await ctx.store.listRoles()).some((role) => role.name === body.role)) {
      throw badRequest(`role: "${body.role}" is not a role (owner, member, viewer, or a custom role from GET /v1/roles)`);
    }
    const member = await ctx.store.putMember({ clusterId: cluster.id, principal: body.principal, role: body.role });
    // A role change (or a new membership) alters cached cluster roles.
    await ctx.revocations.publish({ type: 'principal', principal: body.principal });
    ctx.log.info({ by: me.username, cluster: cluster.id, principal: body.principal, role: body.role }, 'member set');
    const notice = await nobodyYet(ctx, body.principal);
    res.json(notice ? { ...member, notice } : member);
  });

  r.delete('/clusters/:id/members/:principal', async (req, res) => {
    const me = userOf(req);
    const cluster = await reachableCluster(ctx.store, me, req.params.id!, 'owner');
    const principal = req.params.principal!;
    if (!PrincipalSchema.safeParse(principal).success) throw badRequest('principal: must be user:<username> or group:<name>');
    if (!(await ctx.store.deleteMember(cluster.id, principal))) throw notFound('member not found');
    await ctx.revocations.publish({ type: 'principal', principal });
    ctx.log.info({ by: me.username, cluster: cluster.id, principal }, 'member removed');
    res.status(204).end();
  });

  return r;
}
