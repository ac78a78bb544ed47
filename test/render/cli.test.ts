/** The render commands and `kubegate webhook` flags through the built binary: output on stdout, bad flags exit 2 with one line. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { issueToken } from '../../src/auth/tokens.js';
import { runKubegate } from '../webhook/support.js';

describe('render and webhook commands (built CLI)', () => {
  it('print parseable YAML', async () => {
    for (const args of [['render', 'webhook-config'], ['render', 'impersonator', '--namespace', 'gate'], ['render', 'kube-api-auth', '--cluster', 'prod', '--gateway', 'https://gw.example.com']]) {
      const res = await runKubegate(args);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stderr, '');
      for (const doc of parseAllDocuments(res.stdout) as ReturnType<typeof parseAllDocuments> & unknown[]) assert.deepEqual(doc.errors, []);
    }
  });

  it('put the agent token file into the Secret', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kubegate-render-'));
    try {
      const token = issueToken().token;
      await writeFile(join(dir, 'agent'), `${token}\n`);
      const res = await runKubegate(['render', 'kube-api-auth', '--cluster', 'prod', '--gateway', 'https://gw', `--agent-token-file=${join(dir, 'agent')}`]);
      assert.equal(res.code, 0, res.stderr);
      assert.ok(res.stdout.includes(`agent-token: ${token}`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  const bad: Array<[string[], RegExp]> = [
    [['render', 'kube-api-auth', '--gateway', 'https://gw'], /--cluster is required/],
    [['render', 'kube-api-auth', '--cluster', 'prod'], /--gateway is required/],
    [['render', 'kube-api-auth', '--cluster', 'Prod!', '--gateway', 'https://gw'], /--cluster: "Prod!" is not a DNS-1123 label/],
    [['render', 'kube-api-auth', '--cluster', 'prod', '--gateway', 'ftp://gw'], /--gateway: must be an http\(s\) URL/],
    [['render', 'kube-api-auth', '--cluster', 'prod', '--gateway', 'https://gw', '--agent-token-file', '/nonexistent'], /--agent-token-file: cannot read/],
    [['render', 'impersonator', '--nope'], /Unknown option '--nope'/],
    [['render', 'webhook-config', 'extra'], /Unexpected argument 'extra'|positional/],
    [['webhook', '--cluster', 'prod', '--agent-token-file', '/x'], /--gateway is required/],
    [['webhook', '--gateway', 'https://gw', '--cluster', 'prod', '--agent-token-file', '/nonexistent'], /--agent-token-file: cannot read \/nonexistent/],
    [['webhook', '--gateway', 'https://gw', '--cluster', 'prod', '--agent-token-file', '/etc/hostname', '--listen', 'nowhere'], /--agent-token-file: .* does not hold a kubegate token/],
  ];
  for (const [args, message] of bad) {
    it(`exits 2 with one line: kubegate ${args.join(' ')}`, async () => {
      const res = await runKubegate(args);
      assert.equal(res.code, 2);
      assert.equal(res.stdout, '');
      assert.match(res.stderr, message);
      assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr);
    });
  }

  it('has --help for each command', async () => {
    for (const args of [['webhook', '--help'], ['render', 'webhook-config', '--help'], ['render', 'kube-api-auth', '--help'], ['render', 'impersonator', '--help']]) {
      const res = await runKubegate(args);
      assert.equal(res.code, 0);
      assert.match(res.stdout, /^Usage: kubegate /);
    }
  });
});
