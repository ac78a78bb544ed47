/** The gateway's generated CA and serving certificate (docs/reference/configuration.md `--tls-cert`, `--certs-dir`). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, ensureServingMaterial, signLeaf } from '../../src/tls/certificates.js';
import { call, startTestGateway } from '../support/gateway.js';

const FILES = ['ca.crt', 'ca.key', 'server.crt', 'server.key'] as const;

async function readAll(dir: string): Promise<Record<(typeof FILES)[number], string>> {
  const entries = await Promise.all(FILES.map(async (f) => [f, await readFile(join(dir, f), 'utf8')] as const));
  return Object.fromEntries(entries) as Record<(typeof FILES)[number], string>;
}

/** True when the private key PEM and the certificate's public key belong together. */
function keyMatches(certPem: string, keyPem: string): boolean {
  const data = Buffer.from('kubegate');
  const signature = sign('sha256', data, createPrivateKey(keyPem));
  return verify('sha256', data, new X509Certificate(certPem).publicKey, signature);
}

describe('ensureServingMaterial', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'kubegate-tls-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  describe('generated material', () => {
    let dir: string;
    let first: Awaited<ReturnType<typeof ensureServingMaterial>>;

    before(async () => {
      dir = join(root, 'generated', 'certs');
      first = await ensureServingMaterial({ certsDir: dir, publicHost: 'gw.example.com' });
    });

    it('creates ca.crt, ca.key, server.crt and server.key and reports generated', async () => {
      assert.equal(first.generated, true);
      const files = await readAll(dir);
      assert.equal(files['ca.crt'], first.caPem);
      assert.equal(files['server.crt'], first.certPem);
      assert.equal(files['server.key'], first.keyPem);
      assert.equal(createPrivateKey(files['ca.key']!).asymmetricKeyType, 'ec', 'ca.key is a PEM private key');
      assert.ok(keyMatches(files['server.crt'], files['server.key']), 'server.key belongs to server.crt');
      assert.ok(keyMatches(files['ca.crt'], files['ca.key']), 'ca.key belongs to ca.crt');
    });

    it('issues a server certificate for the public host, localhost and 127.0.0.1, signed by the CA', () => {
      const ca = new X509Certificate(first.caPem!);
      const cert = new X509Certificate(first.certPem);
      assert.equal(cert.checkHost('gw.example.com'), 'gw.example.com');
      assert.equal(cert.checkHost('localhost'), 'localhost');
      assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
      assert.equal(cert.checkHost('other.example.com'), undefined);
      assert.equal(cert.checkIP('10.0.0.1'), undefined);
      assert.equal(cert.verify(ca.publicKey), true);
      assert.equal(cert.checkIssued(ca), true);
      assert.equal(cert.ca, false);
      assert.equal(ca.ca, true);
      assert.equal(ca.verify(ca.publicKey), true, 'the CA is self-signed');
      assert.ok(cert.keyUsage?.includes('1.3.6.1.5.5.7.3.1'), 'extended key usage serverAuth');
      assert.ok(new Date(cert.validTo).getTime() > Date.now() + 365 * 86_400_000, 'valid for more than a year');
    });

    it('writes the private keys with mode 0600', async () => {
      for (const f of ['ca.key', 'server.key']) {
        const mode = (await stat(join(dir, f))).mode & 0o777;
        assert.equal(mode, 0o600, `${f} has mode ${mode.toString(8)}`);
      }
      const dirMode = (await stat(dir)).mode & 0o777;
      assert.equal(dirMode & 0o077, 0, `the certs dir is private (${dirMode.toString(8)})`);
    });

    it('reuses everything on a second call (generated false, same content)', async () => {
      const before = await readAll(dir);
      const second = await ensureServingMaterial({ certsDir: dir, publicHost: 'gw.example.com' });
      assert.equal(second.generated, false);
      assert.equal(second.caPem, first.caPem);
      assert.equal(second.certPem, first.certPem);
      assert.equal(second.keyPem, first.keyPem);
      assert.deepEqual(await readAll(dir), before);
    });

    it('re-issues the server certificate for a new public host but keeps the CA', async () => {
      const before = await readAll(dir);
      const moved = await ensureServingMaterial({ certsDir: dir, publicHost: 'new.example.com' });
      assert.equal(moved.generated, true);
      const after = await readAll(dir);
      assert.equal(after['ca.crt'], before['ca.crt']);
      assert.equal(after['ca.key'], before['ca.key']);
      assert.notEqual(after['server.crt'], before['server.crt']);
      assert.notEqual(after['server.key'], before['server.key']);
      const cert = new X509Certificate(after['server.crt']);
      assert.equal(cert.checkHost('new.example.com'), 'new.example.com');
      assert.equal(cert.checkHost('localhost'), 'localhost');
      assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
      assert.equal(cert.verify(new X509Certificate(before['ca.crt']).publicKey), true);
      assert.ok(keyMatches(after['server.crt'], after['server.key']), 'new key matches new cert');
      assert.equal((await ensureServingMaterial({ certsDir: dir, publicHost: 'new.example.com' })).generated, false);
    });

    it('puts an IP public host into an IP SAN', async () => {
      const ipDir = join(root, 'ip');
      const m = await ensureServingMaterial({ certsDir: ipDir, publicHost: '192.0.2.10' });
      const cert = new X509Certificate(m.certPem);
      assert.equal(cert.checkIP('192.0.2.10'), '192.0.2.10');
      assert.match(cert.subjectAltName ?? '', /IP Address:192\.0\.2\.10/);
      assert.equal((await ensureServingMaterial({ certsDir: ipDir, publicHost: '192.0.2.10' })).generated, false);
    });

    it('replaces a server certificate that does not cover the hosts, signing the new one with the kept CA', async () => {
      const otherCa = await createCa('someone-else');
      const foreign = await signLeaf(otherCa, { commonName: 'x', hosts: ['x.example.com'], usage: 'server' });
      await writeFile(join(dir, 'server.crt'), foreign.certPem);
      await writeFile(join(dir, 'server.key'), foreign.keyPem, { mode: 0o600 });
      const m = await ensureServingMaterial({ certsDir: dir, publicHost: 'new.example.com' });
      assert.equal(m.generated, true);
      assert.equal(new X509Certificate(m.certPem).verify(new X509Certificate(m.caPem!).publicKey), true);
    });
  });

  describe('operator-provided certificate', () => {
    it('uses --tls-cert/--tls-key as they are and generates nothing', async () => {
      const dir = join(root, 'operator');
      const ca = await createCa('operator-ca');
      const leaf = await signLeaf(ca, { commonName: 'gw.corp', hosts: ['gw.corp'], usage: 'server' });
      const certFile = join(root, 'operator-tls.crt');
      const keyFile = join(root, 'operator-tls.key');
      await writeFile(certFile, leaf.certPem);
      await writeFile(keyFile, leaf.keyPem);
      const m = await ensureServingMaterial({ certsDir: dir, publicHost: 'elsewhere.example.com', tlsCert: certFile, tlsKey: keyFile });
      assert.equal(m.certPem, leaf.certPem);
      assert.equal(m.keyPem, leaf.keyPem);
      assert.equal(m.caPem, undefined);
      assert.equal(m.generated, false);
      await assert.rejects(stat(dir), { code: 'ENOENT' }, 'no certs dir is created');
    });

    it('serves the operator certificate from a gateway, with no CA for kubeconfigs', async () => {
      const ca = await createCa('operator-ca-2');
      const leaf = await signLeaf(ca, { commonName: 'localhost', hosts: ['localhost', '127.0.0.1'], usage: 'server' });
      const certFile = join(root, 'gw-tls.crt');
      const keyFile = join(root, 'gw-tls.key');
      await writeFile(certFile, leaf.certPem);
      await writeFile(keyFile, leaf.keyPem);
      const gw = await startTestGateway(['--tls-cert', certFile, '--tls-key', keyFile]);
      try {
        assert.equal(gw.caPem, undefined);
        await assert.rejects(stat(join(gw.dir, 'certs', 'ca.crt')), { code: 'ENOENT' });
        // gw.agent trusts nothing extra here; check the served certificate with the operator CA.
        const { Agent } = await import('node:https');
        const agent = new Agent({ ca: ca.certPem, keepAlive: false });
        try {
          const res = await call({ url: gw.url, agent }, 'GET', '/healthz');
          assert.equal(res.status, 200);
        } finally {
          agent.destroy();
        }
      } finally {
        await gw.stop();
      }
    });

    it('rejects unreadable operator files', async () => {
      await assert.rejects(
        ensureServingMaterial({ certsDir: join(root, 'x'), publicHost: 'h', tlsCert: join(root, 'missing.crt'), tlsKey: join(root, 'missing.key') }),
        { code: 'ENOENT' },
      );
    });
  });

  describe('the gateway', () => {
    it('serves its generated certificate, verifiable with certs/ca.crt', async () => {
      const gw = await startTestGateway();
      try {
        const caPem = await readFile(join(gw.dir, 'certs', 'ca.crt'), 'utf8');
        assert.equal(gw.caPem, caPem);
        const res = await call(gw, 'GET', '/healthz');
        assert.equal(res.status, 200);
      } finally {
        await gw.stop();
      }
    });

    it('puts an IPv6 public URL host into the certificate as an IP address, without brackets', async () => {
      const gw = await startTestGateway(['--public-url', 'https://[::1]:8443']);
      try {
        const cert = new X509Certificate(await readFile(join(gw.dir, 'certs', 'server.crt'), 'utf8'));
        assert.equal(cert.checkIP('::1'), '::1');
        assert.doesNotMatch(cert.subjectAltName ?? '', /\[/);
      } finally {
        await gw.stop();
      }
    });
  });
});

describe('generated key format', () => {
  it('is a PKCS#8 EC P-256 key', async () => {
    const ca = await createCa('format-check');
    const key = createPrivateKey(ca.keyPem);
    assert.equal(key.asymmetricKeyType, 'ec');
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal(createPublicKey(key).export({ format: 'pem', type: 'spki' }), new X509Certificate(ca.certPem).publicKey.export({ format: 'pem', type: 'spki' }));
  });
});
