/**
 * `mkdir -p` that always ends. Node 20's recursive mkdir spins forever on some paths (e.g. under
 * /proc, where mkdir answers ENOENT although the parent exists), so walk up to the nearest existing
 * ancestor and create each missing level ourselves; any failure is reported, never retried.
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

export async function ensureDir(path: string, mode = 0o700): Promise<void> {
  const missing: string[] = [];
  let cur = path;
  for (;;) {
    try {
      if (!(await stat(cur)).isDirectory()) throw Object.assign(new Error(`${cur} is not a directory`), { code: 'ENOTDIR' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      missing.push(cur);
      const parent = dirname(cur);
      if (parent === cur) break;
      cur = parent;
    }
  }
  for (const dir of missing.reverse()) {
    try {
      await mkdir(dir, { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
