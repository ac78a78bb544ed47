/**
 * The double's own PKI: a CA, a serving certificate for 127.0.0.1/localhost, and client
 * certificates on demand (kube-apiserver's `--client-ca-file` authentication: CN is the
 * username, each O a group). EC P-256 keys from node:crypto, certificates from @peculiar/x509.
 */
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect polyfill first.
import 'reflect-metadata';
import { KeyObject, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY_MS = 24 * 60 * 60 * 1000;

export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

export interface CertificateAuthority {
  caPem: string;
  /** Serving certificate and key for 127.0.0.1 and localhost. */
  serving: KeyPairPem;
  /** Issues a client certificate signed by this CA. */
  issueClientCert(cn: string, orgs?: string[]): Promise<KeyPairPem>;
}

const generateKeys = (): Promise<CryptoKeyPair> =>
  webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;

const keyToPem = (key: CryptoKey): string =>
  KeyObject.from(key as unknown as webcrypto.CryptoKey).export({ type: 'pkcs8', format: 'pem' }).toString();

/** Positive, 16-byte serial numbers (RFC 5280 wants them unique and non-negative). */
const serialNumber = (): string => {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
};

// Backdated an hour so a slightly skewed client clock still accepts the certificates.
const validity = (): { notBefore: Date; notAfter: Date } => ({
  notBefore: new Date(Date.now() - 60 * 60 * 1000),
  notAfter: new Date(Date.now() + 30 * DAY_MS),
});

const issue = async (
  ca: { cert: x509.X509Certificate; keys: CryptoKeyPair },
  subject: x509.JsonName,
  extensions: x509.Extension[],
): Promise<KeyPairPem> => {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: new x509.Name(subject),
    issuer: ca.cert.subjectName,
    ...validity(),
    signingAlgorithm: algorithm,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
      ...extensions,
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: keyToPem(keys.privateKey) };
};

/** Creates a fresh CA and serving certificate; nothing touches the disk. */
export const createCertificateAuthority = async (): Promise<CertificateAuthority> => {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: new x509.Name([{ CN: ['kube-double-ca'] }]),
    ...validity(),
    signingAlgorithm: algorithm,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const ca = { cert, keys };

  const serving = await issue(ca, [{ CN: ['kube-apiserver'] }], [
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    new x509.SubjectAlternativeNameExtension([
      { type: 'ip', value: '127.0.0.1' },
      { type: 'dns', value: 'localhost' },
    ]),
  ]);

  return {
    caPem: cert.toString('pem'),
    serving,
    issueClientCert: (cn, orgs = []) =>
      issue(ca, [{ CN: [cn] }, ...orgs.map((o) => ({ O: [o] }))], [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      ]),
  };
};
