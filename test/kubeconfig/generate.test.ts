/** Table tests of kubeconfig generation (docs/reference/kubeconfig.md): pure functions, no server. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { buildKubeconfig, toYaml } from '../../src/kubeconfig/build.js';
import { execCredential } from '../../src/kubeconfig/credentials.js';
import { clusterEndpoints, nodeServerUrl } from '../../src/kubeconfig/endpoints.js';
import type { GatewayEndpoint, KubeconfigCluster } from '../../src/kubeconfig/types.js';
import { kubectlJson, kubectlLines, testCa } from './support.js';

const gatewayCa = await testCa('gateway-ca');
const endpointCa = await testCa('endpoint-ca');
const clusterCa = await testCa('cluster-ca');
const b64 = (pem: string) => Buffer.from(pem).toString('base64');

const gateway: GatewayEndpoint = { publicUrl: new URL('https://gw.example.com:8443'), caPem: gatewayCa };
const publicGateway: GatewayEndpoint = { publicUrl: new URL('https://kubegate.example.com'), caPem: undefined };

function cluster(overrides: Partial<KubeconfigCluster> = {}): KubeconfigCluster {
  return { id: 'prod-1', name: 'prod', caData: b64(clusterCa), authorizedEndpoint: { enabled: false, controlPlaneNodes: [] }, ...overrides };
}

describe('main entry', () => {
  it('names cluster, user and context after the cluster and points at the gateway path', () => {
    const config = buildKubeconfig(gateway, [{ cluster: cluster(), credential: { token: 'kgt_secret' } }]);
    assert.deepEqual(config, {
      apiVersion: 'v1',
      kind: 'Config',
      preferences: {},
      clusters: [{ name: 'prod', cluster: { server: 'https://gw.example.com:8443/k8s/clusters/prod-1', 'certificate-authority-data': b64(gatewayCa) } }],
      users: [{ name: 'prod', user: { token: 'kgt_secret' } }],
      contexts: [{ name: 'prod', context: { cluster: 'prod', user: 'prod' } }],
      'current-context': 'prod',
    });
  });

  const cases: Array<{ name: string; gw: GatewayEndpoint; server: string; ca: string | undefined }> = [
    { name: 'generated gateway CA is pinned', gw: gateway, server: 'https://gw.example.com:8443/k8s/clusters/prod-1', ca: b64(gatewayCa) },
    { name: 'publicly trusted: no CA data', gw: publicGateway, server: 'https://kubegate.example.com/k8s/clusters/prod-1', ca: undefined },
    {
      name: 'public URL with a path prefix and trailing slash',
      gw: { publicUrl: new URL('https://lb.example.com/kubegate/'), caPem: undefined },
      server: 'https://lb.example.com/kubegate/k8s/clusters/prod-1',
      ca: undefined,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const [main] = buildKubeconfig(c.gw, [{ cluster: cluster(), credential: { token: 't' } }]).clusters;
      assert.equal(main!.cluster.server, c.server);
      assert.equal(main!.cluster['certificate-authority-data'], c.ca);
      assert.equal('certificate-authority-data' in main!.cluster, c.ca !== undefined);
    });
  }
});

describe('authorized endpoint entries', () => {
  it('adds nothing while the endpoint is disabled, even with nodes listed', () => {
    const c = cluster({ authorizedEndpoint: { enabled: false, fqdn: 'prod.example.com', controlPlaneNodes: [{ name: 'cp-1', address: '10.0.0.5' }] } });
    assert.deepEqual(clusterEndpoints(c, gateway).map((e) => e.name), ['prod']);
  });

  it('uses <name>-fqdn when an FQDN is set (and no node entries), on port 6443 unless it names one', () => {
    const c = cluster({
      authorizedEndpoint: { enabled: true, fqdn: 'prod.example.com', caData: b64(endpointCa), controlPlaneNodes: [{ name: 'cp-1', address: '10.0.0.5' }] },
    });
    const config = buildKubeconfig(gateway, [{ cluster: c, credential: { token: 't' } }]);
    assert.deepEqual(config.clusters[1], { name: 'prod-fqdn', cluster: { server: 'https://prod.example.com:6443', 'certificate-authority-data': b64(endpointCa) } });
    assert.deepEqual(config.contexts.map((x) => x.name), ['prod', 'prod-fqdn']);
    assert.deepEqual(config.contexts[1]!.context, { cluster: 'prod-fqdn', user: 'prod' });
    assert.equal(config.users.length, 1);
    assert.equal(config['current-context'], 'prod');
  });

  it('makes the first direct context current for kubeconfigDefaultContext direct, in a merged file the first cluster\'s', () => {
    const direct = cluster({ authorizedEndpoint: { enabled: true, kubeconfigDefaultContext: 'direct', controlPlaneNodes: [{ name: 'cp-1', address: '10.0.0.5' }, { name: 'cp-2', address: '10.0.0.6' }] } });
    assert.equal(buildKubeconfig(gateway, [{ cluster: direct, credential: { token: 't' } }])['current-context'], 'prod-cp-1');
    const other = cluster({ id: 'dev', name: 'dev', authorizedEndpoint: { enabled: false, controlPlaneNodes: [] } });
    assert.equal(buildKubeconfig(gateway, [{ cluster: other, credential: { token: 't' } }, { cluster: direct, credential: { token: 't' } }])['current-context'], 'dev');
  });

  it('keeps a port on the FQDN', () => {
    const c = cluster({ authorizedEndpoint: { enabled: true, fqdn: 'prod.example.com:7443', controlPlaneNodes: [] } });
    assert.equal(clusterEndpoints(c, gateway)[1]!.server, 'https://prod.example.com:7443');
  });

  it('adds one <name>-<node> entry per control-plane node, all sharing the one user', () => {
    const c = cluster({
      authorizedEndpoint: {
        enabled: true,
        caData: b64(endpointCa),
        controlPlaneNodes: [
          { name: 'cp-1', address: '10.0.0.5' },
          { name: 'cp-2', address: '10.0.0.6:7443' },
          { name: 'cp-3', address: '[fd00::7]' },
        ],
      },
    });
    const config = buildKubeconfig(gateway, [{ cluster: c, credential: { token: 't' } }]);
    assert.deepEqual(
      config.clusters.map((x) => [x.name, x.cluster.server]),
      [
        ['prod', 'https://gw.example.com:8443/k8s/clusters/prod-1'],
        ['prod-cp-1', 'https://10.0.0.5:6443'],
        ['prod-cp-2', 'https://10.0.0.6:7443'],
        ['prod-cp-3', 'https://[fd00::7]:6443'],
      ],
    );
    for (const x of config.clusters.slice(1)) assert.equal(x.cluster['certificate-authority-data'], b64(endpointCa));
    assert.deepEqual(new Set(config.contexts.map((x) => x.context.user)), new Set(['prod']));
    assert.deepEqual(config.users.map((u) => u.name), ['prod']);
  });

  it("falls back to the cluster's own CA when the endpoint has none", () => {
    const c = cluster({ authorizedEndpoint: { enabled: true, controlPlaneNodes: [{ name: 'cp-1', address: '10.0.0.5' }] } });
    assert.equal(clusterEndpoints(c, gateway)[1]!.caData, b64(clusterCa));
    const bare = cluster({ caData: undefined, authorizedEndpoint: { enabled: true, controlPlaneNodes: [{ name: 'cp-1', address: 'cp-1.internal' }] } });
    const config = buildKubeconfig(gateway, [{ cluster: bare, credential: { token: 't' } }]);
    assert.deepEqual(config.clusters[1], { name: 'prod-cp-1', cluster: { server: 'https://cp-1.internal:6443' } });
  });

  const addresses: Array<[string, string]> = [
    ['10.0.0.5', 'https://10.0.0.5:6443'],
    ['10.0.0.5:6443', 'https://10.0.0.5:6443'],
    ['10.0.0.5:443', 'https://10.0.0.5:443'],
    ['cp-1.example.com', 'https://cp-1.example.com:6443'],
    ['cp-1.example.com:8443', 'https://cp-1.example.com:8443'],
    ['[fd00::1]', 'https://[fd00::1]:6443'],
    ['[fd00::1]:7443', 'https://[fd00::1]:7443'],
    ['fd00::1', 'https://[fd00::1]:6443'],
  ];
  for (const [address, url] of addresses) {
    it(`node address ${address} → ${url}`, () => assert.equal(nodeServerUrl(address), url));
  }
});

describe('user entry', () => {
  it('token mode holds the token', () => {
    const config = buildKubeconfig(gateway, [{ cluster: cluster(), credential: { token: 'kgt_t-abc.def' } }]);
    assert.deepEqual(config.users, [{ name: 'prod', user: { token: 'kgt_t-abc.def' } }]);
  });

  it('exec mode runs kubegate token with the gateway CA in env', () => {
    const config = buildKubeconfig(gateway, [{ cluster: cluster(), credential: 'exec' }]);
    assert.deepEqual(config.users, [
      {
        name: 'prod',
        user: {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1',
            command: 'kubegate',
            args: ['token', '--server=https://gw.example.com:8443', '--cluster=prod-1'],
            env: [{ name: 'KUBEGATE_GATEWAY_CA_DATA', value: b64(gatewayCa) }],
            interactiveMode: 'IfAvailable',
            provideClusterInfo: false,
            installHint: execCredential(gateway, 'prod-1').installHint,
          },
        },
      },
    ]);
  });

  it('exec mode omits env when the gateway is publicly trusted', () => {
    const exec = execCredential(publicGateway, 'prod-1');
    assert.equal('env' in exec, false);
    assert.deepEqual(exec.args, ['token', '--server=https://kubegate.example.com', '--cluster=prod-1']);
  });
});

describe('merged file', () => {
  const a = cluster({ id: 'alpha', name: 'alpha', authorizedEndpoint: { enabled: true, fqdn: 'alpha.example.com', controlPlaneNodes: [] } });
  const b = cluster({ id: 'beta', name: 'beta' });

  it('one user per cluster, every context, current-context the first', () => {
    const config = buildKubeconfig(gateway, [
      { cluster: a, credential: { token: 'token-a' } },
      { cluster: b, credential: { token: 'token-b' } },
    ]);
    assert.deepEqual(config.contexts.map((c) => [c.name, c.context.cluster, c.context.user]), [
      ['alpha', 'alpha', 'alpha'],
      ['alpha-fqdn', 'alpha-fqdn', 'alpha'],
      ['beta', 'beta', 'beta'],
    ]);
    assert.deepEqual(config.users, [
      { name: 'alpha', user: { token: 'token-a' } },
      { name: 'beta', user: { token: 'token-b' } },
    ]);
    assert.equal(config['current-context'], 'alpha');
  });

  it('keeps names unique when clusters share a name or collide with endpoint entries', () => {
    const config = buildKubeconfig(gateway, [
      { cluster: cluster({ id: 'one', name: 'prod', authorizedEndpoint: { enabled: true, fqdn: 'p.example.com', controlPlaneNodes: [] } }), credential: 'exec' },
      { cluster: cluster({ id: 'two', name: 'prod' }), credential: 'exec' },
      { cluster: cluster({ id: 'three', name: 'prod-fqdn' }), credential: 'exec' },
    ]);
    const names = config.contexts.map((c) => c.name);
    assert.deepEqual(names, ['prod', 'prod-fqdn', 'prod-two', 'prod-fqdn-three']);
    assert.equal(new Set(config.clusters.map((c) => c.name)).size, config.clusters.length);
    assert.deepEqual(config.users.map((u) => u.name), ['prod', 'prod-two', 'prod-fqdn-three']);
    // Each user entry still names its own cluster in the plugin's args.
    assert.deepEqual(config.users.map((u) => ('exec' in u.user ? u.user.exec.args[2] : '')), ['--cluster=one', '--cluster=two', '--cluster=three']);
  });
});

describe('YAML', () => {
  const config = buildKubeconfig(gateway, [
    {
      cluster: cluster({ authorizedEndpoint: { enabled: true, caData: b64(endpointCa), controlPlaneNodes: [{ name: 'cp-1', address: '10.0.0.5' }, { name: 'cp-2', address: '[fd00::1]:7443' }] } }),
      credential: 'exec',
    },
    { cluster: cluster({ id: 'dev', name: 'dev.cluster_1' }), credential: { token: 'kgt_t-aaaaaaaaaaaaaaaa.AAAA-_' } },
  ]);
  const text = toYaml(config);

  it('parses back to the same object', () => {
    assert.deepEqual(parse(text), JSON.parse(JSON.stringify(config)));
  });

  it('never folds long base64 lines', () => {
    assert.ok(text.split('\n').some((l) => l.includes(b64(gatewayCa))));
  });

  it('loads in real kubectl unmodified', async () => {
    const view = await kubectlJson(text, ['config', 'view', '--raw', '-o', 'json']);
    assert.equal(view['current-context'], 'prod');
    const server = (name: string) => view.clusters.find((c: { name: string }) => c.name === name)?.cluster.server;
    assert.equal(server('prod'), 'https://gw.example.com:8443/k8s/clusters/prod-1');
    assert.equal(server('prod-cp-2'), 'https://[fd00::1]:7443');
    assert.equal(view.clusters.find((c: { name: string }) => c.name === 'prod-cp-1').cluster['certificate-authority-data'], b64(endpointCa));
    const exec = view.users.find((u: { name: string }) => u.name === 'prod').user.exec;
    assert.equal(exec.command, 'kubegate');
    assert.deepEqual(exec.args, ['token', '--server=https://gw.example.com:8443', '--cluster=prod-1']);
    assert.equal(exec.interactiveMode, 'IfAvailable');
    assert.deepEqual(exec.env, [{ name: 'KUBEGATE_GATEWAY_CA_DATA', value: b64(gatewayCa) }]);
    assert.equal(view.users.find((u: { name: string }) => u.name === 'dev.cluster_1').user.token, 'kgt_t-aaaaaaaaaaaaaaaa.AAAA-_');
    assert.deepEqual(await kubectlLines(text, ['config', 'get-contexts', '-o', 'name']), ['dev.cluster_1', 'prod', 'prod-cp-1', 'prod-cp-2']);
  });
});
