/** `kubegate render impersonator`: prints the ServiceAccount and RBAC the gateway impersonates with. */
import { defineCommand, readSettings } from '../config/settings.js';
import { parseDnsLabel } from '../config/values.js';
import { DEFAULT_IMPERSONATOR_NAMESPACE, renderImpersonator } from '../render/impersonator.js';

export const spec = defineCommand({
  name: 'render impersonator',
  usage: ['render impersonator [--namespace NS]'],
  description: 'Prints the ServiceAccount, its token Secret and the impersonation ClusterRole and binding.',
  settings: {
    namespace: { flag: 'namespace', default: DEFAULT_IMPERSONATOR_NAMESPACE, help: 'namespace of the ServiceAccount', parse: parseDnsLabel },
  },
});

export async function run(argv: string[]): Promise<number> {
  const v = readSettings(spec, argv);
  process.stdout.write(renderImpersonator({ namespace: v.namespace }));
  return 0;
}
