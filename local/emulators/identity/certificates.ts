import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A self-signed service principal certificate for tests and the local emulators. */
export interface TestCertificate {
  /** Private key and certificate in one PEM, the way Key Vault serves application/x-pem-file. */
  pem: string;
  certificatePem: string;
  privateKeyPem: string;
  /** The same key and certificate as a base64 PKCS#12 (no password), as Key Vault serves application/x-pkcs12. */
  pfxBase64: string;
  /** SHA-256 thumbprint, base64url (the `x5t#S256` header of a client assertion). */
  thumbprintSha256: string;
}

/** Creates a key pair and self-signed certificate with openssl; the temporary files are removed. */
export function createTestCertificate(commonName = 'aas-refresh test service principal'): TestCertificate {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-cert-'));
  try {
    const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '30', '-subj', `/CN=${commonName}`]);
    run(['pkcs12', '-export', '-inkey', 'key.pem', '-in', 'cert.pem', '-out', 'cert.pfx', '-passout', 'pass:']);
    const privateKeyPem = fs.readFileSync(path.join(dir, 'key.pem'), 'utf8');
    const certificatePem = fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8');
    const pfxBase64 = fs.readFileSync(path.join(dir, 'cert.pfx')).toString('base64');
    return {
      pem: `${privateKeyPem.trimEnd()}\n${certificatePem}`,
      certificatePem,
      privateKeyPem,
      pfxBase64,
      thumbprintSha256: thumbprintSha256(certificatePem),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function thumbprintSha256(certificatePem: string): string {
  return createHash('sha256').update(new X509Certificate(certificatePem).raw).digest('base64url');
}
