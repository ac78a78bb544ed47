/** `kubegate demo`: its settings table (docs/reference/commands.md is printed from it). */
import { defineCommand, readSettings } from '../config/settings.js';
import { parseCount, parseListen, parseLogLevel, parsePath, type ListenAddress } from '../config/values.js';

export interface DemoConfig {
  dataDir: string;
  /** Where the gateway listens; its public URL is https://localhost:<port>. */
  listen: ListenAddress;
  /** Port on 127.0.0.1 of the kube-apiserver imitation (the demo cluster, and its direct door). */
  clusterPort: number;
  /** Port on 127.0.0.1 of the demo cluster's `kubegate webhook`. */
  webhookPort: number;
  reset: boolean;
  logLevel: string;
}

const port = (name: string, raw: string) => parseCount(name, raw, 1, 65535);

export const DEMO_COMMAND = defineCommand({
  name: 'demo',
  usage: ['demo [--reset] [flags]'],
  description: [
    'Runs a demonstration on this machine: the gateway, a kube-apiserver imitation (not a real',
    'cluster: it answers the Kubernetes API from memory, nothing is scheduled) registered as cluster',
    '"demo", its kube-api-auth webhook for the direct door, and a user "demo" who is a member. It',
    'prints the web UI URL, the passwords, a kubeconfig and commands to try. Type "stop" (Enter) to',
    'stop only the gateway and "start" to start it again; Ctrl-C stops everything. State is kept in',
    '--data-dir; --reset starts from scratch.',
  ].join('\n'),
  settings: {
    dataDir: { flag: 'data-dir', default: './demo-data', help: 'where the demo keeps its database, certificates, passwords and kubeconfig', parse: parsePath },
    listen: { flag: 'listen', default: '127.0.0.1:8443', help: "the gateway's address (the UI and kubeconfigs use https://localhost:<port>)", parse: parseListen },
    clusterPort: { flag: 'cluster-port', default: '16443', help: 'port on 127.0.0.1 of the kube-apiserver imitation', parse: port },
    webhookPort: { flag: 'webhook-port', default: '16440', help: 'port on 127.0.0.1 of the webhook the imitation asks', parse: port },
    reset: { flag: 'reset', boolean: true, help: 'delete --data-dir first (new passwords, a new gateway CA)' },
    logLevel: { flag: 'log-level', default: 'info', help: 'level of the log file (<data-dir>/kubegate.log)', parse: parseLogLevel },
  },
});

export function loadDemoConfig(argv: readonly string[]): DemoConfig {
  const v = readSettings(DEMO_COMMAND, argv);
  return { dataDir: v.dataDir, listen: v.listen, clusterPort: v.clusterPort, webhookPort: v.webhookPort, reset: v.reset === true, logLevel: v.logLevel };
}
