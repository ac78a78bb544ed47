/**
 * Service-account tokens beyond the gateway's own: the token controller filling a Secret of type
 * `kubernetes.io/service-account-token` (`tokenController`, on by default, as in kube-controller-
 * manager; it fills the Secret just after it is created, so the create answer has no token yet),
 * and the TokenRequest API (`POST …/serviceaccounts/{name}/token`, what `kubectl create token`
 * sends). Both tokens authenticate as `system:serviceaccount:<ns>:<name>` while the
 * ServiceAccount exists (and, for a Secret's token, while the Secret does).
 */
import { randomBytes } from 'node:crypto';
import type { HttpContext } from './context.js';
import { decodeBody } from './negotiation.js';
import { jsonReply, send } from './respond.js';
import type { ObjectStore } from './store.js';
import { badRequest, methodNotAllowed } from './status.js';
import type { TokenAuthenticator } from './token-authn.js';
import type { KubeObject } from './types.js';

const SERVICE_ACCOUNTS = { group: '', resource: 'serviceaccounts' };
const SECRETS = { group: '', resource: 'secrets' };
const TOKEN_TYPE = 'kubernetes.io/service-account-token';
const NAME_ANNOTATION = 'kubernetes.io/service-account.name';
const UID_ANNOTATION = 'kubernetes.io/service-account.uid';
/** kube-apiserver's default `--service-account-max-token-expiration` is unset; requests below 10 minutes are refused. */
const MIN_EXPIRATION_SECONDS = 600;

interface Issued {
  namespace: string;
  name: string;
  /** The Secret holding it, for a token controller token. */
  secret?: string;
  expiresAt?: number;
}

const registries = new WeakMap<ObjectStore, Map<string, Issued>>();
const registryOf = (store: ObjectStore): Map<string, Issued> => {
  let r = registries.get(store);
  if (!r) registries.set(store, (r = new Map()));
  return r;
};

const newToken = (): string => `sa.${randomBytes(32).toString('base64url')}`;

/** Tokens issued by the token controller and TokenRequest, for the union authenticator. */
export const serviceAccountTokenAuthenticator = (store: ObjectStore): TokenAuthenticator => async (token) => {
  const issued = registryOf(store).get(token);
  if (!issued) return null;
  if (issued.expiresAt !== undefined && Date.now() >= issued.expiresAt) return null;
  if (!store.has(SERVICE_ACCOUNTS, issued.namespace, issued.name)) return null;
  if (issued.secret !== undefined && !store.has(SECRETS, issued.namespace, issued.secret)) return null;
  const sa = store.get(SERVICE_ACCOUNTS, issued.namespace, issued.name);
  return {
    username: `system:serviceaccount:${issued.namespace}:${issued.name}`,
    uid: String(sa.metadata.uid ?? ''),
    groups: ['system:serviceaccounts', `system:serviceaccounts:${issued.namespace}`, 'system:authenticated'],
    extra: {},
  };
};

/** After a Secret is created: the token controller fills a service-account token Secret whose ServiceAccount exists. */
export const afterSecretCreated = (store: ObjectStore, secret: KubeObject, enabled: boolean): void => {
  if (!enabled || secret.type !== TOKEN_TYPE) return;
  const namespace = secret.metadata.namespace ?? '';
  const account = secret.metadata.annotations?.[NAME_ANNOTATION];
  const name = secret.metadata.name ?? '';
  if (!account) return;
  setImmediate(() => {
    if (!store.has(SERVICE_ACCOUNTS, namespace, account) || !store.has(SECRETS, namespace, name)) return;
    const sa = store.get(SERVICE_ACCOUNTS, namespace, account);
    const current = store.get(SECRETS, namespace, name);
    const token = newToken();
    registryOf(store).set(token, { namespace, name: account, secret: name });
    const data = { ...(current.data as Record<string, string> | undefined), token: Buffer.from(token).toString('base64'), namespace: Buffer.from(namespace).toString('base64') };
    store.update(SECRETS, {
      ...current,
      metadata: { ...current.metadata, annotations: { ...current.metadata.annotations, [UID_ANNOTATION]: String(sa.metadata.uid ?? '') } },
      data,
    });
  });
};

/** `POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token` (authentication.k8s.io/v1 TokenRequest). */
export const serveTokenRequest = (ctx: HttpContext): void => {
  if (ctx.info.verb !== 'create') throw methodNotAllowed();
  const { namespace, name } = ctx.info;
  ctx.store.get(SERVICE_ACCOUNTS, namespace, name); // 404 when missing
  const body = decodeBody(ctx.req.headers['content-type'], ctx.body) as KubeObject & { spec?: { expirationSeconds?: number; audiences?: string[] | null } };
  if (body.kind !== undefined && body.kind !== 'TokenRequest') throw badRequest(`expected kind TokenRequest, got ${String(body.kind)}`);
  const seconds = body.spec?.expirationSeconds ?? 3600;
  if (!Number.isInteger(seconds) || seconds < MIN_EXPIRATION_SECONDS) {
    throw badRequest(`spec.expirationSeconds: Invalid value: ${seconds}: may not specify a duration less than 10 minutes`);
  }
  const token = newToken();
  const expiresAt = Date.now() + seconds * 1000;
  registryOf(ctx.store).set(token, { namespace, name, expiresAt });
  const audiences = body.spec?.audiences?.length ? body.spec.audiences : ctx.options().apiAudiences;
  send(
    ctx.res,
    ctx.record,
    jsonReply(201, {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name, namespace, creationTimestamp: null },
      spec: { audiences, expirationSeconds: seconds, boundObjectRef: null },
      status: { token, expirationTimestamp: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z') },
    }),
  );
};
