/** `kubegate render impersonator`: prints the ServiceAccount and RBAC the gateway impersonates with. */
import { dnsLabel, flagsHelp, parseFlags } from '../render/flags.js';
import { DEFAULT_IMPERSONATOR_NAMESPACE, renderImpersonator } from '../render/impersonator.js';

const FLAGS = { namespace: { help: `namespace of the ServiceAccount (default ${DEFAULT_IMPERSONATOR_NAMESPACE})` } };

export const renderImpersonatorCommand = {
  summary: 'print the RBAC and ServiceAccount the gateway impersonates with',
  async run(argv: string[]): Promise<number | void> {
    if (argv.includes('--help') || argv.includes('-h')) {
      process.stdout.write(flagsHelp('kubegate render impersonator [--namespace NS]', 'Prints the ServiceAccount, its token Secret and the impersonation ClusterRole and binding.', FLAGS));
      return 0;
    }
    const v = parseFlags(argv, FLAGS);
    process.stdout.write(renderImpersonator({ namespace: v.namespace === undefined ? undefined : dnsLabel('namespace', v.namespace) }));
    return 0;
  },
};
