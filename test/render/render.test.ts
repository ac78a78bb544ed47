/** `kubegate render …`: every document parses, and carries what docs/reference/webhook.md and issue 5 ask for. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { issueToken } from '../../src/auth/tokens.js';
import { renderImpersonator } from '../../src/render/impersonator.js';
import { AGENT_TOKEN_PLACEHOLDER, renderKubeApiAuth } from '../../src/render/kube-api-auth.js';
import { packageVersion } from '../../src/render/documents.js';
import { renderWebhookConfig } from '../../src/render/webhook-config.js';

type Obj = Record<string, any>;

/** Parses a YAML stream, failing on any error or warning. */
function documents(text: string): Obj[] {
  const docs = parseAllDocuments(text);
  assert.ok(Array.isArray(docs), 'a stream of documents');
  for (const d of docs) {
    assert.deepEqual(d.errors, [], String(d.errors));
    assert.deepEqual(d.warnings, []);
  }
  return docs.map((d) => d.toJS() as Obj);
}

const byKind = (docs: Obj[], kind: string): Obj => {
  const found = docs.filter((d) => d.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0]!;
};

describe('render webhook-config', () => {
  it('is a kubeconfig pointing kube-apiserver at the local webhook', () => {
    const text = renderWebhookConfig();
    const [config, ...rest] = documents(text);
    assert.equal(rest.length, 0);
    assert.equal(config!.apiVersion, 'v1');
    assert.equal(config!.kind, 'Config');
    const context = config!.contexts.find((c: Obj) => c.name === config!['current-context']).context;
    const cluster = config!.clusters.find((c: Obj) => c.name === context.cluster).cluster;
    assert.equal(cluster.server, 'http://127.0.0.1:6440/v1/authenticate');
    assert.ok(config!.users.some((u: Obj) => u.name === context.user));
  });

  it('gives the kube-apiserver flags as comments, with a short cache TTL and why', () => {
    const comments = renderWebhookConfig().split('\n').filter((l) => l.startsWith('#')).join('\n');
    assert.match(comments, /--authentication-token-webhook-config-file=\/etc\/kubernetes\/kube-api-authn-webhook\.yaml/);
    assert.match(comments, /--authentication-token-webhook-version=v1\b/);
    assert.match(comments, /--authentication-token-webhook-cache-ttl=10s/);
    assert.match(comments, /revoked/);
  });

  it('takes another server', () => {
    const [config] = documents(renderWebhookConfig('http://127.0.0.1:7000/v1/authenticate'));
    assert.equal(config!.clusters[0].cluster.server, 'http://127.0.0.1:7000/v1/authenticate');
  });
});

describe('render kube-api-auth', () => {
  const agentToken = issueToken().token;
  const docs = documents(renderKubeApiAuth({ clusterId: 'prod', gateway: 'https://kubegate.example.com', agentToken }));
  const ds = byKind(docs, 'DaemonSet');
  const pod = ds.spec.template.spec;
  const container = pod.containers[0];

  it('prints a Namespace, a Secret and the DaemonSet, all in that namespace', () => {
    assert.deepEqual(docs.map((d) => d.kind), ['Namespace', 'Secret', 'DaemonSet']);
    const ns = byKind(docs, 'Namespace').metadata.name;
    assert.equal(ns, 'kube-api-auth');
    assert.equal(byKind(docs, 'Secret').metadata.namespace, ns);
    assert.equal(ds.metadata.namespace, ns);
    assert.equal(ds.metadata.name, 'kube-api-auth');
    assert.equal(ds.apiVersion, 'apps/v1');
  });

  it('schedules only on Linux control-plane nodes, through nodeAffinity and no nodeSelector', () => {
    assert.equal(pod.nodeSelector, undefined);
    const terms = pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
    assert.deepEqual(terms, [
      {
        matchExpressions: [
          { key: 'kubernetes.io/os', operator: 'NotIn', values: ['windows'] },
          { key: 'node-role.kubernetes.io/controlplane', operator: 'In', values: ['true'] },
        ],
      },
      {
        matchExpressions: [
          { key: 'kubernetes.io/os', operator: 'NotIn', values: ['windows'] },
          { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' },
        ],
      },
    ]);
    assert.deepEqual(pod.tolerations, [{ operator: 'Exists' }]);
  });

  it('runs on the host network with its state dir on a hostPath', () => {
    assert.equal(pod.hostNetwork, true);
    const state = pod.volumes.find((v: Obj) => v.hostPath);
    assert.equal(state.hostPath.path, '/var/lib/kube-api-auth');
    const mount = container.volumeMounts.find((m: Obj) => m.name === state.name);
    assert.ok(container.args.includes(`--state-dir=${mount.mountPath}`));
  });

  it('passes the webhook flags of docs/reference/webhook.md and the agent token from the Secret', () => {
    assert.equal(container.args[0], 'webhook');
    for (const flag of ['--gateway=https://kubegate.example.com', '--cluster=prod', '--listen=127.0.0.1:6440']) assert.ok(container.args.includes(flag), flag);
    const tokenFlag = container.args.find((a: string) => a.startsWith('--agent-token-file='));
    const secretVolume = pod.volumes.find((v: Obj) => v.secret);
    const secret = byKind(docs, 'Secret');
    assert.equal(secretVolume.secret.secretName, secret.metadata.name);
    const mount = container.volumeMounts.find((m: Obj) => m.name === secretVolume.name);
    const key = tokenFlag.slice('--agent-token-file='.length).slice(mount.mountPath.length + 1);
    assert.equal(secret.stringData[key], agentToken);
    assert.equal(container.image, `kubegate/kubegate:${packageVersion()}`);
  });

  it('is probed on /healthz and locked down', () => {
    assert.equal(container.livenessProbe.httpGet.path, '/healthz');
    assert.equal(container.livenessProbe.httpGet.port, 6440);
    assert.ok(container.resources.requests.cpu && container.resources.requests.memory);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    const runAsNonRoot = container.securityContext.runAsNonRoot ?? pod.securityContext.runAsNonRoot;
    assert.equal(runAsNonRoot, true);
    assert.ok((container.securityContext.runAsUser ?? pod.securityContext.runAsUser) > 0);
  });

  it('without an agent token, holds a placeholder that says what to put there', () => {
    const text = renderKubeApiAuth({ clusterId: 'prod', gateway: 'https://gw', image: 'registry.local/kubegate:dev', namespace: 'auth' });
    const rendered = documents(text);
    assert.equal(byKind(rendered, 'Secret').stringData['agent-token'], AGENT_TOKEN_PLACEHOLDER);
    assert.match(text, /# .*agentToken/);
    assert.equal(byKind(rendered, 'DaemonSet').spec.template.spec.containers[0].image, 'registry.local/kubegate:dev');
    assert.ok(rendered.every((d) => d.kind === 'Namespace' ? d.metadata.name === 'auth' : d.metadata.namespace === 'auth'));
  });

  it('adds the gateway CA when given', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const rendered = documents(renderKubeApiAuth({ clusterId: 'prod', gateway: 'https://gw', gatewayCaPem: pem }));
    const c = byKind(rendered, 'DaemonSet').spec.template.spec.containers[0];
    const flag = c.args.find((a: string) => a.startsWith('--gateway-ca-file='));
    assert.ok(flag);
    assert.equal(byKind(rendered, 'Secret').stringData[flag.split('/').pop()], pem);
  });
});

describe('render impersonator', () => {
  const docs = documents(renderImpersonator());

  it('prints a ServiceAccount with a token Secret, a ClusterRole and its binding', () => {
    const sa = byKind(docs, 'ServiceAccount');
    const secret = byKind(docs, 'Secret');
    assert.equal(secret.type, 'kubernetes.io/service-account-token');
    assert.equal(secret.metadata.annotations['kubernetes.io/service-account.name'], sa.metadata.name);
    assert.equal(secret.metadata.namespace, sa.metadata.namespace);
    const role = byKind(docs, 'ClusterRole');
    const binding = byKind(docs, 'ClusterRoleBinding');
    assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name });
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }]);
  });

  it('grants impersonate on exactly what the gateway sends', () => {
    const role = byKind(docs, 'ClusterRole');
    const grants = role.rules.flatMap((r: Obj) => {
      assert.deepEqual(r.verbs, ['impersonate']);
      return r.apiGroups.flatMap((g: string) => r.resources.map((res: string) => `${g}/${res}`));
    });
    assert.deepEqual(grants.sort(), [
      '/groups',
      '/serviceaccounts',
      '/users',
      'authentication.k8s.io/uids',
      'authentication.k8s.io/userextras/kubegate.io/impersonated-by',
      'authentication.k8s.io/userextras/kubegate.io/token-id',
    ]);
  });

  it('takes a namespace', () => {
    const rendered = documents(renderImpersonator({ namespace: 'gate' }));
    assert.equal(byKind(rendered, 'ServiceAccount').metadata.namespace, 'gate');
    assert.equal(byKind(rendered, 'ClusterRoleBinding').subjects[0].namespace, 'gate');
  });
});
