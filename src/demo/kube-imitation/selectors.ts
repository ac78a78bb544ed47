/**
 * `labelSelector` and `fieldSelector` query parameters as kube-apiserver filters lists and
 * watches with them (kubectl's `delete --wait` and `get <name> -w` rely on `metadata.name`).
 */
import { badRequest } from './status.js';
import type { KubeObject } from './types.js';

export type ObjectFilter = (object: KubeObject) => boolean;

/** Splits on commas that are not inside `in (...)` lists. */
const splitTopLevel = (text: string): string[] => {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      out.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  out.push(current);
  return out.map((part) => part.trim()).filter((part) => part !== '');
};

const labelRequirement = (text: string): ObjectFilter => {
  const labels = (o: KubeObject): Record<string, string> => o.metadata.labels ?? {};
  const setMatch = /^(\S+)\s+(in|notin)\s+\((.*)\)$/.exec(text);
  if (setMatch) {
    const [, key = '', op, list = ''] = setMatch;
    const values = list.split(',').map((v) => v.trim());
    return op === 'in'
      ? (o) => Object.hasOwn(labels(o), key) && values.includes(labels(o)[key] ?? '')
      : (o) => !Object.hasOwn(labels(o), key) || !values.includes(labels(o)[key] ?? '');
  }
  const opMatch = /^([^!=<>\s]+)\s*(==|!=|=)\s*(\S*)$/.exec(text);
  if (opMatch) {
    const [, key = '', op, value = ''] = opMatch;
    return op === '!='
      ? (o) => labels(o)[key] !== value
      : (o) => Object.hasOwn(labels(o), key) && labels(o)[key] === value;
  }
  if (/^![^!=\s]+$/.test(text)) return (o) => !Object.hasOwn(labels(o), text.slice(1));
  if (/^[^!=<>\s()]+$/.test(text)) return (o) => Object.hasOwn(labels(o), text);
  throw badRequest(`unable to parse requirement: invalid label selector "${text}"`);
};

const FIELD_GETTERS: Record<string, (o: KubeObject) => string> = {
  'metadata.name': (o) => o.metadata.name ?? '',
  'metadata.namespace': (o) => o.metadata.namespace ?? '',
};

const fieldRequirement = (text: string): ObjectFilter => {
  const match = /^([^!=]+)(==|!=|=)(.*)$/.exec(text);
  if (!match) throw badRequest(`invalid selector: '${text}'; can't understand '${text}'`);
  const [, field = '', op, value = ''] = match;
  const get = FIELD_GETTERS[field.trim()];
  if (!get) throw badRequest(`"${field.trim()}" is not a known field selector: only "metadata.name", "metadata.namespace"`);
  return op === '!=' ? (o) => get(o) !== value : (o) => get(o) === value;
};

/** The conjunction of the request's label and field selectors (absent ones match everything). */
export const selectorFilter = (query: URLSearchParams, extraFieldSelector?: string): ObjectFilter => {
  const filters: ObjectFilter[] = [];
  for (const part of splitTopLevel(query.get('labelSelector') ?? '')) filters.push(labelRequirement(part));
  const fieldSelectors = [query.get('fieldSelector') ?? '', extraFieldSelector ?? ''].join(',');
  for (const part of splitTopLevel(fieldSelectors)) filters.push(fieldRequirement(part));
  return (object) => filters.every((filter) => filter(object));
};
