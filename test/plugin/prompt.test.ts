/**
 * The terminal prompt of `kubegate token`, on a real pseudo-terminal (Python's `pty` module drives
 * it): prompts on the terminal, the password not echoed, stdout still only the ExecCredential.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, it } from 'node:test';
import { ADMIN_PASSWORD, call, createUser, login, startTestGateway, type TestGateway } from '../support/gateway.js';
import { execInfo, KUBEGATE } from './support.js';

const run = promisify(execFile);

// Forks the plugin on a pty with stdout sent to a file; answers the prompts; prints the transcript.
const DRIVER = `
import json, os, pty, sys, time
out_path, answers = sys.argv[1], json.loads(sys.argv[2])
argv = sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    out = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(out, 1)
    os.execvp(argv[0], argv)
transcript = b''
deadline = time.time() + 20
pending = list(answers)
while True:
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        break
    if not chunk:
        break
    transcript += chunk
    if pending and transcript.decode(errors='replace').endswith(pending[0][0]):
        os.write(fd, pending.pop(0)[1].encode())
    if time.time() > deadline:
        break
_, status = os.waitpid(pid, 0)
print(json.dumps({'code': os.waitstatus_to_exitcode(status), 'transcript': transcript.decode(errors='replace')}))
`;

let gw: TestGateway;
let dir: string;

before(async () => {
  gw = await startTestGateway();
  const admin = await login(gw, 'admin', ADMIN_PASSWORD);
  await call(gw, 'POST', '/v1/clusters', { token: admin, body: { id: 'c1', server: 'https://10.0.0.1:6443', credential: { token: 'x' } } });
  await createUser(gw, admin, { username: 'alice', password: 'alice-password' });
  await call(gw, 'PUT', '/v1/clusters/c1/members', { token: admin, body: { principal: 'user:alice', role: 'member' } });
  dir = await mkdtemp(join(tmpdir(), 'kubegate-prompt-'));
});

after(async () => {
  await gw.stop();
  await rm(dir, { recursive: true, force: true });
});

async function drive(answers: Array<[string, string]>, interactive: boolean): Promise<{ code: number; transcript: string; stdout: string }> {
  const outPath = join(dir, `stdout-${Math.random().toString(36).slice(2)}`);
  const { stdout } = await run('python3', ['-c', DRIVER, outPath, JSON.stringify(answers), process.execPath, KUBEGATE, 'token', `--server=${gw.url}`, '--cluster=c1'], {
    env: {
      PATH: process.env.PATH,
      KUBEGATE_CONFIG_DIR: join(dir, `cfg-${Math.random().toString(36).slice(2)}`),
      KUBEGATE_GATEWAY_CA_DATA: Buffer.from(gw.caPem!).toString('base64'),
      KUBERNETES_EXEC_INFO: execInfo('client.authentication.k8s.io/v1', interactive),
    },
    timeout: 30_000,
  });
  return { ...JSON.parse(stdout), stdout: await readFile(outPath, 'utf8') };
}

it('asks for username and password on the terminal, without echoing the password', async () => {
  const r = await drive([['Username: ', 'alice\r'], ['Password: ', 'alice-password\r']], true);
  assert.equal(r.code, 0, r.transcript);
  assert.match(r.transcript, /Log in to kubegate at https:\/\/127\.0\.0\.1:\d+/);
  assert.match(r.transcript, /Username: alice/);
  assert.ok(!r.transcript.includes('alice-password'), `password echoed: ${JSON.stringify(r.transcript)}`);
  const cred = JSON.parse(r.stdout);
  assert.equal(cred.kind, 'ExecCredential');
  assert.match(cred.status.token, /^kgt_/);
});

it('does not prompt when kubectl says the session is not interactive, even on a terminal', async () => {
  const r = await drive([], false);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.doesNotMatch(r.transcript, /Username:/);
  assert.match(r.transcript, /set KUBEGATE_USERNAME and KUBEGATE_PASSWORD/);
});

it('stops on Ctrl-C at the prompt', async () => {
  const r = await drive([['Username: ', '\u0003']], true);
  assert.equal(r.code, 130);
  assert.equal(r.stdout, '');
});
