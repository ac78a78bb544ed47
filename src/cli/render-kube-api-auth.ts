/** `kubegate render kube-api-auth`: prints the Namespace, Secret and DaemonSet that run the webhook. */
import { X509Certificate } from 'node:crypto';
import { parseToken } from '../auth/tokens.js';
import { parseBaseUrl } from '../config/values.js';
import { ConfigError } from '../errors.js';
import { dnsLabel, flagsHelp, parseFlags, readFlagFile } from '../render/flags.js';
import { DEFAULT_NAMESPACE, renderKubeApiAuth } from '../render/kube-api-auth.js';
import { defaultImage } from '../render/documents.js';

const FLAGS = {
  cluster: { help: 'the cluster id at the gateway', required: true },
  gateway: { help: 'the gateway URL the webhook syncs from', required: true },
  image: { help: `container image (default ${defaultImage()})` },
  namespace: { help: `namespace (default ${DEFAULT_NAMESPACE})` },
  'agent-token-file': { help: 'file with the cluster\'s agent token (else the Secret holds a placeholder)' },
  'gateway-ca-file': { help: 'CA certificate (PEM) of the gateway, when not publicly trusted' },
};

export const renderKubeApiAuthCommand = {
  summary: 'print the manifests that run the webhook on a cluster',
  async run(argv: string[]): Promise<number | void> {
    if (argv.includes('--help') || argv.includes('-h')) {
      process.stdout.write(flagsHelp('kubegate render kube-api-auth --cluster ID --gateway URL [flags]', 'Prints the Namespace, Secret and DaemonSet kube-api-auth for one cluster.', FLAGS));
      return 0;
    }
    const v = parseFlags(argv, FLAGS);
    let agentToken: string | undefined;
    if (v['agent-token-file'] !== undefined) {
      agentToken = readFlagFile('agent-token-file', v['agent-token-file']).trim();
      if (!parseToken(agentToken)) throw new ConfigError(`--agent-token-file: ${v['agent-token-file']} does not hold a kubegate token`);
    }
    let gatewayCaPem: string | undefined;
    if (v['gateway-ca-file'] !== undefined) {
      gatewayCaPem = readFlagFile('gateway-ca-file', v['gateway-ca-file']);
      try {
        new X509Certificate(gatewayCaPem);
      } catch {
        throw new ConfigError(`--gateway-ca-file: ${v['gateway-ca-file']} is not a PEM certificate`);
      }
    }
    if (v.image !== undefined && /\s/.test(v.image)) throw new ConfigError(`--image: "${v.image}" is not an image reference`);
    process.stdout.write(
      renderKubeApiAuth({
        clusterId: dnsLabel('cluster', v.cluster!),
        gateway: parseBaseUrl('--gateway', v.gateway!).href.replace(/\/$/, ''),
        image: v.image,
        namespace: v.namespace === undefined ? undefined : dnsLabel('namespace', v.namespace),
        agentToken,
        gatewayCaPem,
      }),
    );
    return 0;
  },
};
