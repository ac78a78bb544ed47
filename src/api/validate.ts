/** Request body and parameter validation with zod; errors name the field. */
import type { Request } from 'express';
import { z } from 'zod';
import { isDnsLabel } from '../config/values.js';
import { badRequest } from '../errors.js';

/** Parses `req.body` with `schema` (use `.strict()` schemas: unknown fields are refused). */
export function parseBody<S extends z.ZodType>(req: Request, schema: S): z.infer<S> {
  const result = schema.safeParse(req.body ?? {});
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.length ? issue.path.join('.') : 'body';
    const message = issue.code === 'unrecognized_keys' ? `unknown field "${issue.keys.join('", "')}"` : issue.message;
    throw badRequest(`${field}: ${message}`);
  }
  return result.data;
}

/** Usernames and group names: printable, no separators that break headers or principals. */
export const NameSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]*$/, 'must be letters, digits and . _ @ - (starting with a letter or digit)');

export const GroupSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@:/-]*$/, 'must be letters, digits and . _ @ : / -')
  .refine((g) => !g.startsWith('system:') && g !== 'kubegate:authenticated' && !g.startsWith('kubegate:role:'), 'system: groups, kubegate:authenticated and kubegate:role: groups are reserved');

/**
 * A user or group a membership names: local names (above) or names an identity provider gave
 * (`https://idp.example.com#alice`, `oidc:Platform Team`): printable, at most 256 characters.
 */
export const PrincipalNameSchema = z
  .string()
  .min(1)
  .max(256)
  .refine((n) => !/\p{Cc}/u.test(n) && n.trim() === n, 'must be printable, without spaces around it');

export const PasswordSchema = z.string().min(8, 'must be at least 8 characters').max(1024);

export const ClusterIdSchema = z.string().refine(isDnsLabel, 'must be a DNS-1123 label (lower-case letters, digits and -)');

export const TtlSchema = z.number().int('must be a whole number of seconds').positive().max(10 * 365 * 86_400);
