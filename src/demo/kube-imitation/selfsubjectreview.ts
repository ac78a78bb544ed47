/**
 * `POST /apis/authentication.k8s.io/v1/selfsubjectreviews` (`kubectl auth whoami`): echoes the
 * effective identity, so tests can see exactly who kube-apiserver thinks the caller is.
 */
import type { HttpContext } from './context.js';
import { encodeObject, negotiateOutput } from './negotiation.js';
import { send } from './respond.js';
import { kubeTimestamp } from './store.js';
import type { UserInfo } from './types.js';

/** authenticationv1.UserInfo as JSON: empty fields are omitted (omitempty). */
export const userInfoJson = (user: UserInfo): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  if (user.username) out.username = user.username;
  if (user.uid) out.uid = user.uid;
  if (user.groups.length > 0) out.groups = user.groups;
  if (Object.keys(user.extra).length > 0) out.extra = user.extra;
  return out;
};

export const serveSelfSubjectReview = (ctx: HttpContext): void => {
  const format = negotiateOutput(ctx.req.headers.accept, false);
  const review = {
    kind: 'SelfSubjectReview',
    apiVersion: `authentication.k8s.io/${ctx.info.apiVersion}`,
    metadata: { creationTimestamp: kubeTimestamp() },
    status: { userInfo: userInfoJson(ctx.user) },
  };
  send(ctx.res, ctx.record, encodeObject(format, 201, review));
};
