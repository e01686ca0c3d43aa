// Self-signed certificates from the openssl CLI. Every peer terminates TLS with the same one, so key type and
// size, which dominate handshake cost, are equal across peers.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Cert {
  certFile: string;
  keyFile: string;
  /** Certificate followed by key: the form HAProxy's `crt` takes. */
  bundleFile: string;
  certPem: string;
  keyPem: string;
  fingerprint256: string;
}

/** ECDSA P-256: the common choice for new deployments, and cheap enough that handshakes do not swamp a 5 s cell. */
export function makeCert(dir: string, name: string, dnsNames: string[]): Cert {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const bundleFile = join(dir, `${name}.pem`);
  const san = dnsNames.map((n) => `DNS:${n}`).join(',');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-subj', `/CN=${dnsNames[0] ?? name}`, '-days', '30', '-addext', `subjectAltName=${san}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const certPem = readFileSync(certFile, 'utf8');
  const keyPem = readFileSync(keyFile, 'utf8');
  writeFileSync(bundleFile, certPem + keyPem);
  return { certFile, keyFile, bundleFile, certPem, keyPem, fingerprint256: new X509Certificate(certPem).fingerprint256 };
}
