/**
 * Turning a decoded request body into an object fit to store, with kube-apiserver's checks and
 * messages: type meta, namespace consistency, name rules, and `fieldValidation`
 * (Strict → 400, Warn (the default) → `Warning: 299` headers, Ignore). Unknown fields are dropped,
 * as Go's decoder drops them.
 */
import type { ResourceDef } from './catalog.js';
import { groupVersionString } from './catalog.js';
import { badRequest, invalid } from './status.js';
import type { KubeObject } from './types.js';

const METADATA_FIELDS = new Set([
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields',
]);

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_MESSAGE = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MESSAGE = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

export interface Admitted {
  object: KubeObject;
  /** `Warning` header values (fieldValidation=Warn). */
  warnings: string[];
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** Lists unknown top-level and metadata fields and returns a copy without them. */
const dropUnknownFields = (def: ResourceDef, raw: Record<string, unknown>): { object: KubeObject; unknown: string[] } => {
  const unknown: string[] = [];
  const object: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (def.fields.includes(key)) object[key] = value;
    else unknown.push(key);
  }
  const metadata: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(isRecord(raw.metadata) ? raw.metadata : {})) {
    if (METADATA_FIELDS.has(key)) metadata[key] = value;
    else unknown.push(`metadata.${key}`);
  }
  object.metadata = metadata;
  return { object: object as KubeObject, unknown };
};

/** Applies the request's `fieldValidation` directive to a list of unknown fields. */
const fieldValidation = (query: URLSearchParams, unknown: string[]): string[] => {
  if (unknown.length === 0) return [];
  const directive = query.get('fieldValidation') ?? 'Warn';
  if (directive === 'Strict') throw badRequest(`strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`);
  if (directive === 'Ignore') return [];
  return unknown.map((f) => `299 - "unknown field \\"${f}\\""`);
};

const randomSuffix = (): string => {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return Array.from({ length: 5 }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join('');
};

/** Validates a body for a write (create, update) of `def` at the request's namespace. */
export const admit = (def: ResourceDef, body: unknown, namespace: string, query: URLSearchParams): Admitted => {
  if (!isRecord(body)) throw badRequest('the object provided is unrecognized (must be of type object)');
  const expectedVersion = groupVersionString(def.group, def.version);
  if (body.apiVersion !== undefined && body.apiVersion !== expectedVersion) {
    throw badRequest(`the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${expectedVersion})`);
  }
  if (body.kind !== undefined && body.kind !== def.kind) {
    throw badRequest(`the kind in the data (${String(body.kind)}) does not match the expected kind (${def.kind})`);
  }
  const { object, unknown } = dropUnknownFields(def, body);
  const warnings = fieldValidation(query, unknown);

  const meta = object.metadata;
  if (def.namespaced) {
    if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    meta.namespace = namespace;
  } else {
    delete meta.namespace;
  }
  if (!meta.name && typeof meta.generateName === 'string' && meta.generateName) meta.name = `${meta.generateName}${randomSuffix()}`;
  const name = typeof meta.name === 'string' ? meta.name : '';
  if (!name) throw invalid(def.kind, '', [{ field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
  const [pattern, limit, message] = def.resource === 'namespaces' ? [DNS_LABEL, 63, LABEL_MESSAGE] : [DNS_SUBDOMAIN, 253, SUBDOMAIN_MESSAGE];
  if (!pattern.test(name) || name.length > limit) {
    throw invalid(def.kind, name, [{ field: 'metadata.name', message: `Invalid value: "${name}": ${message}` }]);
  }
  // Server-owned fields are never taken from the client.
  delete meta.uid;
  delete meta.creationTimestamp;
  delete meta.deletionTimestamp;
  delete meta.selfLink;
  delete meta.managedFields;
  return { object: { kind: def.kind, apiVersion: expectedVersion, ...object, metadata: meta }, warnings };
};
