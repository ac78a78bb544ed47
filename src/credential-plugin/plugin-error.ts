/** A failure of `kubegate token`: its message is the one line printed; exit 2 for usage, 1 otherwise. */
export class PluginError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 | 130 = 1,
  ) {
    super(message);
    this.name = 'PluginError';
  }
}
