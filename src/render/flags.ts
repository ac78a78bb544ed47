/** Flag parsing shared by the `render` commands: strict, with one-line `ConfigError`s. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';

export interface FlagSpec {
  help: string;
  required?: boolean;
}

/** Parses string flags; `--help` is handled by the caller before this. */
export function parseFlags(argv: readonly string[], specs: Record<string, FlagSpec>): Record<string, string | undefined> {
  const options = Object.fromEntries(Object.keys(specs).map((f) => [f, { type: 'string' as const }]));
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }) as { values: Record<string, string | undefined> });
  } catch (err) {
    throw new ConfigError((err as Error).message.split('\n')[0]!);
  }
  for (const [flag, spec] of Object.entries(specs)) {
    if (spec.required && !values[flag]) throw new ConfigError(`--${flag} is required`);
    if (values[flag] === '') throw new ConfigError(`--${flag} must not be empty`);
  }
  return values;
}

/** The `--help` text of a render command. */
export function flagsHelp(usage: string, summary: string, specs: Record<string, FlagSpec>): string {
  const lines = [`Usage: ${usage}`, '', summary, '', 'Flags:'];
  for (const [flag, s] of Object.entries(specs)) lines.push(`  --${`${flag} VALUE`.padEnd(24)} ${s.help}${s.required ? ' (required)' : ''}`);
  return lines.join('\n') + '\n';
}

/** Reads a file named by a flag. */
export function readFlagFile(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`--${flag}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A DNS-1123 label (cluster ids, namespaces). */
export function dnsLabel(flag: string, value: string): string {
  if (value.length > 63 || !DNS_LABEL.test(value)) throw new ConfigError(`--${flag}: "${value}" is not a DNS-1123 label`);
  return value;
}
