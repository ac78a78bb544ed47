/**
 * The product runs with production dependencies only (the image runs `npm prune --omit=dev`):
 * every package that code under src/ imports must be in `dependencies`, not `devDependencies`.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { it } from 'node:test';

const root = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (path.endsWith('.ts')) yield path;
  }
}

/** The package a bare specifier names ('@scope/name/sub' → '@scope/name'); undefined for relative and node: ones. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('node:') || builtinModules.includes(specifier)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

it('every package src/ imports at run time is a production dependency', () => {
  const missing: string[] = [];
  for (const file of sources(join(root, 'src'))) {
    const text = readFileSync(file, 'utf8');
    // Type-only imports vanish at build time.
    for (const m of text.matchAll(/^import\s+(?!type\s)[^'"]*?from\s+'([^']+)'|^import\s+'([^']+)'|import\('([^']+)'\)/gm)) {
      const name = packageOf(m[1] ?? m[2] ?? m[3]!);
      if (name && !(name in pkg.dependencies)) missing.push(`${file.slice(root.length + 1)}: ${name}`);
    }
  }
  assert.deepEqual(missing, []);
});
