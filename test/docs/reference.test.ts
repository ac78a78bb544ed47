/**
 * The reference is the contract: its generated parts must match the tables in the code (run
 * `npm run docs` after changing a setting), and no link inside docs/ or the README may point at a
 * file the repository does not have.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { references } from '../../scripts/reference.js';

const ROOT = resolve(import.meta.dirname, '../..');

it('the generated parts of docs/reference match the code (npm run docs)', async () => {
  for (const { file, text } of await references()) {
    assert.equal(readFileSync(file, 'utf8'), text, `${file.replace(`${ROOT}/`, '')} is out of date: run npm run docs`);
  }
});

it('every relative link in the README, SECURITY.md and docs/ points at a file of the repository', () => {
  const pages = ['README.md', 'SECURITY.md', ...readdirSync(join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  for (const page of pages) {
    const raw = readFileSync(join(ROOT, page), 'utf8');
    assert.doesNotMatch(raw, /\.\.\/shared\//, `${page} points outside the repository`);
    // Code spans and blocks are not links (a regex like `[a-z]([-a-z]*)` would look like one).
    const text = raw.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
    for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      assert.ok(existsSync(resolve(dirname(join(ROOT, page)), target!)), `${page} links ${target}, which the repository does not have`);
    }
  }
});
