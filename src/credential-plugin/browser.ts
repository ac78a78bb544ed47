/**
 * Opens a URL in the user's browser for `kubegate token`'s loopback login, best effort: the URL
 * is printed anyway, for a machine without one (an SSH session) or a command that fails.
 */
import { spawn } from 'node:child_process';

/** The platform's opener, unless `KUBEGATE_BROWSER` names a command (it gets the URL as its one argument). */
export function openBrowser(url: string, command: string | undefined): void {
  const [file, args] =
    command !== undefined
      ? [command, [url]]
      : process.platform === 'darwin'
        ? ['open', [url]]
        : process.platform === 'win32'
          ? // Not `cmd /c start`: cmd would read the URL's & and ^ as its own syntax.
            ['rundll32', ['url.dll,FileProtocolHandler', url]]
          : ['xdg-open', [url]];
  try {
    const child = spawn(file, args as string[], { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
  } catch {
    // No opener: the printed URL is the way.
  }
}
