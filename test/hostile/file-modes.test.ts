/**
 * Issue 14, finding 4 (file modes): a data or certs directory that already exists with an open
 * mode (the Dockerfile's `mkdir -p`, a umask of 022) is tightened at start to 0700, and the
 * database and keys in it to 0600; when it cannot be tightened (owned by someone else) the
 * gateway exits 2 with one line naming the path, its mode and why.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { call } from '../support/gateway.js';
import { startTestGateway } from '../support/gateway.js';

const mode = async (path: string) => ((await stat(path)).mode & 0o777).toString(8);

describe('the gateway owns its files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kubegate-modes-'));
    await chmod(dir, 0o755);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('tightens existing 0755 data and certs directories to 0700 and their files to 0600', async () => {
    const data = join(dir, 'data');
    const certs = join(dir, 'certs');
    await mkdir(data, { mode: 0o755 });
    await mkdir(certs, { mode: 0o755 });
    await chmod(data, 0o755);
    await chmod(certs, 0o755);
    // A database left by an earlier start with the umask's 0644.
    await writeFile(join(data, 'kubegate.db'), '', { mode: 0o644 });
    await chmod(join(data, 'kubegate.db'), 0o644);
    const gw = await startTestGateway([], { dir });
    try {
      assert.equal((await call(gw, 'GET', '/healthz')).status, 200);
      assert.equal(await mode(data), '700');
      assert.equal(await mode(certs), '700');
      const files = [...(await readdir(data)).map((f) => join(data, f)), ...(await readdir(certs)).map((f) => join(certs, f))];
      assert.ok(files.some((f) => f.endsWith('kubegate.db')) && files.some((f) => f.endsWith('ca.key')));
      for (const f of files) assert.equal(await mode(f), '600', f);
    } finally {
      await gw.stop();
    }
  });

  it('exits 2 with one line when a directory it does not own is too open', async () => {
    assert.equal(process.getuid?.(), 0, 'runs as root (as CI does) to start the gateway as another user');
    const data = join(dir, 'foreign');
    await mkdir(data, { mode: 0o755 });
    await chmod(data, 0o755);
    // nobody (65534) runs the gateway; the directory stays root's.
    const out = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, resolve('bin/kubegate'), 'serve', '--listen', '127.0.0.1:0', '--data-dir', data, '--certs-dir', join(dir, 'nobody-certs')],
      { encoding: 'utf8', timeout: 20_000, cwd: tmpdir() },
    );
    assert.equal(out.status, 2, out.stderr);
    const lines = out.stderr.split('\n');
    assert.equal(lines.length, 2, out.stderr);
    assert.match(lines[0]!, /--data-dir \(KUBEGATE_DATA_DIR\): directory ".*foreign" is mode 0755, owned by uid 0 and cannot be made 0700 \(EPERM\)/);
  });
});
