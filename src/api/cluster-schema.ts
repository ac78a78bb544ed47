/** Validation of cluster registrations (docs/reference/api.md `POST /v1/clusters`). */
import { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { ClusterIdSchema } from './validate.js';

/** Base64 of one or more PEM certificates. */
export const CaDataSchema = z
  .string()
  .max(65_536)
  .refine((v) => {
    try {
      new X509Certificate(Buffer.from(v, 'base64'));
      return true;
    } catch {
      return false;
    }
  }, 'must be base64 of a PEM certificate');

const PemData = z.string().min(1).max(65_536).regex(/^[A-Za-z0-9+/=\s]+$/, 'must be base64');

const ServerSchema = z
  .string()
  .max(2048)
  .refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === 'https:' || u.protocol === 'http:') && !u.search && !u.hash && !u.username && !u.password;
    } catch {
      return false;
    }
  }, 'must be an https:// URL without query or credentials');

const CredentialSchema = z.union([
  z.object({ token: z.string().min(1).max(16_384).regex(/^[\x21-\x7e]+$/, 'must be printable without spaces') }).strict(),
  z.object({ clientCertData: PemData, clientKeyData: PemData }).strict(),
]);

const HostPort = z
  .string()
  .min(1)
  .max(261)
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/, 'must be host or host:port');

const AuthorizedEndpointSchema = z
  .object({
    enabled: z.boolean(),
    fqdn: HostPort.optional(),
    caData: CaDataSchema.optional(),
    fqdnCaData: CaDataSchema.optional(),
    kubeconfigDefaultContext: z.enum(['gateway', 'direct']).optional(),
    controlPlaneNodes: z
      .array(z.object({ name: ClusterIdSchema, address: HostPort }).strict())
      .max(64)
      .optional(),
  })
  .strict();

const NameSchema = z.string().min(1).max(253).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be letters, digits and . _ -');

/** A cluster the gateway reaches over the network (the default). */
export const CreateClusterSchema = z
  .object({
    id: ClusterIdSchema,
    name: NameSchema.optional(),
    connection: z.literal('direct').optional(),
    server: ServerSchema,
    caData: CaDataSchema.optional(),
    insecureSkipTLSVerify: z.boolean().optional(),
    credential: CredentialSchema,
    authorizedEndpoint: AuthorizedEndpointSchema.optional(),
  })
  .strict();

export const PatchClusterSchema = CreateClusterSchema.omit({ id: true, connection: true }).partial().strict();

/**
 * A cluster reached only through its agent: no server, no credential (the agent brings both, and
 * they stay in the gateway's memory).
 */
export const CreateAgentClusterSchema = z
  .object({
    id: ClusterIdSchema,
    name: NameSchema.optional(),
    connection: z.literal('agent'),
    authorizedEndpoint: AuthorizedEndpointSchema.optional(),
  })
  .strict();

/** What may change on an agent cluster. */
export const PatchAgentClusterSchema = CreateAgentClusterSchema.omit({ id: true, connection: true }).partial().strict();
