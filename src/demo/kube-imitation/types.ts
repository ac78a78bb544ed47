/**
 * Shared types of the kube-apiserver test double: who a request is (UserInfo), what the double
 * recorded about it, and the options that tests may set at start or change later.
 */

/** Kubernetes `user.Info`: what authentication and impersonation produce. */
export interface UserInfo {
  username: string;
  uid: string;
  groups: string[];
  extra: Record<string, string[]>;
}

/** What an `authorize` hook sees, shaped like kube-apiserver's authorizer attributes. */
export interface AuthorizationAttributes {
  user: UserInfo;
  verb: string;
  /** True for `/api/...` and `/apis/...` resource paths; false for `/version`, discovery, etc. */
  resourceRequest: boolean;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  path: string;
}

/** One request as the double saw it on the wire, before any header was consumed. */
export interface RecordedRequest {
  method: string;
  /** The raw request target, query string included. */
  path: string;
  /** Node's `rawHeaders` as [name, value] pairs, in wire order and case. */
  rawHeaders: Array<[string, string]>;
  /** One array entry per header line, names lower-cased (never comma-split). */
  headersDistinct: Record<string, string[]>;
  /** Every `X-Stream-Protocol-Version` line, in order (SPDY / stream upgrades). */
  streamProtocolVersions: string[];
  /** The authenticated requester, or null when authentication failed. */
  authenticatedAs: UserInfo | null;
  /** The identity the request acted as after impersonation (equal to the requester without it). */
  effective: UserInfo | null;
  /** The response status; 0 while nothing has been answered yet. */
  status: number;
  /** True when the request asked for a protocol upgrade (WebSocket or SPDY). */
  upgrade: boolean;
  /** The `Upgrade` header value, when there was one. */
  upgradeProtocol: string | undefined;
  /** The request body as UTF-8 text (empty for upgrades and bodiless requests). */
  body: string;
  /** The request body as bytes (protobuf bodies are not text). */
  rawBody: Buffer;
  /** When the request arrived (ms since epoch). */
  receivedAt: number;
}

/** A user as configured in `staticTokens` (like a line of kube-apiserver's `--token-auth-file`). */
export interface StaticTokenUser {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** Options of `startKubeDouble`; every field is optional and can be changed with `setOptions`. */
export interface KubeDoubleOptions {
  /**
   * kubeconfig-format file like kube-apiserver's `--authentication-token-webhook-config-file`:
   * bearer tokens other than the gateway's and `staticTokens` are checked with a TokenReview.
   * Read once at start, as kube-apiserver reads it once at startup.
   */
  webhookConfigFile?: string;
  /** `--authentication-token-webhook-version`: the TokenReview version POSTed. Default 'v1'. */
  webhookVersion?: 'v1' | 'v1beta1';
  /** `--authentication-token-webhook-cache-ttl` in ms. Default 2000; 0 disables the cache. */
  webhookCacheTtlMs?: number;
  /**
   * `--api-audiences`: sent as `spec.audiences` in each TokenReview (kube-apiserver always has
   * some, defaulting to its service-account issuer). Default
   * `['https://kubernetes.default.svc.cluster.local']`; `[]` omits the field.
   */
  apiAudiences?: string[];
  /**
   * YAML stream whose ClusterRoles and ClusterRoleBindings are stored at start, beside the
   * bootstrap policy (cluster-admin, admin, edit, view, system:basic-user, system:discovery).
   * Default: what `kubegate render impersonator` prints, so the gateway may impersonate exactly
   * what that role grants. Impersonation and (Self)SubjectAccessReviews are always decided by
   * the stored RBAC policy.
   */
  rbacManifests?: string;
  /**
   * How ordinary requests are authorized after impersonation: 'AlwaysAllow' (default) or 'RBAC'
   * (the stored ClusterRoles and ClusterRoleBindings, like `--authorization-mode=RBAC`).
   */
  authorizationMode?: 'AlwaysAllow' | 'RBAC';
  /** Extra bearer tokens, like `--token-auth-file`. */
  staticTokens?: Record<string, StaticTokenUser>;
  /** Answer every upgrade (WebSocket and SPDY) with a 403 Status instead of 101. */
  refuseUpgrades?: boolean;
  /** Period of the lines a followed pod log emits. Default 200 ms. */
  logFollowIntervalMs?: number;
  /**
   * An extra authorizer, asked after authentication and impersonation (and after RBAC in
   * 'RBAC' mode). Return false to get the 403 Status kube-apiserver would send.
   */
  authorize?: (attributes: AuthorizationAttributes) => boolean;
  /** Use this gateway token instead of a random one. */
  gatewayToken?: string;
  /**
   * Fill Secrets of type kubernetes.io/service-account-token with a token, as kube-controller-
   * manager's token controller does. Default true; false leaves them empty (TokenRequest still works).
   */
  tokenController?: boolean;
  /** Watch events kept for `resourceVersion` resumption; older ones answer 410 Expired. Default 1000. */
  watchHistoryLimit?: number;
}

/** A Kubernetes object as stored and served (JSON). */
export interface KubeObject {
  kind?: string;
  apiVersion?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}
