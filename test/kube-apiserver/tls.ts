// A self-signed serving certificate for 127.0.0.1 from the openssl CLI. kubectl (client-go) sends bearer tokens only
// over TLS (against plain http it gets 401 for every call), so a server that checks tokens has to be HTTPS.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ServingCert {
  certPem: string;
  keyPem: string;
}

let cached: Promise<ServingCert> | undefined;

/** One per process: generating is the slow part of starting a server, and the identity does not matter. */
export function servingCert(): Promise<ServingCert> {
  cached ??= generate();
  return cached;
}

async function generate(): Promise<ServingCert> {
  const dir = await mkdtemp(join(tmpdir(), 'kube-apiserver-cert-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    // EC keys generate in milliseconds; Go's verifier wants the IP in subjectAltName, not in CN.
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', cert, '-days', '7', '-subj', '/CN=kube-apiserver-test',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ]);
    return { certPem: await readFile(cert, 'utf8'), keyPem: await readFile(key, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
