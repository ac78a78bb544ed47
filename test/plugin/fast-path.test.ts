/**
 * kubectl runs `kubegate token` before every command, so its module graph (static and lazy) must
 * stay small: Node built-ins, the plugin's own files and the settings engine with its validators
 * only — no express, no database, no x509 library.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { it } from 'node:test';

const SRC = resolve(import.meta.dirname, '../../src');
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|(?:^|\n)\s*import\s+'([^']+)'|import\('([^']+)'\)/g;

function graph(entry: string): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2] ?? m[3])!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else packages.add(spec);
    }
  };
  visit(entry);
  return { files: [...files].map((f) => relative(SRC, f)).sort(), packages: [...packages].sort() };
}

/** What the token path may load besides the plugin's own files: built-ins-only modules. */
const SHARED = ['auth/tokens.ts', 'config/settings.ts', 'config/values.ts', 'errors.ts'];

it('the CLI entry and `kubegate token` load only Node built-ins, plugin files and the settings engine', () => {
  const main = readFileSync(resolve(SRC, 'cli/main.ts'), 'utf8');
  // main.ts may only load commands lazily; follow just the token command from it.
  assert.match(main, /token: \{ summary: '[^']*', load: \(\) => import\('\.\/token\.js'\) \}/);
  const { files, packages } = graph(resolve(SRC, 'cli/token.ts'));
  for (const p of packages) assert.ok(p.startsWith('node:'), `token path imports package ${p}`);
  for (const f of files) assert.ok(f === 'cli/token.ts' || f.startsWith('credential-plugin/') || SHARED.includes(f), `token path imports ${f}`);
  const mainStatic = [...main.matchAll(/^import\s[^;]*?from\s+'([^']+)'/gm)].map((m) => m[1]);
  assert.deepEqual(mainStatic, ['../config/settings.js', '../errors.js']);
  for (const f of ['config/settings.ts', 'config/values.ts']) assert.deepEqual(graph(resolve(SRC, f)).packages.filter((p) => !p.startsWith('node:')), [], `${f} uses built-ins only`);
});
