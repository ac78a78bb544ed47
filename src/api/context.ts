/** What the management API needs, built once by `serve` and passed in. */
import type { Logger } from 'pino';
import type { TokenAuthenticator } from '../auth/identity.js';
import type { LastUsedRecorder } from '../auth/last-used.js';
import type { PasswordLogin } from '../auth/login.js';
import type { OidcIdentityProvider } from '../auth/oidc/oidc-identity-provider.js';
import type { RevocationBus } from '../auth/revocations.js';
import type { TokenIssuer } from '../auth/token-issuer.js';
import type { ClusterDirectory } from '../upstream/cluster-directory.js';
import type { AgentDirectory } from '../agents/agent-directory.js';
import type { ClusterHealth } from '../clusters/health.js';
import type { Store } from '../store/store.js';
import type { ProxyTrust } from '../http/trust-proxy.js';
import type { AuditLog } from '../observability/audit-log.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { BuiltInClusterRoles } from '../render/rbac.js';

export interface ApiContext {
  store: Store;
  log: Logger;
  authenticator: TokenAuthenticator;
  revocations: RevocationBus;
  clusters: ClusterDirectory;
  /** Agents connected to any replica, for agent clusters' status. */
  agents: Pick<AgentDirectory, 'status'>;
  /** Each cluster's health (probe and traffic), for the `status` of API answers. */
  health: Pick<ClusterHealth, 'status' | 'check' | 'forget'>;
  tokens: TokenIssuer;
  lastUsed: LastUsedRecorder;
  publicUrl: URL;
  /** The gateway CA (PEM) for kubeconfigs; undefined when the certificate is publicly trusted. */
  caPem: string | undefined;
  /** `/readyz` answers 503 while draining. */
  isDraining: () => boolean;
  /** `/readyz` answers 503 until start-up has finished (the first administrator exists). */
  isStarting?: () => boolean;
  audit: AuditLog;
  metrics: GatewayMetrics;
  trust: ProxyTrust;
  /** Password logins over the identity providers, with their failure backoff. */
  login: PasswordLogin;
  /** False: only the bootstrap administrator logs in with a password (`--local-login=false`). */
  localLogin: boolean;
  /** Single sign-on (`--oidc-issuer-url`); undefined when not configured. */
  sso: OidcIdentityProvider | undefined;
  /** API request bodies must arrive within this time. */
  bodyTimeoutMs: number;
  /** The listener serves TLS: answers carry `Strict-Transport-Security`. */
  servesTls?: boolean;
  /** `/metrics` needs no credential (`--metrics-open`). */
  metricsOpen?: boolean;
  /** Bearer token `/metrics` requires, when configured. */
  metricsToken: string | undefined;
  /** The ClusterRole each built-in role grants (`--owner-cluster-role` …). */
  builtInClusterRoles: BuiltInClusterRoles;
  /** The whole gateway's metrics when it runs as `--workers` (the primary aggregates them); else `metrics.registry`'s. */
  scrapeMetrics?: () => Promise<{ contentType: string; text: string }>;
}
