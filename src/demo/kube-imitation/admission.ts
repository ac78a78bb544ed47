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
  if (def.group === 'rbac.authorization.k8s.io') {
    // RBAC names are path segments (ValidateRBACName), so `system:basic-user` and `kubegate:role:x` are fine.
    const why = name === '.' || name === '..' ? `may not be '${name}'` : /[/%]/.test(name) ? `may not contain '${name.includes('/') ? '/' : '%'}'` : undefined;
    if (why) throw invalid(def.kind, name, [{ field: 'metadata.name', message: `Invalid value: "${name}": ${why}` }]);
  } else {
    const [pattern, limit, message] = def.resource === 'namespaces' ? [DNS_LABEL, 63, LABEL_MESSAGE] : [DNS_SUBDOMAIN, 253, SUBDOMAIN_MESSAGE];
    if (!pattern.test(name) || name.length > limit) {
      throw invalid(def.kind, name, [{ field: 'metadata.name', message: `Invalid value: "${name}": ${message}` }]);
    }
  }
  kindRules(def, object as Record<string, unknown>, name);
  // Server-owned fields are never taken from the client.
  delete meta.uid;
  delete meta.creationTimestamp;
  delete meta.deletionTimestamp;
  delete meta.selfLink;
  delete meta.managedFields;
  return { object: { kind: def.kind, apiVersion: expectedVersion, ...object, metadata: meta }, warnings };
};

/** The `Invalid` checks kube-apiserver makes on the kinds an agent's manifests create. */
const kindRules = (def: ResourceDef, object: Record<string, unknown>, name: string): void => {
  if (def.resource === 'secrets') {
    // The API server folds stringData into data (base64) and never stores stringData.
    const stringData = isRecord(object.stringData) ? object.stringData : {};
    const data: Record<string, unknown> = isRecord(object.data) ? { ...object.data } : {};
    for (const [key, value] of Object.entries(stringData)) {
      if (typeof value !== 'string') throw invalid(def.kind, name, [{ field: `stringData[${key}]`, message: 'Invalid value: must be a string' }]);
      data[key] = Buffer.from(value, 'utf8').toString('base64');
    }
    delete object.stringData;
    if (Object.keys(data).length > 0) object.data = data;
    object.type ??= 'Opaque';
  }
  if (def.resource === 'deployments' || def.resource === 'daemonsets') {
    const spec = isRecord(object.spec) ? object.spec : {};
    const selector = isRecord(spec.selector) ? spec.selector : undefined;
    const template = isRecord(spec.template) ? spec.template : {};
    const labels = isRecord(template.metadata) && isRecord(template.metadata.labels) ? template.metadata.labels : {};
    const matchLabels = selector && isRecord(selector.matchLabels) ? selector.matchLabels : undefined;
    if (!matchLabels) throw invalid(def.kind, name, [{ field: 'spec.selector', message: 'Required value' }]);
    if (Object.entries(matchLabels).some(([k, v]) => labels[k] !== v)) {
      throw invalid(def.kind, name, [{ field: 'spec.template.metadata.labels', message: `Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\`` }]);
    }
    const podSpec = isRecord(template.spec) ? template.spec : {};
    const containers = Array.isArray(podSpec.containers) ? podSpec.containers : [];
    if (containers.length === 0) throw invalid(def.kind, name, [{ field: 'spec.template.spec.containers', message: 'Required value' }]);
    containers.forEach((c: unknown, i: number) => {
      if (!isRecord(c) || typeof c.name !== 'string' || !DNS_LABEL.test(c.name)) throw invalid(def.kind, name, [{ field: `spec.template.spec.containers[${i}].name`, message: 'Required value' }]);
      if (typeof c.image !== 'string' || !c.image) throw invalid(def.kind, name, [{ field: `spec.template.spec.containers[${i}].image`, message: 'Required value' }]);
    });
  }
  if (def.resource === 'clusterrolebindings') {
    const roleRef = isRecord(object.roleRef) ? object.roleRef : {};
    if (typeof roleRef.kind !== 'string' || typeof roleRef.name !== 'string') throw invalid(def.kind, name, [{ field: 'roleRef', message: 'Required value' }]);
  }
};
