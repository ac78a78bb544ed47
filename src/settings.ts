/** Runtime settings (docs/reference/configuration.md), stored in the store, validated here, defaults applied here. */
import { badRequest } from './errors.js';
import type { Store } from './store/store.js';

export interface Settings {
  'kubeconfig-generate-token': boolean;
  'kubeconfig-default-token-ttl-minutes': number;
  'auth-token-max-ttl-minutes': number;
  'session-ttl-minutes': number;
}

export type SettingName = keyof Settings;

export const SETTING_DEFAULTS: Settings = {
  'kubeconfig-generate-token': true,
  'kubeconfig-default-token-ttl-minutes': 43_200,
  'auth-token-max-ttl-minutes': 129_600,
  'session-ttl-minutes': 960,
};

/** What each setting means, for docs/reference/configuration.md. */
export const SETTING_HELP: Record<SettingName, string> = {
  'kubeconfig-generate-token': 'true: a downloaded kubeconfig carries a new cluster-scoped token; false: an exec entry running `kubegate token`',
  'kubeconfig-default-token-ttl-minutes': 'lifetime of the token in a downloaded kubeconfig',
  'auth-token-max-ttl-minutes': 'caps the lifetime of every token issued (sessions, API tokens, kubeconfig tokens)',
  'session-ttl-minutes': 'lifetime of a login session (`POST /v1/login`, the web UI)',
};

export function isSettingName(name: string): name is SettingName {
  return Object.hasOwn(SETTING_DEFAULTS, name);
}

/** Validates a value given over the API (a JSON boolean/number, or its string form). */
export function parseSettingValue(name: SettingName, value: unknown): string {
  if (typeof SETTING_DEFAULTS[name] === 'boolean') {
    if (value === true || value === 'true') return 'true';
    if (value === false || value === 'false') return 'false';
    throw badRequest(`value: setting "${name}" takes true or false`);
  }
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 5_256_000) {
    throw badRequest(`value: setting "${name}" takes a whole number of minutes between 1 and 5256000`);
  }
  return String(n);
}

function decode(name: SettingName, raw: string | undefined): Settings[SettingName] {
  const fallback = SETTING_DEFAULTS[name];
  if (raw === undefined) return fallback;
  return typeof fallback === 'boolean' ? raw === 'true' : Number(raw);
}

/** Reads every setting with defaults applied. */
export async function readSettings(store: Store): Promise<Settings> {
  const stored = await store.getSettings();
  const out = { ...SETTING_DEFAULTS } as Record<SettingName, Settings[SettingName]>;
  for (const name of Object.keys(SETTING_DEFAULTS) as SettingName[]) out[name] = decode(name, stored[name]);
  return out as Settings;
}
