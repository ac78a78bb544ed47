/**
 * Just enough OpenAPI v3 for kubectl's default validation. kubectl 1.32 validates server-side
 * (`fieldValidation=Strict`) only after finding, in `/openapi/v3/<gv>`, a PATCH operation for the
 * object's GVK that lists a `fieldValidation` query parameter (resource.QueryParamVerifierV3);
 * failing that it downloads schemas to validate client-side and errors out without them. So each
 * patchable resource gets that one operation and no schemas. `/openapi/v2` is not served (404).
 */
import { createHash } from 'node:crypto';
import { RESOURCES } from './catalog.js';
import { jsonReply, type Reply } from './respond.js';
import { pathNotFound } from './status.js';

const gvPath = (group: string, version: string): string => (group ? `apis/${group}/${version}` : `api/${version}`);

const groupVersions = [...new Map(RESOURCES.map((r) => [gvPath(r.group, r.version), { group: r.group, version: r.version }])).entries()];

const documentFor = (group: string, version: string): Record<string, unknown> => {
  const paths: Record<string, unknown> = {};
  for (const r of RESOURCES.filter((d) => d.group === group && d.version === version && d.verbs.includes('patch'))) {
    const prefix = `/${gvPath(group, version)}${r.namespaced ? '/namespaces/{namespace}' : ''}`;
    paths[`${prefix}/${r.resource}/{name}`] = {
      patch: {
        description: `partially update the specified ${r.kind}`,
        operationId: `patch${r.kind}`,
        parameters: [
          { name: 'dryRun', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'fieldManager', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
        ],
        responses: { '200': { description: 'OK' } },
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': { group, version, kind: r.kind },
      },
    };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.4' }, paths, components: { schemas: {} } };
};

const hashOf = (doc: unknown): string => createHash('sha512').update(JSON.stringify(doc)).digest('hex').slice(0, 128).toUpperCase();

/** Answers `/openapi/...`, or undefined for other paths. */
export const openapiReply = (path: string): Reply | undefined => {
  if (path === '/openapi/v2') throw pathNotFound();
  if (path === '/openapi/v3' || path === '/openapi/v3/') {
    const index: Record<string, unknown> = {};
    for (const [key, { group, version }] of groupVersions) {
      index[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hashOf(documentFor(group, version))}` };
    }
    return jsonReply(200, { paths: index });
  }
  if (!path.startsWith('/openapi/v3/')) return undefined;
  const entry = groupVersions.find(([key]) => `/openapi/v3/${key}` === path);
  if (!entry) throw pathNotFound();
  const [, { group, version }] = entry;
  return jsonReply(200, documentFor(group, version));
};

