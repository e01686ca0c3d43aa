// Rule tls-security-level against the real HAProxy: Portico's precheck (parseTlsSecret) must accept exactly the
// certificates HAProxy accepts, both when a configuration is loaded (`haproxy -c`) and at runtime (`set ssl cert` +
// `commit ssl cert`). A certificate HAProxy refuses but Portico lets through freezes every later configuration; one
// Portico refuses but HAProxy would serve is a needless outage. The matrix is built with the openssl CLI, so a
// change in Debian's OpenSSL, in HAProxy or in Node's OpenSSL shows up here as a disagreement.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTlsSecret } from '../../src/translate/tls.js';
import { RuntimeCli } from '../../src/haproxy/process/runtime-cli.js';
import { freePort } from '../e2e/harness/ports.js';
import { waitFor } from '../e2e/harness/client.js';

interface Case {
  name: string;
  /** Certificate files (leaf first) that make up tls.crt, and the key file for tls.key. */
  chain: string[];
  key: string;
  /** What HAProxy 2.6 with Debian's OpenSSL 3.0 does with it, and why: the matrix as documented. */
  accepted: boolean;
  why: string;
}

const dir = mkdtempSync(join(tmpdir(), 'portico-seclevel-'));
const f = (name: string): string => join(dir, name);

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

const SAN = (name: string): string => `subjectAltName=DNS:${name}.seclevel.test`;

/** Key generation is the slow part (RSA-3072 takes a second here): one key per kind and role, shared. */
const keys = new Map<string, string>();
function keyFile(spec: string[], role: 'leaf' | 'ca'): string {
  const id = `${spec.join(' ')}|${role}`;
  const known = keys.get(id);
  if (known) return known;
  const file = f(`key-${keys.size}.pem`);
  openssl(['genpkey', ...spec, '-out', file]);
  keys.set(id, file);
  return file;
}

/** A self-signed certificate NAME.crt with key NAME.key. */
function selfSigned(name: string, key: string[], md: string): void {
  const k = keyFile(key, 'leaf');
  writeFileSync(f(`${name}.key`), readFileSync(k));
  openssl(['req', '-x509', '-key', k, '-days', '30', `-${md}`, '-subj', `/CN=${name}`, '-addext', SAN(name), '-out', f(`${name}.crt`)]);
}

/** NAME.crt signed by ISSUER with digest MD; a CA certificate when `ca`. */
function issued(name: string, key: string[], md: string, issuer: string, ca: boolean): void {
  const k = keyFile(key, ca ? 'ca' : 'leaf');
  writeFileSync(f(`${name}.key`), readFileSync(k));
  openssl(['req', '-new', '-key', k, '-subj', `/CN=${name}`, '-out', f(`${name}.csr`)]);
  writeFileSync(f(`${name}.ext`), ca ? 'basicConstraints=critical,CA:true\nkeyUsage=keyCertSign,cRLSign\n' : `${SAN(name)}\n`);
  openssl(['x509', '-req', '-in', f(`${name}.csr`), '-CA', f(`${issuer}.crt`), '-CAkey', f(`${issuer}.key`), '-CAcreateserial', `-${md}`, '-days', '30', '-extfile', f(`${name}.ext`), '-out', f(`${name}.crt`)]);
}

/** A self-signed CA (root) certificate. */
function root(name: string, key: string[], md: string): void {
  const k = keyFile(key, 'ca');
  writeFileSync(f(`${name}.key`), readFileSync(k));
  openssl(['req', '-x509', '-key', k, '-days', '30', `-${md}`, '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=keyCertSign,cRLSign', '-out', f(`${name}.crt`)]);
}

/** Valid from 2020 to 2021: long expired. */
function expired(name: string): void {
  const k = keyFile(RSA(2048), 'leaf');
  writeFileSync(f(`${name}.key`), readFileSync(k));
  openssl(['req', '-new', '-key', k, '-subj', `/CN=${name}`, '-addext', SAN(name), '-out', f(`${name}.csr`)]);
  writeFileSync(f('index.txt'), '');
  writeFileSync(f('serial'), '01\n');
  writeFileSync(f('ca.cnf'), '[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = p\ncopy_extensions = copy\nunique_subject = no\n[p]\ncommonName = supplied\n');
  openssl(['ca', '-batch', '-notext', '-config', 'ca.cnf', '-selfsign', '-keyfile', k, '-in', f(`${name}.csr`), '-startdate', '20200101000000Z', '-enddate', '20210101000000Z', '-out', f(`${name}.crt`)]);
}

const RSA = (bits: number): string[] => ['-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${bits}`];
const EC = (curve: string): string[] => ['-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${curve}`];

function buildMatrix(): Case[] {
  const cases: Case[] = [];
  const add = (name: string, chain: string[], accepted: boolean, why: string, key = chain[0]!): void => {
    cases.push({ name, chain: chain.map((c) => `${c}.crt`), key: `${key}.key`, accepted, why });
  };
  // Key sizes: level 2 asks 112 security bits, i.e. RSA/DSA >= 2048 bits and EC >= 224 bits.
  for (const bits of [1024, 2048, 3072]) {
    selfSigned(`rsa${bits}`, RSA(bits), 'sha256');
    add(`RSA ${bits}`, [`rsa${bits}`], bits >= 2048, 'RSA key size');
  }
  for (const [curve, ok] of [['prime192v1', false], ['secp224r1', true], ['P-256', true], ['P-384', true], ['P-521', true], ['brainpoolP256r1', true]] as const) {
    const name = `ec-${curve}`;
    selfSigned(name, EC(curve), 'sha256');
    add(`EC ${curve}`, [name], ok, 'EC curve size');
  }
  selfSigned('ed25519', ['-algorithm', 'ED25519'], 'sha256');
  add('Ed25519', ['ed25519'], true, '128 security bits');
  selfSigned('ed448', ['-algorithm', 'ED448'], 'sha256');
  add('Ed448', ['ed448'], true, '224 security bits');
  for (const bits of [1024, 2048]) {
    openssl(['genpkey', '-genparam', '-algorithm', 'DSA', '-pkeyopt', `dsa_paramgen_bits:${bits}`, '-out', f(`dsa${bits}.param`)]);
    selfSigned(`dsa${bits}`, ['-paramfile', f(`dsa${bits}.param`)], 'sha256');
    add(`DSA ${bits}`, [`dsa${bits}`], bits >= 2048, 'DSA key size');
  }
  selfSigned('pss1024', ['-algorithm', 'RSA-PSS', '-pkeyopt', 'rsa_keygen_bits:1024'], 'sha256');
  add('RSA-PSS 1024', ['pss1024'], false, 'RSA-PSS key size');
  selfSigned('pss2048', ['-algorithm', 'RSA-PSS', '-pkeyopt', 'rsa_keygen_bits:2048'], 'sha256');
  add('RSA-PSS 2048', ['pss2048'], true, 'RSA-PSS key size');

  // Signatures: SHA-1 and MD5 are below 112 bits, except on a self-signed certificate, which OpenSSL does not judge
  // by its own signature.
  selfSigned('sha1-self', RSA(2048), 'sha1');
  add('self-signed, SHA-1', ['sha1-self'], true, 'own signature not checked');
  selfSigned('md5-self', RSA(2048), 'md5');
  add('self-signed, MD5', ['md5-self'], true, 'own signature not checked');
  root('root', RSA(2048), 'sha256');
  for (const md of ['sha1', 'md5', 'sha224', 'sha256']) {
    issued(`leaf-${md}`, RSA(2048), md, 'root', false);
    const weak = md === 'sha1' || md === 'md5';
    add(`leaf signed with ${md} by its CA, CA in tls.crt`, [`leaf-${md}`, 'root'], !weak, 'leaf signature');
    add(`leaf signed with ${md} by its CA, leaf alone`, [`leaf-${md}`], !weak, 'leaf signature, issuer absent');
  }
  issued('ec-leaf-sha1', EC('P-256'), 'sha1', 'root', false);
  add('EC leaf signed with SHA-1 (RSA CA)', ['ec-leaf-sha1', 'root'], false, 'leaf signature');
  issued('inter-sha1', RSA(2048), 'sha1', 'root', true);
  issued('under-sha1-inter', RSA(2048), 'sha256', 'inter-sha1', false);
  add('intermediate signed with SHA-1', ['under-sha1-inter', 'inter-sha1', 'root'], false, 'chain signature');
  add('intermediate signed with SHA-1, root absent', ['under-sha1-inter', 'inter-sha1'], false, 'chain signature');
  issued('inter-1024', RSA(1024), 'sha256', 'root', true);
  issued('under-1024-inter', RSA(2048), 'sha256', 'inter-1024', false);
  add('intermediate with an RSA-1024 key', ['under-1024-inter', 'inter-1024', 'root'], false, 'chain key size');
  root('root-1024', RSA(1024), 'sha256');
  issued('under-1024-root', RSA(2048), 'sha256', 'root-1024', false);
  add('root with an RSA-1024 key in tls.crt', ['under-1024-root', 'root-1024'], false, 'chain key size');
  add('issued by an RSA-1024 root that tls.crt leaves out', ['under-1024-root'], true, 'only what is loaded is checked');
  root('root-sha1', RSA(2048), 'sha1');
  issued('inter-under-sha1-root', RSA(2048), 'sha256', 'root-sha1', true);
  issued('under-sha1-root', RSA(2048), 'sha256', 'inter-under-sha1-root', false);
  add('self-signed SHA-1 root in tls.crt', ['under-sha1-root', 'inter-under-sha1-root', 'root-sha1'], true, "a root's own signature does not count");
  issued('good-inter', RSA(2048), 'sha256', 'root', true);
  issued('good-leaf', EC('P-256'), 'sha256', 'good-inter', false);
  add('EC leaf, RSA intermediate and root, all SHA-256', ['good-leaf', 'good-inter', 'root'], true, 'all strong');

  expired('expired');
  add('expired certificate', ['expired'], true, 'dates are not checked when loading');
  add('key of another certificate', ['rsa2048'], false, 'key mismatch', 'rsa3072');
  return cases;
}

function pemOf(c: Case): { crt: string; key: string } {
  return { crt: c.chain.map((p) => readFileSync(f(p), 'utf8')).join(''), key: readFileSync(f(c.key), 'utf8') };
}

/** Portico's verdict, through the same entry point translate uses. */
function precheck(c: Case): boolean {
  const { crt, key } = pemOf(c);
  const secret = { metadata: { name: 'x', namespace: 'default' }, data: { 'tls.crt': Buffer.from(crt).toString('base64'), 'tls.key': Buffer.from(key).toString('base64') } };
  return parseTlsSecret(secret).ok;
}

const TIMEOUTS = 'defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 5s\n';

function haproxyCheck(c: Case, port: number): boolean {
  const { crt, key } = pemOf(c);
  const file = f(`check-${c.chain[0]}-${c.key}.pem`);
  writeFileSync(file, crt + key);
  writeFileSync(f('check.cfg'), `global\n  log stderr local0\n${TIMEOUTS}frontend fe\n  bind 127.0.0.1:${port} ssl crt ${file}\n`);
  try {
    execFileSync('haproxy', ['-c', '-f', f('check.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
    return true;
  } catch {
    return false;
  }
}

let cases: Case[] = [];

before(() => {
  cases = buildMatrix();
});

after(() => rmSync(dir, { recursive: true, force: true }));

void describe('OpenSSL security level: Portico refuses exactly what HAProxy refuses', () => {
  test('haproxy -c', async (t) => {
    const port = await freePort('127.0.0.1');
    const rows = cases.map((c) => ({ name: c.name, why: c.why, haproxy: haproxyCheck(c, port), portico: precheck(c), documented: c.accepted }));
    for (const r of rows) t.diagnostic(`haproxy -c ${r.haproxy ? 'accepts' : 'refuses'}, Portico ${r.portico ? 'accepts' : 'refuses'}: ${r.name} (${r.why})`);
    const disagree = rows.filter((r) => r.haproxy !== r.portico);
    assert.deepEqual(disagree, [], 'Portico and haproxy -c disagree');
    const undocumented = rows.filter((r) => r.haproxy !== r.documented);
    assert.deepEqual(undocumented, [], 'HAProxy behaves differently from the documented matrix: update it (and docs/rules.md)');
  });

  test('runtime API: set ssl cert + commit ssl cert on a certificate in use', async () => {
    const live = f('live.pem');
    const good = cases.find((c) => c.name === 'RSA 2048')!;
    writeFileSync(live, pemOf(good).crt + pemOf(good).key);
    const sock = f('admin.sock');
    const port = await freePort('127.0.0.1');
    writeFileSync(f('live.cfg'), `global\n  stats socket ${sock} mode 600 level admin\n${TIMEOUTS}frontend fe\n  bind 127.0.0.1:${port} ssl crt ${live}\n`);
    const proc: ChildProcess = spawn('haproxy', ['-f', f('live.cfg'), '-db'], { stdio: 'ignore' });
    try {
      let cli: RuntimeCli | undefined;
      await waitFor(async () => (cli = await RuntimeCli.open(sock).catch(() => undefined)) !== undefined, { timeoutMs: 10_000, intervalMs: 50, message: 'HAProxy runtime API did not come up' });
      const rows: { name: string; haproxy: boolean; portico: boolean }[] = [];
      for (const c of cases) {
        const { crt, key } = pemOf(c);
        const set = await cli!.command(`set ssl cert ${live}`, 10_000, `${crt}${key}`.trim());
        let accepted = false;
        if (/^Transaction (created|updated)/.test(set)) {
          accepted = /Success!$/.test((await cli!.command(`commit ssl cert ${live}`, 10_000)).trim());
          if (!accepted) await cli!.command(`abort ssl cert ${live}`);
        }
        rows.push({ name: c.name, haproxy: accepted, portico: precheck(c) });
      }
      cli!.close();
      assert.deepEqual(rows.filter((r) => r.haproxy !== r.portico), [], 'Portico and the runtime API disagree');
    } finally {
      proc.kill('SIGKILL');
    }
  });
});
