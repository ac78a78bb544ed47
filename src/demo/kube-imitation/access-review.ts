/**
 * `SubjectAccessReview` and `SelfSubjectAccessReview` (authorization.k8s.io/v1), answered from the
 * stored RBAC policy (rbac.ts) whatever the authorization mode of ordinary requests: may this user
 * (the spec's, or the caller itself) do this verb on this resource or path? `kubectl auth can-i`
 * and a gateway checking `kubectl --as` ask these.
 */
import type { ResourceDef } from './catalog.js';
import type { HttpContext } from './context.js';
import { decodeBody, encodeObject, negotiateOutput } from './negotiation.js';
import { rbacDecision } from './rbac.js';
import { send } from './respond.js';
import { invalid } from './status.js';
import type { AuthorizationAttributes, UserInfo } from './types.js';

interface ResourceAttributes {
  namespace?: string;
  verb?: string;
  group?: string;
  version?: string;
  resource?: string;
  subresource?: string;
  name?: string;
}

interface ReviewSpec {
  resourceAttributes?: ResourceAttributes;
  nonResourceAttributes?: { path?: string; verb?: string };
  user?: string;
  groups?: string[];
  uid?: string;
  extra?: Record<string, string[]>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const attributesOf = (spec: ReviewSpec, user: UserInfo): AuthorizationAttributes => {
  const r = spec.resourceAttributes;
  if (r) {
    return {
      user,
      verb: r.verb ?? '',
      resourceRequest: true,
      apiGroup: r.group ?? '',
      apiVersion: r.version ?? '',
      resource: r.resource ?? '',
      subresource: r.subresource ?? '',
      namespace: r.namespace ?? '',
      name: r.name ?? '',
      path: '',
    };
  }
  const n = spec.nonResourceAttributes ?? {};
  return { user, verb: n.verb ?? '', resourceRequest: false, apiGroup: '', apiVersion: '', resource: '', subresource: '', namespace: '', name: '', path: n.path ?? '' };
};

export const serveAccessReview = (ctx: HttpContext, def: ResourceDef): void => {
  const body = decodeBody(ctx.req.headers['content-type'], ctx.body);
  const review = isRecord(body) ? body : {};
  const spec: ReviewSpec = isRecord(review.spec) ? (review.spec as ReviewSpec) : {};
  const self = def.resource === 'selfsubjectaccessreviews';
  // The checks of pkg/apis/authorization/validation.
  if (Boolean(spec.resourceAttributes) === Boolean(spec.nonResourceAttributes)) {
    throw invalid(def.kind, '', [{ field: 'spec.resourceAttributes', message: 'Invalid value: exactly one of nonResourceAttributes or resourceAttributes must be specified' }]);
  }
  if (!self && !spec.user && (spec.groups ?? []).length === 0) {
    throw invalid(def.kind, '', [{ field: 'spec.user', message: 'Invalid value: "": at least one of user or group must be specified' }]);
  }
  const subject: UserInfo = self
    ? ctx.user
    : { username: spec.user ?? '', uid: spec.uid ?? '', groups: [...(spec.groups ?? [])], extra: { ...(spec.extra ?? {}) } };
  const decision = rbacDecision(ctx.store, attributesOf(spec, subject));
  const answer = {
    kind: def.kind,
    apiVersion: `${def.group}/${def.version}`,
    metadata: { creationTimestamp: null },
    spec,
    status: decision.reason ? { allowed: decision.allowed, reason: decision.reason } : { allowed: decision.allowed },
  };
  send(ctx.res, ctx.record, encodeObject(negotiateOutput(ctx.req.headers.accept, false), 201, answer));
};
