// Rule T2 and HAProxy's OpenSSL: a certificate whose key is below OpenSSL's default security level (2: 112-bit
// keys, as Debian ships it) cannot be loaded by HAProxy, which then rejects the whole configuration. translate
// refuses such a Secret with a diagnostic instead, so it never reaches a candidate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTlsSecret } from '../../src/translate/tls.js';

const dir = mkdtempSync(join(tmpdir(), 'portico-keys-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function secret(name: string, newkey: string[]): Record<string, unknown> {
  execFileSync('openssl', ['req', '-x509', ...newkey, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-subj', '/CN=t', '-days', '3'], { cwd: dir, stdio: 'pipe' });
  const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
  return { metadata: { name, namespace: 'default' }, stringData: { 'tls.crt': read(`${name}.crt`), 'tls.key': read(`${name}.key`) } };
}

test('keys HAProxy cannot load are refused (T2): RSA and DSA below 2048 bits, EC curves below 224 bits', () => {
  execFileSync('openssl', ['dsaparam', '-out', 'dsa.param', '1024'], { cwd: dir, stdio: 'pipe' });
  const cases: [string, string[], RegExp][] = [
    ['rsa1024', ['-newkey', 'rsa:1024'], /RSA 1024 bits/],
    ['dsa1024', ['-newkey', 'dsa:dsa.param'], /DSA 1024 bits/],
    ['p192', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime192v1'], /EC curve prime192v1/],
  ];
  for (const [name, newkey, reason] of cases) {
    const r = parseTlsSecret(secret(name, newkey));
    assert.equal(r.ok, false, name);
    assert.match(r.ok ? '' : r.reason, reason);
  }
});

test('keys HAProxy loads are accepted: RSA 2048, EC P-224 and P-256, Ed25519', () => {
  execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', 'ed.key'], { cwd: dir, stdio: 'pipe' });
  for (const [name, newkey] of [
    ['rsa2048', ['-newkey', 'rsa:2048']],
    ['p224', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp224r1']],
    ['p256', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1']],
    ['ed25519', ['-key', 'ed.key']],
  ] as const) {
    const r = parseTlsSecret(secret(name, [...newkey]));
    assert.equal(r.ok, true, `${name}: ${r.ok ? '' : r.reason}`);
  }
});
