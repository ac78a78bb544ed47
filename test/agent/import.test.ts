/**
 * One-command import (issue 17): the import URL, applied with real kubectl against the
 * kube-apiserver double (which accepts every manifest, as kube-apiserver would), brings the agent
 * in; the URL works once. `kubegate render agent` prints the same manifests offline.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { renderAgent } from '../../src/render/agent.js';
import { call } from '../support/gateway.js';
import { startAgentWorld, waitForState, type AgentWorld } from './support.js';

describe('importing an agent cluster with one kubectl apply', () => {
  let w: AgentWorld;
  let caFile: string;

  before(async () => {
    w = await startAgentWorld({ startAgent: false });
    caFile = join(w.cluster.dir, 'gateway-ca.crt');
    await writeFile(caFile, w.gw.caPem!);
  });
  after(() => w?.stop());

  it('registers with connection: agent and answers the import command and an unconnected status', async () => {
    const res = await call(w.gw, 'GET', '/v1/clusters', { token: w.admin });
    const edge = res.body.items.find((c: { id: string }) => c.id === 'edge');
    assert.equal(edge.connection, 'agent');
    assert.equal(edge.server, null);
    assert.equal(edge.credentialType, null);
    assert.deepEqual([edge.status.state, edge.status.agent.connected], ['Unavailable', false]);
    assert.match(w.importUrl, new RegExp(`^${w.gw.url}/v1/clusters/edge/import/[A-Za-z0-9_-]{43}\\.yaml$`));
    const r = await call(w.gw, 'GET', '/k8s/clusters/edge/api', { token: w.alice.token });
    assert.equal(r.status, 503);
    assert.equal(r.body.message, 'cluster edge has no connected agent');
  });

  it('kubectl apply -f <import URL> is accepted by the cluster, and the URL is refused after use', async () => {
    const applied = await w.cluster.kubectl(['apply', '-f', w.importUrl], { env: { SSL_CERT_FILE: caFile } });
    assert.equal(applied.code, 0, applied.stderr);
    for (const kind of ['namespace/kubegate-agent', 'serviceaccount/kubegate-agent', 'clusterrole.rbac.authorization.k8s.io/kubegate-agent', 'clusterrolebinding.rbac.authorization.k8s.io/kubegate-agent', 'secret/kubegate-agent', 'deployment.apps/kubegate-agent']) {
      assert.match(applied.stdout, new RegExp(`${kind.replace(/\./g, '\\.')} created`));
    }
    const deployment = await w.cluster.object('apps', 'deployments', 'kubegate-agent', 'kubegate-agent');
    assert.equal(deployment.spec.replicas, 2);
    const pod = deployment.spec.template.spec;
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.containers[0].securityContext.readOnlyRootFilesystem, true);
    assert.ok(pod.containers[0].resources.requests.cpu);
    assert.equal(pod.containers[0].livenessProbe.httpGet.path, '/healthz');
    assert.equal(pod.containers[0].readinessProbe.httpGet.path, '/readyz');
    assert.equal(pod.nodeSelector, undefined);
    const secret = await w.cluster.object('', 'secrets', 'kubegate-agent', 'kubegate-agent');
    assert.equal(Buffer.from(secret.data['agent-token'], 'base64').toString(), w.agentToken);
    assert.equal(Buffer.from(secret.data['gateway-ca.crt'], 'base64').toString(), w.gw.caPem);
    const role = await w.cluster.object('rbac.authorization.k8s.io', 'clusterroles', '', 'kubegate-agent');
    assert.deepEqual(role.rules.map((r: { resources: string[] }) => r.resources.join(',')), ['users,groups,serviceaccounts', 'uids,userextras/kubegate.io/token-id,userextras/kubegate.io/impersonated-by', 'clusterrolebindings', 'clusterroles']);
    assert.ok(deployment.spec.template.spec.containers[0].args.includes('--manage-rbac'));

    const again = await w.cluster.kubectl(['apply', '-f', w.importUrl], { env: { SSL_CERT_FILE: caFile } });
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /404/);
    const direct = await call(w.gw, 'GET', new URL(w.importUrl).pathname);
    assert.equal(direct.status, 404);
    assert.match(direct.body.error.message, /unknown, already used or expired/);
  });

  it('the agent the import deployed (its token from the Secret) connects, and requests flow', async () => {
    // What the Deployment would run, with the token and CA kubectl stored in the Secret.
    const secret = await w.cluster.object('', 'secrets', 'kubegate-agent', 'kubegate-agent');
    const token = Buffer.from(secret.data['agent-token'], 'base64').toString();
    const ca = Buffer.from(secret.data['gateway-ca.crt'], 'base64').toString();
    await w.cluster.startAgent('imported', { gateway: w.gw.url, agentToken: token, gatewayCaPem: ca });
    await waitForState(w.gw, w.admin, 'Connected');
    const r = await call(w.gw, 'GET', '/k8s/clusters/edge/api/v1/namespaces/kubegate-agent', { token: w.alice.token });
    assert.equal(r.status, 200, r.text);
  });

  it('a rotation answers a new import URL; a made-up or malformed one is refused alike', async () => {
    const rotated = await call(w.gw, 'POST', '/v1/clusters/edge/agent-token', { token: w.admin });
    assert.equal(rotated.status, 201);
    assert.match(rotated.body.import, /^kubectl apply -f '.+\/v1\/clusters\/edge\/import\/.+\.yaml'$/);
    for (const path of ['/v1/clusters/edge/import/' + 'A'.repeat(43) + '.yaml', '/v1/clusters/edge/import/short.yaml', '/v1/clusters/other/import/' + new URL(rotated.body.importUrl).pathname.split('/').at(-1)]) {
      const r = await call(w.gw, 'GET', path);
      assert.equal(r.status, 404, path);
    }
    const served = await call(w.gw, 'GET', new URL(rotated.body.importUrl).pathname);
    assert.equal(served.status, 200);
    assert.match(String(served.headers['content-type']), /application\/yaml/);
    assert.equal(served.headers['cache-control'], 'no-store');
    assert.ok(served.text.includes(rotated.body.agentToken));
  });

  it('render agent prints the same manifests as the import URL; with the authorized endpoint, kube-api-auth follows', () => {
    const docs = parseAllDocuments(renderAgent({ clusterId: 'edge', gateway: 'https://gw.example.com', agentToken: 'kgt_t-x.y', kubeApiAuth: true }));
    const kinds = docs.map((d) => (d.toJS() as { kind: string }).kind);
    assert.deepEqual(kinds, ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Secret', 'Deployment', 'Namespace', 'Secret', 'DaemonSet']);
  });
});
