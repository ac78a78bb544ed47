/**
 * Asks for a username and password on the controlling terminal: keys are read from `/dev/tty`
 * (kubectl may have handed the plugin a pipe), prompts go to stderr (stdout carries only the
 * ExecCredential), and the password is not echoed.
 */
import { openSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import { PluginError } from './plugin-error.js';

const NO_TERMINAL = 'no terminal to ask for a username and password; set KUBEGATE_USERNAME and KUBEGATE_PASSWORD';

/** Prompts for what is missing; throws a one-line `PluginError` when there is no terminal. */
export async function promptCredentials(server: string, known: { username?: string | undefined }): Promise<{ username: string; password: string }> {
  let input: ReadStream;
  try {
    input = new ReadStream(openSync('/dev/tty', 'r'));
    input.setRawMode(true);
  } catch {
    throw new PluginError(NO_TERMINAL, 2);
  }
  input.setEncoding('utf8');
  try {
    process.stderr.write(`Log in to kubegate at ${server}\n`);
    const username = known.username ?? (await readLine(input, 'Username: ', true));
    const password = await readLine(input, 'Password: ', false);
    if (!username || !password) throw new PluginError('a username and password are needed to log in', 2);
    return { username, password };
  } finally {
    input.setRawMode(false);
    input.destroy();
  }
}

/** Reads one line in raw mode, echoing it or not; Ctrl-C aborts, backspace and Ctrl-U edit. */
function readLine(input: ReadStream, prompt: string, echo: boolean): Promise<string> {
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let line = '';
    const finish = (err?: PluginError): void => {
      input.off('data', onData);
      input.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(line);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003') return finish(new PluginError('interrupted', 130));
        if (ch === '\u0004') {
          if (!line) return finish(new PluginError('interrupted', 130));
          continue;
        }
        if (ch === '\u007f' || ch === '\b') {
          if (line && echo) process.stderr.write('\b \b');
          line = [...line].slice(0, -1).join('');
        } else if (ch === '\u0015') {
          if (echo) process.stderr.write('\b \b'.repeat([...line].length));
          line = '';
        } else if (ch >= ' ') {
          line += ch;
          if (echo) process.stderr.write(ch);
        }
      }
    };
    input.on('data', onData);
    input.resume();
  });
}
