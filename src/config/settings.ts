/**
 * The settings engine: every command describes its flags (and their environment variables) in one
 * table, and this reads, validates and documents them. Flags win over the environment, both over
 * defaults; a bad value is one `ConfigError` naming the setting (exit 2, one line). `--help` and
 * docs/reference/commands.md are printed from the same tables, so they cannot drift.
 *
 * Built-ins only: `kubegate token` parses its flags with this before every kubectl command.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';

export interface Setting {
  /** The flag without its dashes; undefined for a setting read from the environment only. */
  flag?: string;
  env?: string;
  /** The raw default, as a user would type it. */
  default?: string;
  /** A flag that takes no value (`--plain-http`); from the environment `true`/`false`. */
  boolean?: boolean;
  /**
   * A flag that may be given more than once (`--oidc-required-claim a=b --oidc-required-claim
   * c=d`); its values reach `parse` joined by commas, as the environment variable spells them.
   */
  repeatable?: boolean;
  required?: boolean;
  /** What `--help` and the reference say. */
  help: string;
  /** Turns the raw text into the typed value; throws a `ConfigError` starting with `name`. */
  parse?: (name: string, raw: string) => unknown;
  /** Left out of `--help` (still documented in the reference). */
  hidden?: boolean;
}

export type SettingsTable = Record<string, Setting>;

/** A command's description: what `--help` prints and the reference documents. */
export interface CommandSpec<T extends SettingsTable = SettingsTable> {
  /** `serve`, `render kube-api-auth`, … */
  name: string;
  /** Usage lines after `kubegate `. */
  usage: readonly string[];
  /** A paragraph for `--help` and the reference. */
  description: string;
  settings: T;
}

type Present<S> = S extends { default: string } | { required: true } | { boolean: true } ? true : false;
type Parsed<S> = S extends { parse: (name: string, raw: string) => infer V } ? V : S extends { boolean: true } ? boolean : string;
/** The typed values of a table: `parse`'s result, or the raw string; `| undefined` when it may be unset. */
export type SettingValues<T extends SettingsTable> = { -readonly [K in keyof T]: Present<T[K]> extends true ? Parsed<T[K]> : Parsed<T[K]> | undefined };

/** Keeps a table's literal types (so `SettingValues` knows what is required or defaulted). */
export function defineCommand<const T extends SettingsTable>(spec: CommandSpec<T>): CommandSpec<T> {
  return spec;
}

/** How messages name a setting: `--listen (KUBEGATE_LISTEN)`, `--cluster`, `KUBEGATE_PASSWORD`. */
export function settingName(s: Setting): string {
  if (s.flag === undefined) return s.env!;
  return s.env ? `--${s.flag} (${s.env})` : `--${s.flag}`;
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off', '']);

/** Reads a command's settings from its arguments and environment, once; throws `ConfigError`. */
export function readSettings<T extends SettingsTable>(spec: CommandSpec<T>, argv: readonly string[], env: NodeJS.ProcessEnv = {}): SettingValues<T> {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const s of Object.values(spec.settings)) if (s.flag !== undefined) options[s.flag] = { type: s.boolean ? 'boolean' : 'string', multiple: s.repeatable === true };
  let values: Record<string, string | boolean | Array<string | boolean> | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (err) {
    const first = (err as Error).message.split('\n')[0]!;
    throw new ConfigError(`${first}; see 'kubegate ${spec.name} --help'`);
  }

  // Every missing required setting is named at once, before any value is read (files included).
  const raws = new Map<string, string | boolean | undefined>();
  const missing: string[] = [];
  for (const [key, s] of Object.entries(spec.settings)) {
    const given = s.flag === undefined ? undefined : values[s.flag];
    // A repeated flag: one empty value is as empty as `--flag ''`.
    let raw: string | boolean | undefined = Array.isArray(given) ? (given.includes('') ? '' : given.join(',')) : given;
    if (raw === undefined && s.env !== undefined && env[s.env] !== undefined && env[s.env] !== '') raw = env[s.env];
    if (raw === '' && s.flag !== undefined) throw new ConfigError(`${settingName(s)} must not be empty`);
    raw ??= s.default;
    if (raw === undefined && s.required) missing.push(s.flag === undefined ? settingName(s) : `--${s.flag}`);
    raws.set(key, raw);
  }
  if (missing.length === 1) throw new ConfigError(`${missing[0]} is required`);
  if (missing.length > 1) throw new ConfigError(`${missing.slice(0, -1).join(', ')} and ${missing.at(-1)} are required`);

  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(spec.settings)) {
    const raw = raws.get(key);
    const name = settingName(s);
    if (raw === undefined) out[key] = s.boolean ? false : undefined;
    else if (!s.boolean) out[key] = s.parse ? s.parse(name, String(raw)) : String(raw);
    else if (typeof raw === 'boolean') out[key] = raw;
    else if (TRUE.has(raw.trim().toLowerCase())) out[key] = true;
    else if (FALSE.has(raw.trim().toLowerCase())) out[key] = false;
    else throw new ConfigError(`${name}: "${raw}" is not a boolean (true or false)`);
  }
  return out as SettingValues<T>;
}

/** True when the arguments ask for help (before anything is validated). */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

/** `(KUBEGATE_LISTEN, 0.0.0.0:8443)`, `(default info)`, `(required)`: what a help line ends with. */
function annotation(s: Setting): string {
  const parts: string[] = [];
  if (s.flag !== undefined && s.env) parts.push(s.env);
  if (s.default !== undefined && !s.boolean) parts.push(s.flag !== undefined && s.env ? s.default : `default ${s.default}`);
  if (s.required) parts.push('required');
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/** The `--help` text of a command. */
export function commandHelp(spec: CommandSpec): string {
  const lines = spec.usage.map((u, i) => `${i === 0 ? 'Usage: ' : '       '}kubegate ${u}`);
  lines.push('', spec.description, '');
  const flags = Object.values(spec.settings).filter((s) => s.flag !== undefined && !s.hidden);
  const envOnly = Object.values(spec.settings).filter((s) => s.flag === undefined && !s.hidden);
  if (flags.length) {
    lines.push(flags.some((s) => s.env) ? 'Flags (environment, default):' : 'Flags:');
    for (const s of flags) lines.push(`  ${(s.boolean ? `--${s.flag}` : `--${s.flag} VALUE`).padEnd(30)} ${s.help}${s.repeatable ? ' (repeatable)' : ''}${annotation(s)}`);
  }
  if (envOnly.length) {
    lines.push('', 'Environment:');
    for (const s of envOnly) lines.push(`  ${s.env!.padEnd(30)} ${s.help}${annotation(s)}`);
  }
  return lines.join('\n') + '\n';
}

/** A command's settings as a Markdown table, for docs/reference/commands.md. */
export function settingsMarkdown(spec: CommandSpec): string {
  const rows = Object.values(spec.settings).map((s) => {
    const flag = s.flag === undefined ? '—' : `\`--${s.flag}\``;
    const env = s.env ? `\`${s.env}\`` : '—';
    const dflt = s.required ? 'required' : s.default !== undefined && !s.boolean ? `\`${s.default}\`` : s.boolean ? 'off' : 'unset';
    const help = s.repeatable ? `${s.help} (repeatable)` : s.help;
    return `| ${flag} | ${env} | ${dflt} | ${help.replace(/\|/g, '\\|')} |`;
  });
  return ['| flag | environment | default | meaning |', '|---|---|---|---|', ...rows].join('\n') + '\n';
}
