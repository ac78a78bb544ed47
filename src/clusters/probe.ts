/**
 * The health probe of one cluster (`health.ts`): `GET /version` with the gateway's credential, then
 * one `SelfSubjectReview` impersonating a probe user the way the proxy impersonates users (user,
 * uid, group and the token-id extra), so a credential that may not impersonate shows before a user
 * meets it. Over the cluster's own route: the same connections, dialer and TLS as its traffic.
 */
import type { Dispatcher } from 'undici';
import { kubeUserOf } from '../auth/kube-user.js';
import type { ClusterRoute } from '../upstream/cluster-directory.js';
import { impersonationRefusal } from './credential-refusal.js';
import type { HealthOutcome } from './health.js';

/** A probe request longer than this counts the cluster as unavailable. */
const PROBE_TIMEOUT_MS = 5_000;

/** Who the probe impersonates: `kubegate:` names are reserved, no user can have it. */
const PROBE_USER = kubeUserOf({ userId: 'kubegate-health-probe', username: 'kubegate:health-probe', groups: [], admin: false, clusterRoles: new Map(), token: { id: 'health-probe' } }, '');

function probeImpersonation(): string[] {
  const lines = ['Impersonate-User', PROBE_USER.username, 'Impersonate-Uid', PROBE_USER.uid];
  for (const g of PROBE_USER.groups) lines.push('Impersonate-Group', g);
  for (const [key, values] of Object.entries(PROBE_USER.extra)) for (const v of values) lines.push(`Impersonate-Extra-${encodeURIComponent(key)}`, v);
  return lines;
}

async function send(route: ClusterRoute, path: string, options: { method: 'GET' | 'POST'; headers: string[]; body?: string }) {
  const answer = await route.pool.request({
    path: route.basePath + path,
    method: options.method,
    headers: ['Host', route.host, ...route.credentialHeader, 'Accept', 'application/json', 'User-Agent', 'kubegate-health-probe', ...options.headers],
    body: options.body,
    headersTimeout: PROBE_TIMEOUT_MS,
    bodyTimeout: PROBE_TIMEOUT_MS,
  } as Dispatcher.RequestOptions);
  const body = Buffer.from(await answer.body.arrayBuffer());
  return { status: answer.statusCode, body };
}

const rejected = (clusterId: string, why: string): HealthOutcome => ({ state: 'CredentialRejected', message: `kubegate's own credential for cluster '${clusterId}' ${why}` });

/** Probes the cluster behind `route` (undefined: no such cluster here). */
export async function probeCluster(clusterId: string, route: ClusterRoute | undefined): Promise<HealthOutcome> {
  if (!route) return { state: 'Unavailable', message: `cluster "${clusterId}" is not loaded on this replica` };
  if (route.agentConnected && !route.agentConnected()) return { state: 'Unavailable', message: `cluster ${clusterId} has no connected agent` };
  try {
    const version = await send(route, '/version', { method: 'GET', headers: [] });
    if (version.status === 401) return rejected(clusterId, 'was refused by its API server (401 Unauthorized): it is wrong or expired');
    if (version.status >= 500 || (version.status >= 300 && version.status !== 403)) {
      return { state: 'Unavailable', message: `cluster "${clusterId}": GET /version answered ${version.status}` };
    }
    let gitVersion: string | undefined;
    try {
      gitVersion = (JSON.parse(version.body.toString('utf8')) as { gitVersion?: unknown }).gitVersion as string | undefined;
    } catch {
      // not JSON: no version to show
    }
    const review = await send(route, '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      method: 'POST',
      headers: [...probeImpersonation(), 'Content-Type', 'application/json'],
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }),
    });
    if (review.status === 401) return rejected(clusterId, 'was refused by its API server (401 Unauthorized): it is wrong or expired');
    const refusal = review.status === 403 ? impersonationRefusal(review.body) : undefined;
    if (refusal) return rejected(clusterId, `may not impersonate users (${refusal.slice(0, 300)})`);
    // Impersonation runs before routing: any other answer (even a 404 on a server without
    // SelfSubjectReview, before v1.28) means the impersonation was allowed.
    if (review.status >= 500) return { state: 'Unavailable', message: `cluster "${clusterId}": SelfSubjectReview answered ${review.status}` };
    return { state: 'Active', version: typeof gitVersion === 'string' ? gitVersion : undefined, message: `the API server answers${typeof gitVersion === 'string' ? ` (${gitVersion})` : ''} and kubegate may impersonate` };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOAGENT') return { state: 'Unavailable', message: `cluster ${clusterId} has no connected agent` };
    return { state: 'Unavailable', message: `cluster "${clusterId}" is unreachable (${e.code ?? e.message})` };
  }
}
