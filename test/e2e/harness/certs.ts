// Test certificates from the openssl CLI. Synchronous on purpose: tests build their certificates at module level,
// before any hook runs. Cached per argument set because RSA key generation is slow on small CI machines.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

export interface CertOptions {
  cn?: string;
  /** Subject alternative names; the first one is listed first. IPv4 literals become IP: entries. */
  dnsNames: string[];
  /**
   * `pkcs1` is the "traditional" OpenSSL form: `BEGIN RSA PRIVATE KEY` (or `BEGIN EC PRIVATE KEY`, SEC1, for EC).
   * `pkcs8` is `BEGIN PRIVATE KEY`, what OpenSSL 3 writes by default.
   */
  keyFormat: 'pkcs1' | 'pkcs8';
  days?: number;
  keyType?: 'rsa' | 'ec';
  /** RSA key size; default 2048. 1024 makes a certificate HAProxy's OpenSSL (security level 2) refuses. */
  rsaBits?: number;
  /** Explicit validity (openssl's YYYYMMDDHHMMSSZ form) instead of `days` from now: for expired certificates. */
  validity?: { notBefore: string; notAfter: string };
}

export interface CertPair {
  certPem: string;
  keyPem: string;
}

const cache = new Map<string, CertPair>();

/** A self-signed certificate and its key, in PEM. */
export function makeCert(opts: CertOptions): CertPair {
  const { cn = 'default', dnsNames, keyFormat, days = 30, keyType = 'rsa', rsaBits = 2048, validity } = opts;
  const key = JSON.stringify([cn, dnsNames, keyFormat, days, keyType, rsaBits, validity]);
  const hit = cache.get(key);
  if (hit) return hit;

  const dir = mkdtempSync(join(tmpdir(), 'portico-e2e-cert-'));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    const newkey = keyType === 'rsa' ? ['-newkey', `rsa:${rsaBits}`] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
    const san = dnsNames.map((n) => (isIPv4(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
    // -subj treats / + = as syntax; a backslash makes them literal.
    const subj = `/CN=${cn.replace(/[\\/+=]/g, (c) => `\\${c}`)}`;
    const sanArgs = san ? ['-addext', `subjectAltName=${san}`] : [];
    if (validity) selfSignedWithDates(dir, newkey, subj, sanArgs, validity, keyFile, certFile);
    else openssl(['req', '-x509', ...newkey, '-nodes', '-keyout', keyFile, '-out', certFile, '-subj', subj, '-days', String(days), ...sanArgs]);
    const tradFile = join(dir, 'key-traditional.pem');
    // `openssl rsa` needs -traditional to leave PKCS#8; `openssl ec` writes SEC1 anyway and has no such flag.
    if (keyFormat === 'pkcs1') openssl(keyType === 'rsa' ? ['rsa', '-in', keyFile, '-out', tradFile, '-traditional'] : ['ec', '-in', keyFile, '-out', tradFile]);

    const pair = { certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFormat === 'pkcs1' ? tradFile : keyFile, 'utf8') };
    // The whole point of keyFormat is to exercise both parsers, so make sure the file really is in that form.
    const want = keyFormat === 'pkcs8' ? 'PRIVATE KEY' : keyType === 'rsa' ? 'RSA PRIVATE KEY' : 'EC PRIVATE KEY';
    if (!pair.keyPem.startsWith(`-----BEGIN ${want}-----`)) throw new Error(`makeCert: openssl wrote ${pair.keyPem.split('\n')[0]}, expected BEGIN ${want}`);
    cache.set(key, pair);
    return pair;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A kubernetes.io/tls Secret manifest holding the pair. */
export function tlsSecretYaml(namespace: string, name: string, pair: CertPair): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': Buffer.from(pair.certPem).toString('base64'), 'tls.key': Buffer.from(pair.keyPem).toString('base64') },
  }, { lineWidth: 0 });
}

/** `openssl req -x509` only counts days from now; `openssl ca -selfsign` takes any start and end date. */
function selfSignedWithDates(dir: string, newkey: string[], subj: string, sanArgs: string[], v: { notBefore: string; notAfter: string }, keyFile: string, certFile: string): void {
  const csr = join(dir, 'req.csr');
  openssl(['req', '-new', ...newkey, '-nodes', '-keyout', keyFile, '-out', csr, '-subj', subj, ...sanArgs]);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '01\n');
  const conf = join(dir, 'ca.cnf');
  writeFileSync(conf, `[ca]\ndefault_ca = d\n[d]\ndatabase = ${join(dir, 'index.txt')}\nnew_certs_dir = ${dir}\nserial = ${join(dir, 'serial')}\ndefault_md = sha256\npolicy = p\ncopy_extensions = copy\nunique_subject = no\n[p]\ncommonName = supplied\n`);
  openssl(['ca', '-batch', '-notext', '-config', conf, '-selfsign', '-keyfile', keyFile, '-in', csr, '-startdate', v.notBefore, '-enddate', v.notAfter, '-out', certFile]);
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args.join(' ')} failed: ${stderr || String(e)}`);
  }
}

export interface CaPair extends CertPair {
  /** The CA's files on disk, for `openssl ca`/`x509 -req` (removed with the process's temporary directory). */
  dir: string;
}

/** A self-signed CA certificate (basicConstraints CA:TRUE) and its key. */
export function makeCa(cn: string): CaPair {
  const dir = mkdtempSync(join(tmpdir(), 'portico-e2e-ca-'));
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'), '-subj', `/CN=${cn}/O=Portico Test`, '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'crlnumber'), '01\n');
  return { dir, certPem: readFileSync(join(dir, 'ca.crt'), 'utf8'), keyPem: readFileSync(join(dir, 'ca.key'), 'utf8') };
}

/** A client certificate signed by `ca`, subject `/CN=<cn>/O=<o>`; with `expired`, its dates lie in the past. */
export function makeClientCert(ca: CaPair, cn: string, o = 'Acme'): CertPair & { serialFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'portico-e2e-client-'));
  const key = join(dir, 'client.key');
  const csr = join(dir, 'client.csr');
  const crt = join(dir, 'client.crt');
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${cn}/O=${o}`]);
  openssl(['x509', '-req', '-in', csr, '-CA', join(ca.dir, 'ca.crt'), '-CAkey', join(ca.dir, 'ca.key'), '-CAcreateserial', '-out', crt, '-days', '10', '-sha256', '-extfile', writeExt(dir)]);
  return { certPem: readFileSync(crt, 'utf8'), keyPem: readFileSync(key, 'utf8'), serialFile: crt };
}

/** A server certificate signed by `ca` for `dnsNames` (subjectAltName, extendedKeyUsage serverAuth), subject `/CN=<cn>`. */
export function makeServerCert(ca: CaPair, cn: string, dnsNames: string[]): CertPair {
  const dir = mkdtempSync(join(tmpdir(), 'portico-e2e-server-'));
  try {
    const key = join(dir, 'server.key');
    const csr = join(dir, 'server.csr');
    const crt = join(dir, 'server.crt');
    const ext = join(dir, 'ext.cnf');
    writeFileSync(ext, `extendedKeyUsage=serverAuth\nsubjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(',')}\n`);
    openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${cn}`]);
    openssl(['x509', '-req', '-in', csr, '-CA', join(ca.dir, 'ca.crt'), '-CAkey', join(ca.dir, 'ca.key'), '-CAcreateserial', '-out', crt, '-days', '10', '-sha256', '-extfile', ext]);
    return { certPem: readFileSync(crt, 'utf8'), keyPem: readFileSync(key, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function writeExt(dir: string): string {
  const f = join(dir, 'ext.cnf');
  writeFileSync(f, 'extendedKeyUsage=clientAuth\n');
  return f;
}

/** A CRL of `ca` revoking the certificates in `revoked` (their PEM files). */
export function makeCrl(ca: CaPair, revoked: string[]): string {
  const conf = join(ca.dir, 'ca.cnf');
  writeFileSync(conf, `[ca]\ndefault_ca = d\n[d]\ndatabase = ${join(ca.dir, 'index.txt')}\ncrlnumber = ${join(ca.dir, 'crlnumber')}\ndefault_md = sha256\ndefault_crl_days = 30\ncertificate = ${join(ca.dir, 'ca.crt')}\nprivate_key = ${join(ca.dir, 'ca.key')}\n`);
  for (const r of revoked) openssl(['ca', '-config', conf, '-revoke', r]);
  const out = join(ca.dir, 'crl.pem');
  openssl(['ca', '-config', conf, '-gencrl', '-out', out]);
  return readFileSync(out, 'utf8');
}
