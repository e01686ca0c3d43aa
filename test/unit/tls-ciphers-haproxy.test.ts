// ssl-ciphers against the real HAProxy: a list Portico accepts must load in HAProxy (a crt-list line HAProxy refuses
// fails the whole configuration, every tenant's), and a list HAProxy would load must not be refused by Portico unless
// it is one it refuses on purpose (TLS 1.3 suites, which nginx's ssl_ciphers does not take either). Node's OpenSSL
// decides for Portico; Debian's decides for HAProxy: a drift between the two shows up here.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { cipherList } from '../../src/translate/annotations/tls-ciphers.js';

const dir = mkdtempSync(join(tmpdir(), 'portico-ciphers-'));
after(() => rmSync(dir, { recursive: true, force: true }));

execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=c.test'], { stdio: 'ignore' });
execFileSync('sh', ['-c', `cat ${join(dir, 'c.pem')} ${join(dir, 'k.pem')} > ${join(dir, 'cert.pem')}`]);

/** Whether HAProxy loads a crt-list line with `[ciphers <list>]`. */
function haproxyAccepts(list: string, i: number): boolean {
  writeFileSync(join(dir, `list-${i}.txt`), `${join(dir, 'cert.pem')} [ciphers ${list}] c.test\n`);
  writeFileSync(
    join(dir, `h-${i}.cfg`),
    `defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 5s\nfrontend f\n  bind 127.0.0.1:1 ssl crt ${join(dir, 'cert.pem')} crt-list ${join(dir, `list-${i}.txt`)}\n`,
  );
  try {
    execFileSync('haproxy', ['-c', '-q', '-f', join(dir, `h-${i}.cfg`)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const NAMES = ['HIGH', 'MEDIUM', 'LOW', 'aNULL', 'eNULL', 'MD5', 'RC4', 'DES', '3DES', 'SHA1', 'ECDHE', 'EECDH', 'AESGCM', 'CHACHA20', 'AES256', 'DEFAULT', 'ALL', 'COMPLEMENTOFDEFAULT', 'kRSA', 'PSK', 'SRP', 'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'DHE-RSA-AES128-GCM-SHA256', 'AES128-SHA', 'DES-CBC3-SHA', 'RC4-MD5', 'NOPE', 'TLS_AES_128_GCM_SHA256'];
const element = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.constantFrom('', '', '!', '-', '+'), fc.constantFrom(...NAMES), fc.option(fc.constantFrom(...NAMES), { nil: undefined })).map(([op, a, b]) => `${op}${a}${b === undefined ? '' : `+${b}`}`) },
  { weight: 1, arbitrary: fc.constantFrom('@STRENGTH', '@SECLEVEL=0', '@SECLEVEL=2') },
);
const lists = fc.array(element, { minLength: 1, maxLength: 4 }).map((e) => e.join(':'));

void describe('ssl-ciphers: Portico and HAProxy agree on which lists load', () => {
  test('hand-picked and generated lists', () => {
    const candidates = ['HIGH:!aNULL:!MD5', 'ECDHE+AESGCM', 'NOPE', 'DES-CBC3-SHA', 'RC4-MD5', 'eNULL', '!ALL', 'aNULL', 'DEFAULT:@SECLEVEL=0', 'TLS_AES_128_GCM_SHA256', ...fc.sample(lists, { numRuns: 60, seed: 20261207 })];
    const disagree: string[] = [];
    let accepted = 0;
    candidates.forEach((list, i) => {
      const portico = cipherList.parse(list).ok;
      const haproxy = haproxyAccepts(list, i);
      if (portico) accepted++;
      // Refused on purpose: TLS 1.3 suite names, which nginx's ssl_ciphers does not set.
      if (portico !== haproxy && !(haproxy && /(^|[:!+-])TLS_/.test(list))) disagree.push(`${list}: Portico ${portico ? 'accepts' : 'refuses'}, HAProxy ${haproxy ? 'accepts' : 'refuses'}`);
    });
    assert.deepEqual(disagree, []);
    assert.ok(accepted >= 10 && accepted < candidates.length, `${accepted} of ${candidates.length} accepted: the sample must hold both kinds`);
  });

  test('what the grammar refuses before OpenSSL sees it', () => {
    for (const bad of ['HIGH verify none', 'HIGH] c.test', 'HIGH\nbackend x', 'HIGH #x', '', ':', 'a'.repeat(2049), '@SECLEVEL=9', 'HIGH::aNULL']) {
      assert.equal(cipherList.parse(bad).ok, false, JSON.stringify(bad));
    }
    assert.deepEqual(cipherList.parse(' HIGH,!aNULL '), { ok: true, value: 'HIGH:!aNULL' });
  });
});
