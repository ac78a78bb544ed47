/** `GET /v1/settings`, `PUT /v1/settings/{name}` (admin, docs/reference/tokens.md). */
import { Router } from 'express';
import { z } from 'zod';
import { notFound } from '../../errors.js';
import { isSettingName, parseSettingValue, readSettings } from '../../settings.js';
import type { ApiContext } from '../context.js';
import { adminOf } from '../request-identity.js';
import { parseBody } from '../validate.js';

const PutSettingSchema = z.object({ value: z.union([z.boolean(), z.number(), z.string()]) }).strict();

export function settingRoutes(ctx: ApiContext): Router {
  const r = Router();

  r.get('/settings', async (req, res) => {
    adminOf(req);
    const settings = await readSettings(ctx.store);
    res.json({ items: Object.entries(settings).map(([name, value]) => ({ name, value })) });
  });

  r.put('/settings/:name', async (req, res) => {
    const me = adminOf(req);
    const name = req.params.name!;
    if (!isSettingName(name)) throw notFound(`no setting named "${name}"`);
    const { value } = parseBody(req, PutSettingSchema);
    await ctx.store.putSetting(name, parseSettingValue(name, value));
    ctx.log.info({ by: me.username, setting: name }, 'setting changed');
    res.json({ name, value: (await readSettings(ctx.store))[name] });
  });

  return r;
}
