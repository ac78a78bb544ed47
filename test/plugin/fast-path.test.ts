/**
 * kubectl runs `kubegate token` before every command, so its module graph (static and lazy) must
 * stay small: Node built-ins and the plugin's own files only — no express, no database, no x509.
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

it('the CLI entry and `kubegate token` load only Node built-ins and plugin files', () => {
  const main = readFileSync(resolve(SRC, 'cli/main.ts'), 'utf8');
  // main.ts may only load commands lazily; follow just the token command from it.
  assert.match(main, /token: async \(\) => \(await import\('\.\/token\.js'\)\)\.tokenCommand/);
  const { files, packages } = graph(resolve(SRC, 'cli/token.ts'));
  for (const p of packages) assert.ok(p.startsWith('node:'), `token path imports package ${p}`);
  for (const f of files) assert.ok(f === 'cli/token.ts' || f.startsWith('credential-plugin/'), `token path imports ${f}`);
  const mainStatic = [...main.matchAll(/^import\s[^;]*?from\s+'([^']+)'/gm)].map((m) => m[1]);
  assert.deepEqual(mainStatic, ['../errors.js']);
});
