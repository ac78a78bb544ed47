/**
 * The web UI's files: hand-written ES modules, CSS and HTML under `src/ui/static/`, served as they
 * are (no build step). The folder is found from this module's URL: `src/ui/` under tsx and
 * `dist/ui/` once compiled sit at the same depth, so `../../src/ui/static/` names it from both.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const STATIC_DIR = fileURLToPath(new URL('../../src/ui/static/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface StaticFile {
  type: string;
  body: Buffer;
}

/**
 * Every servable file by URL path: `index.html` at `/`, the rest under `/ui/`. Read once at start;
 * undefined when the folder is missing (the gateway then runs without a UI).
 */
export function loadStaticFiles(dir = STATIC_DIR): Map<string, StaticFile> | undefined {
  try {
    if (!statSync(dir).isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  const files = new Map<string, StaticFile>();
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.name.startsWith('.')) continue;
      if (entry.isDirectory()) walk(path);
      const type = TYPES[extname(entry.name)];
      if (!entry.isFile() || !type) continue;
      const url = relative(dir, path).split(sep).join('/');
      files.set(url === 'index.html' ? '/' : `/ui/${url}`, { type, body: readFileSync(path) });
    }
  };
  walk(dir);
  return files.has('/') ? files : undefined;
}
