/**
 * The kube-apiserver double the tests use is the product's kube-apiserver imitation
 * (src/demo/kube-imitation/, see its README): one copy, re-exported here so tests keep importing
 * `../kube-double/index.js`. Test-only helpers (kubectl.ts, client.ts) stay in this directory.
 */
export * from '../../src/demo/kube-imitation/index.js';
export { createCertificateAuthority, type CertificateAuthority } from '../../src/demo/kube-imitation/certs.js';
