/**
 * The gateway's own CA and serving certificate, made once and reused (docs/reference/configuration.md).
 * ECDSA P-256 keys: generated in milliseconds, so first start stays fast.
 */
import { createPrivateKey, webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import 'reflect-metadata'; // @peculiar/x509's dependency injection needs it loaded first
import * as x509 from '@peculiar/x509';
import { ensureDir } from '../ensure-dir.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

export interface ServingMaterial extends KeyPairPem {
  /** The CA to put into kubeconfigs; undefined when the operator brought their own certificate. */
  caPem: string | undefined;
  /** True when this call created the files. */
  generated: boolean;
}

async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }) as string;
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1');
}

/** A self-signed CA valid for ten years. */
export async function createCa(commonName: string): Promise<KeyPairPem & { keys: CryptoKeyPair }> {
  const keys = await newKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 3650 * DAY),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey), keys };
}

/** Imports a CA from PEM so it can sign leaves. */
export async function loadCa(pair: KeyPairPem): Promise<{ cert: x509.X509Certificate; signingKey: CryptoKey }> {
  const cert = new x509.X509Certificate(pair.certPem);
  const der = Buffer.from(pair.keyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const signingKey = await webcrypto.subtle.importKey('pkcs8', der, ALG, false, ['sign']);
  return { cert, signingKey };
}

export interface LeafOptions {
  commonName: string;
  /** DNS names and IP addresses for the SAN extension (server certificates). */
  hosts?: string[];
  organizations?: string[];
  usage: 'server' | 'client';
  days?: number;
}

/** A leaf certificate signed by `ca`. */
export async function signLeaf(ca: KeyPairPem, options: LeafOptions): Promise<KeyPairPem> {
  const issuer = await loadCa(ca);
  const keys = await newKeys();
  const now = Date.now();
  const subject = [`CN=${options.commonName}`, ...(options.organizations ?? []).map((o) => `O=${o}`)].join(', ');
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([options.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
    await x509.AuthorityKeyIdentifierExtension.create(issuer.cert),
  ];
  if (options.hosts?.length) {
    const names = [...new Set(options.hosts)].map((h) => ({ type: isIP(h) ? ('ip' as const) : ('dns' as const), value: h }));
    extensions.push(new x509.SubjectAlternativeNameExtension(names));
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: issuer.cert.subject,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + (options.days ?? 825) * DAY),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: issuer.signingKey,
    extensions,
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

async function writeSecretFile(path: string, content: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode: 0o600 });
  await rename(tmp, path);
}

/**
 * Returns the serving certificate: the operator's files when given, else the CA and server
 * certificate in `certsDir`, created on first use (and re-issued when the public host changed).
 */
export async function ensureServingMaterial(options: {
  certsDir: string;
  publicHost: string;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
}): Promise<ServingMaterial> {
  if (options.tlsCert && options.tlsKey) {
    const [certPem, keyPem] = await Promise.all([readFile(options.tlsCert, 'utf8'), readFile(options.tlsKey, 'utf8')]);
    // Both must parse (ERR_OSSL_* codes otherwise), and belong together, before the server uses them.
    if (!new NodeX509(certPem).checkPrivateKey(createPrivateKey(keyPem))) {
      throw Object.assign(new Error('the key does not belong to the certificate (key values mismatch)'), { code: 'ERR_OSSL_X509_KEY_VALUES_MISMATCH' });
    }
    return { certPem, keyPem, caPem: undefined, generated: false };
  }
  const dir = options.certsDir;
  const files = { caCrt: join(dir, 'ca.crt'), caKey: join(dir, 'ca.key'), crt: join(dir, 'server.crt'), key: join(dir, 'server.key') };
  await ensureDir(dir);
  const hosts = [options.publicHost, 'localhost', '127.0.0.1'];
  let generated = false;

  let ca: KeyPairPem;
  if (existsSync(files.caCrt) && existsSync(files.caKey)) {
    ca = { certPem: await readFile(files.caCrt, 'utf8'), keyPem: await readFile(files.caKey, 'utf8') };
  } else {
    ca = await createCa('kubegate-ca');
    await writeSecretFile(files.caKey, ca.keyPem);
    await writeFile(files.caCrt, ca.certPem);
    generated = true;
  }

  let leaf: KeyPairPem | undefined;
  if (!generated && existsSync(files.crt) && existsSync(files.key)) {
    const existing = { certPem: await readFile(files.crt, 'utf8'), keyPem: await readFile(files.key, 'utf8') };
    const cert = new NodeX509(existing.certPem);
    const coversAll = hosts.every((h) => (isIP(h) ? cert.checkIP(h) : cert.checkHost(h)) !== undefined);
    if (coversAll && new Date(cert.validTo).getTime() > Date.now() + 7 * DAY) leaf = existing;
  }
  if (!leaf) {
    leaf = await signLeaf(ca, { commonName: 'kubegate', hosts, usage: 'server' });
    await writeSecretFile(files.key, leaf.keyPem);
    await writeFile(files.crt, leaf.certPem);
    generated = true;
  }
  return { ...leaf, caPem: ca.certPem, generated };
}
