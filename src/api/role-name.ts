/** What a custom role may be called: a DNS label (it becomes part of a group and a binding name), not a built-in. */
const ROLE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Undefined when `name` is a valid role name, else why not. */
export function parseRoleName(name: string): string | undefined {
  if (name.length > 63 || !ROLE_NAME.test(name)) return `"${name}" is not a role name (lower-case letters, digits and -, at most 63)`;
  return undefined;
}
