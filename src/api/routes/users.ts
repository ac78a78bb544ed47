/** `GET/POST /v1/users`, `GET/PATCH/DELETE /v1/users/{id}` (admin, docs/reference/api.md). */
import { Router } from 'express';
import { z } from 'zod';
import { hashPassword } from '../../auth/passwords.js';
import { randomId } from '../../auth/tokens.js';
import { badRequest, notFound } from '../../errors.js';
import type { UserPatch } from '../../store/store.js';
import type { ApiContext } from '../context.js';
import { adminOf } from '../request-identity.js';
import { GroupSchema, NameSchema, parseBody, PasswordSchema } from '../validate.js';
import { userView } from './views.js';

const Groups = z.array(GroupSchema).max(256).transform((g) => [...new Set(g)]);

const CreateUserSchema = z
  .object({
    username: NameSchema,
    password: PasswordSchema,
    groups: Groups.optional(),
    admin: z.boolean().optional(),
    enabled: z.boolean().optional(),
  })
  .strict();

const PatchUserSchema = z
  .object({
    password: PasswordSchema.optional(),
    groups: Groups.optional(),
    admin: z.boolean().optional(),
    enabled: z.boolean().optional(),
  })
  .strict();

export function userRoutes(ctx: ApiContext): Router {
  const r = Router();

  r.get('/users', async (req, res) => {
    adminOf(req);
    res.json({ items: (await ctx.store.listUsers()).map(userView) });
  });

  r.post('/users', async (req, res) => {
    const me = adminOf(req);
    const body = parseBody(req, CreateUserSchema);
    const user = await ctx.store.createUser({
      id: randomId('u-'),
      username: body.username,
      passwordHash: await hashPassword(body.password),
      groups: body.groups ?? [],
      admin: body.admin ?? false,
      enabled: body.enabled ?? true,
    });
    ctx.log.info({ by: me.username, user: user.username, userId: user.id }, 'user created');
    res.status(201).json(userView(user));
  });

  r.get('/users/:id', async (req, res) => {
    adminOf(req);
    const user = await ctx.store.getUser(req.params.id!);
    if (!user) throw notFound('user not found');
    res.json(userView(user));
  });

  r.patch('/users/:id', async (req, res) => {
    const me = adminOf(req);
    const body = parseBody(req, PatchUserSchema);
    if (req.params.id === me.userId && (body.enabled === false || body.admin === false)) {
      throw badRequest('you cannot disable yourself or remove your own admin flag');
    }
    const current = await ctx.store.getUser(req.params.id!);
    if (!current) throw notFound('user not found');
    // The provider owns these for single sign-on users: a password would bypass it, groups are replaced at each login.
    if (current.source !== 'local' && (body.password !== undefined || body.groups !== undefined)) {
      throw badRequest(`${body.password !== undefined ? 'password' : 'groups'}: ${current.username} signs in with single sign-on; the identity provider manages it`);
    }
    const patch: UserPatch = { groups: body.groups, admin: body.admin, enabled: body.enabled };
    if (body.password !== undefined) patch.passwordHash = await hashPassword(body.password);
    const user = await ctx.store.updateUser(current.id, patch);
    if (!user) throw notFound('user not found');
    // Any change can alter what the user may do; a disabled user's tokens stop at once.
    await ctx.revocations.publish({ type: 'user', userId: user.id });
    ctx.log.info({ by: me.username, userId: user.id, fields: Object.keys(body) }, 'user changed');
    res.json(userView(user));
  });

  r.delete('/users/:id', async (req, res) => {
    const me = adminOf(req);
    if (req.params.id === me.userId) throw badRequest('you cannot delete yourself');
    const user = await ctx.store.getUser(req.params.id!);
    if (!user || !(await ctx.store.deleteUser(user.id))) throw notFound('user not found');
    // Memberships name users by username: drop them, or a new user given the same name inherits them.
    const principal = `user:${user.username}`;
    for (const m of await ctx.store.membershipsOf([principal])) await ctx.store.deleteMember(m.clusterId, principal);
    await ctx.revocations.publish({ type: 'user', userId: req.params.id! });
    ctx.log.info({ by: me.username, userId: req.params.id }, 'user deleted');
    res.status(204).end();
  });

  return r;
}
