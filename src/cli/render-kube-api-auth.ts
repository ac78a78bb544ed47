/** `kubegate render kube-api-auth`: prints the Namespace, Secret and DaemonSet that run the webhook. */
import { defineCommand, readSettings } from '../config/settings.js';
import { parseBaseUrl, parseClusterId, parseDnsLabel, parseImage, readCertificateFile, readTokenFile } from '../config/values.js';
import { defaultImage } from '../render/documents.js';
import { DEFAULT_NAMESPACE, renderKubeApiAuth } from '../render/kube-api-auth.js';

export const spec = defineCommand({
  name: 'render kube-api-auth',
  usage: ['render kube-api-auth --cluster ID --gateway URL [flags]'],
  description: 'Prints the Namespace, Secret and DaemonSet kube-api-auth for one cluster.',
  settings: {
    cluster: { flag: 'cluster', required: true, help: 'the cluster id at the gateway', parse: parseClusterId },
    gateway: { flag: 'gateway', required: true, help: 'the gateway URL the webhook syncs from', parse: parseBaseUrl },
    image: { flag: 'image', default: defaultImage(), help: 'container image, built from this repository\'s Dockerfile', parse: parseImage },
    namespace: { flag: 'namespace', default: DEFAULT_NAMESPACE, help: 'namespace', parse: parseDnsLabel },
    agentToken: { flag: 'agent-token-file', help: "file with the cluster's agent token (else the Secret holds a placeholder)", parse: readTokenFile },
    gatewayCa: { flag: 'gateway-ca-file', help: 'CA certificate (PEM) of the gateway, when not publicly trusted', parse: readCertificateFile },
  },
});

export async function run(argv: string[]): Promise<number> {
  const v = readSettings(spec, argv);
  process.stdout.write(
    renderKubeApiAuth({
      clusterId: v.cluster,
      gateway: v.gateway.href.replace(/\/$/, ''),
      image: v.image,
      namespace: v.namespace,
      agentToken: v.agentToken,
      gatewayCaPem: v.gatewayCa,
    }),
  );
  return 0;
}
