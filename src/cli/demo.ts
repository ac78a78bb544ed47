/**
 * `kubegate demo` (`npm run demo`): the gateway, a kube-apiserver imitation and its webhook on this
 * machine (src/demo/). Lines on stdin: "stop" stops only the gateway, "start" starts it again.
 * Ctrl-C (SIGINT) or SIGTERM stops everything.
 */
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DEMO_COMMAND, loadDemoConfig } from '../demo/config.js';
import { demoInstructions, DEMO_DIRECT_CONTEXT, startDemo, type Demo } from '../demo/demo.js';
import { ConfigError } from '../errors.js';

export const spec = DEMO_COMMAND;

export async function run(argv: string[]): Promise<number> {
  const config = loadDemoConfig(argv);
  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  say(`kubegate demo: starting in ${config.dataDir}${config.reset ? ' (from scratch)' : ''} …`);
  let demo: Demo;
  try {
    demo = await startDemo(config);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    process.stderr.write(`kubegate demo: ${(err as Error).message} (details in ${join(config.dataDir, 'kubegate.log')})\n`);
    return 1;
  }
  process.stdout.write(demoInstructions(demo, config));

  // terminal: false leaves Ctrl-C to the terminal, which sends SIGINT to the process.
  const lines = createInterface({ input: process.stdin, terminal: false });
  let busy = Promise.resolve();
  lines.on('line', (line) => {
    const command = line.trim().toLowerCase();
    busy = busy.then(async () => {
      if (command === 'stop') {
        if (!demo.gatewayRunning()) return say('kubegate demo: the gateway is already stopped');
        await demo.stopGateway();
        say(`kubegate demo: gateway stopped; the direct door still answers (--context ${DEMO_DIRECT_CONTEXT}). Type "start" to start it again.`);
      } else if (command === 'start') {
        if (demo.gatewayRunning()) return say('kubegate demo: the gateway is already running');
        await demo.startGateway();
        say(`kubegate demo: gateway started at ${demo.publicUrl}/`);
      } else if (command !== '') {
        say('kubegate demo: type "stop" or "start" (the gateway), or Ctrl-C to stop everything');
      }
    }).catch((err: Error) => say(`kubegate demo: ${err.message}`));
  });

  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  lines.close();
  process.stdin.destroy();
  await busy;
  say(`kubegate demo: ${signal}, stopping the webhook, the gateway and the imitation`);
  await demo.close();
  say('kubegate demo: stopped');
  return 0;
}
