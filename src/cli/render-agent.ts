/** `kubegate render agent`: prints the manifests that run the agent in a cluster (what the import URL serves). */
import { defineCommand, readSettings } from '../config/settings.js';
import { parseBaseUrl, parseClusterId, parseCount, parseDnsLabel, parseImage, readCertificateFile, readTokenFile } from '../config/values.js';
import { DEFAULT_AGENT_NAMESPACE, renderAgent } from '../render/agent.js';
import { defaultImage } from '../render/documents.js';

export const spec = defineCommand({
  name: 'render agent',
  usage: ['render agent --cluster ID --gateway URL [--token-file F] [flags]'],
  description: "Prints the Namespace, ServiceAccount, RBAC, Secret and Deployment of the cluster's agent, as the import URL serves them.",
  settings: {
    cluster: { flag: 'cluster', required: true, help: 'the cluster id at the gateway', parse: parseClusterId },
    gateway: { flag: 'gateway', required: true, help: 'the gateway URL the agent dials', parse: parseBaseUrl },
    tokenFile: { flag: 'token-file', help: "file with the cluster's agent token (else the Secret holds a placeholder)", parse: readTokenFile },
    gatewayCa: { flag: 'gateway-ca-file', help: 'CA certificate (PEM) of the gateway, when not publicly trusted', parse: readCertificateFile },
    image: { flag: 'image', default: defaultImage(), help: "container image, built from this repository's Dockerfile", parse: parseImage },
    namespace: { flag: 'namespace', default: DEFAULT_AGENT_NAMESPACE, help: 'namespace', parse: parseDnsLabel },
    replicas: { flag: 'replicas', default: '2', help: 'agent replicas', parse: (name, raw) => parseCount(name, raw, 1, 10) },
    kubeApiAuth: { flag: 'kube-api-auth', boolean: true, help: 'also print the kube-api-auth manifests (the authorized endpoint is enabled)' },
  },
});

export async function run(argv: string[]): Promise<number> {
  const v = readSettings(spec, argv);
  process.stdout.write(
    renderAgent({
      clusterId: v.cluster,
      gateway: v.gateway.href.replace(/\/$/, ''),
      agentToken: v.tokenFile,
      gatewayCaPem: v.gatewayCa,
      image: v.image,
      namespace: v.namespace,
      replicas: v.replicas,
      kubeApiAuth: v.kubeApiAuth,
    }),
  );
  return 0;
}
