/**
 * `GET/POST /v1/users`, `GET/PATCH/DELETE /v1/users/{id}` (admin), `POST /v1/users/{id}/revoke-tokens`
 * (admin or self) and `POST /v1/me/password` (self) (docs/reference/api.md).
 */
import { Router } from 'express';
import { z } from 'zod';
import { hashPassword, verifyPassword } from '../../auth/passwords.js';
import { randomId } from '../../auth/tokens.js';
import { badRequest, GatewayError, notFound } from '../../errors.js';
import type { UserPatch } from '../../store/store.js';
import type { ApiContext } from '../context.js';
import { adminOf, userOf } from '../request-identity.js';
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

const ChangePasswordSchema = z.object({ currentPassword: z.string().min(1).max(1024), password: PasswordSchema }).strict();

/**
 * What a change ends (SECURITY.md): disabling ends every token of the user, so enabling again
 * brings none back; a new password ends the user's `session` tokens except `keep` (the request's
 * own, when it is one of them: a self-service change keeps the caller logged in). API and
 * kubeconfig tokens outlive a password change; `POST /v1/users/{id}/revoke-tokens` ends them.
 * Returns how many tokens ended.
 */
async function endTokensAfterChange(ctx: ApiContext, userId: string, change: { disabled: boolean; passwordChanged: boolean; keep: string }): Promise<number> {
  if (change.disabled) return (await ctx.store.deleteUserTokens(userId)).length;
  if (change.passwordChanged) return (await ctx.store.deleteUserTokens(userId, { kind: 'session', exceptId: change.keep })).length;
  return 0;
}

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
    const ended = await endTokensAfterChange(ctx, user.id, { disabled: body.enabled === false, passwordChanged: body.password !== undefined, keep: me.token.id });
    // Any change can alter what the user may do; a disabled user's tokens stop at once.
    await ctx.revocations.publish({ type: 'user', userId: user.id });
    ctx.log.info({ by: me.username, userId: user.id, fields: Object.keys(body), tokensEnded: ended }, 'user changed');
    res.json(userView(user));
  });

  // Self-service: a local user changes their own password (the current one proves it is them).
  r.post('/me/password', async (req, res) => {
    const me = userOf(req);
    const body = parseBody(req, ChangePasswordSchema);
    const stored = await ctx.store.getUserByUsername(me.username);
    if (!stored || stored.id !== me.userId) throw notFound('user not found');
    if (stored.source !== 'local') throw badRequest(`password: ${stored.username} signs in with single sign-on; the identity provider manages it`);
    if (!(await verifyPassword(stored.passwordHash, body.currentPassword))) throw badRequest('currentPassword: not your current password');
    await ctx.store.updateUser(me.userId, { passwordHash: await hashPassword(body.password) });
    const ended = await endTokensAfterChange(ctx, me.userId, { disabled: false, passwordChanged: true, keep: me.token.id });
    await ctx.revocations.publish({ type: 'user', userId: me.userId });
    ctx.log.info({ user: me.username, tokensEnded: ended }, 'password changed');
    res.status(204).end();
  });

  // Ends every token of the user (sessions, API and kubeconfig tokens): an admin, or the user.
  r.post('/users/:id/revoke-tokens', async (req, res) => {
    const me = userOf(req);
    if (req.params.id !== me.userId && !me.admin) throw new GatewayError('Forbidden', 'this needs an administrator');
    const user = await ctx.store.getUser(req.params.id!);
    if (!user) throw notFound('user not found');
    const ended = await ctx.store.deleteUserTokens(user.id);
    await ctx.revocations.publish({ type: 'user', userId: user.id });
    ctx.log.info({ by: me.username, userId: user.id, tokensEnded: ended.length }, 'tokens revoked');
    res.json({ revoked: ended.length });
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
