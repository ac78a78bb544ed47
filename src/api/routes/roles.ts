/**
 * Roles (docs/reference/api.md): the built-in owner, member and viewer, and custom roles admins
 * define, each naming the ClusterRole it grants in clusters through its `kubegate:role:<role>`
 * group. Everyone signed in may list them (the members page offers them); admins change them.
 */
import { Router } from 'express';
import { z } from 'zod';
import { roleGroup } from '../../auth/cluster-access.js';
import { notFound } from '../../errors.js';
import { renderRbac } from '../../render/rbac.js';
import { BUILT_IN_ROLES } from '../../store/store.js';
import type { ApiContext } from '../context.js';
import { adminOf, userOf } from '../request-identity.js';
import { parseRoleName } from '../role-name.js';
import { parseBody } from '../validate.js';

const CreateRoleSchema = z
  .object({
    name: z
      .string()
      .refine((n) => parseRoleName(n) === undefined, 'must be lower-case letters, digits and - (at most 63)')
      .refine((n) => !(BUILT_IN_ROLES as readonly string[]).includes(n), 'is a built-in role'),
    clusterRole: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9:._-]{0,252}$/, 'must be a ClusterRole name (letters, digits, : . _ -)'),
  })
  .strict();

export function roleRoutes(ctx: ApiContext): Router {
  const r = Router();

  const allRoles = async () => [
    ...BUILT_IN_ROLES.map((name) => ({ name, builtIn: true, clusterRole: ctx.builtInClusterRoles[name], group: roleGroup(name), createdAt: null })),
    ...(await ctx.store.listRoles()).map((role) => ({ name: role.name, builtIn: false, clusterRole: role.clusterRole, group: roleGroup(role.name), createdAt: role.createdAt.toISOString() })),
  ];

  r.get('/roles', async (req, res) => {
    userOf(req);
    res.json({ items: await allRoles() });
  });

  r.get('/roles/rbac.yaml', async (req, res) => {
    userOf(req);
    res.type('application/yaml').send(renderRbac(ctx.builtInClusterRoles, await ctx.store.listRoles()));
  });

  r.post('/roles', async (req, res) => {
    const me = adminOf(req);
    const body = parseBody(req, CreateRoleSchema);
    const role = await ctx.store.createRole(body);
    ctx.log.info({ by: me.username, role: role.name, clusterRole: role.clusterRole }, 'role created');
    res.status(201).json({ name: role.name, builtIn: false, clusterRole: role.clusterRole, group: roleGroup(role.name), createdAt: role.createdAt.toISOString() });
  });

  r.delete('/roles/:name', async (req, res) => {
    const me = adminOf(req);
    const name = req.params.name!;
    if (!(await ctx.store.deleteRole(name))) throw notFound(`role "${name}" not found`);
    ctx.log.info({ by: me.username, role: name }, 'role deleted');
    res.status(204).end();
  });

  return r;
}
