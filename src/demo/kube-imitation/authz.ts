/**
 * The authorization step after impersonation. The double allows everything unless RBAC mode is
 * on or a test supplies `authorize`; a refusal reads exactly like kube-apiserver's RBAC refusal.
 */
import type { RequestInfo } from './request-info.js';
import { forbidden } from './status.js';
import type { AuthorizationAttributes, UserInfo } from './types.js';

export const attributesFor = (user: UserInfo, info: RequestInfo): AuthorizationAttributes => ({
  user,
  verb: info.verb,
  resourceRequest: info.resourceRequest,
  apiGroup: info.apiGroup,
  apiVersion: info.apiVersion,
  resource: info.resource,
  subresource: info.subresource,
  namespace: info.namespace,
  name: info.name,
  path: info.path,
});

/** Throws the 403 Status when an authorizer refuses (responsewriters.Forbidden's wording). */
export const authorize = (authorizers: Array<(a: AuthorizationAttributes) => boolean>, attributes: AuthorizationAttributes): void => {
  if (authorizers.every((allows) => allows(attributes))) return;
  const { user, verb, apiGroup, resource, subresource, namespace, name, path } = attributes;
  if (!attributes.resourceRequest) {
    throw forbidden({ group: '', resource: '' }, '', `User "${user.username}" cannot ${verb} path "${path}"`);
  }
  const what = subresource ? `${resource}/${subresource}` : resource;
  const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
  throw forbidden({ group: apiGroup, resource }, name, `User "${user.username}" cannot ${verb} resource "${what}" in API group "${apiGroup}" ${scope}`);
};
