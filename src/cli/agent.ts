/** `kubegate agent`: connects this cluster to the gateway until SIGTERM/SIGINT. */
import { AGENT_COMMAND, loadAgentConfig } from '../agent/config.js';
import { startAgent } from '../agent/agent.js';
import { createLogger } from '../log.js';
import { runUntilSignal } from './until-signal.js';

export const spec = AGENT_COMMAND;

export async function run(argv: string[]): Promise<number> {
  const config = loadAgentConfig(argv, process.env);
  const log = createLogger(config.logLevel);
  const agent = await startAgent(config, log);
  await runUntilSignal(agent, log);
  return 0;
}
