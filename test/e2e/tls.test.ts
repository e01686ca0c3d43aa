// TLS end to end (T1-T11): SNI selection, PKCS#1 and PKCS#8 keys, the default certificate, routing by Host over
// HTTPS, ALPN, the minimum protocol version, and the HTTP->HTTPS redirect with its exceptions.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { docs, http2Get, httpGet, httpsGet, ingress, makeCert, manifestDir, reloadCount, removeManifest, startPortico, tlsHandshake, tlsSecretYaml, waitFor, writeManifest } from './harness/index.js';
import { singlePodApp, stopEverything } from './harness/index.js';
import type { Echo } from './harness/index.js';

const pods: Echo[] = [];
let httpPort = 0;
let httpsPort = 0;
let second = { httpPort: 0, httpsPort: 0 };
let dir = '';
let admin = { first: 0, second: 0 };
let why: () => string = () => '';
const certs = {
  foo: makeCert({ dnsNames: ['foo.tls.test'], keyFormat: 'pkcs1' }), // the conformance suite's shape: CN "default", PKCS#1
  bar: makeCert({ dnsNames: ['bar.tls.test'], keyFormat: 'pkcs8' }),
  wild: makeCert({ dnsNames: ['*.wild.test'], keyFormat: 'pkcs8' }),
  sanOnly: makeCert({ dnsNames: ['sanonly.test'], keyFormat: 'pkcs8' }),
  wrongHost: makeCert({ dnsNames: ['other.example'], keyFormat: 'pkcs8' }),
  fallback: makeCert({ cn: 'fallback', dnsNames: ['fallback.example'], keyFormat: 'pkcs1' }),
  late: makeCert({ cn: 'late', dnsNames: ['late.tls.test', 'moved.tls.test'], keyFormat: 'pkcs8' }),
  moved: makeCert({ cn: 'moved', dnsNames: ['moved.tls.test'], keyFormat: 'pkcs8' }),
  fallback2: makeCert({ cn: 'fallback-2', dnsNames: ['fallback.example'], keyFormat: 'pkcs8' }),
};
const DEFAULT_CN = /CN=Portico Default Certificate/;

const app = (name: string, ip: string): Promise<string> => singlePodApp(pods, name, ip);

const site = (host: string, svc = 'secure') => ({ host, paths: [{ path: '/', pathType: 'Prefix' as const, service: svc, port: 80 }] });

before(async () => {
  dir = await manifestDir();
  await writeManifest(dir, 'apps.yaml', docs(await app('secure', '127.0.40.1'), await app('other', '127.0.40.2'), await app('acme-solver', '127.0.40.3')));
  await writeManifest(
    dir,
    'secrets.yaml',
    docs(
      tlsSecretYaml('default', 'foo-tls', certs.foo),
      tlsSecretYaml('default', 'bar-tls', certs.bar),
      tlsSecretYaml('default', 'wild-tls', certs.wild),
      tlsSecretYaml('default', 'san-only', certs.sanOnly),
      tlsSecretYaml('default', 'wrong-host', certs.wrongHost),
      tlsSecretYaml('default', 'fallback', certs.fallback),
    ),
  );
  await writeManifest(
    dir,
    'ingresses.yaml',
    docs(
      ingress({
        name: 'secure',
        tls: [
          { hosts: ['foo.tls.test'], secretName: 'foo-tls' },
          { hosts: ['bar.tls.test'], secretName: 'bar-tls' },
          { hosts: ['*.wild.test'], secretName: 'wild-tls' },
          { hosts: [], secretName: 'san-only' },
          { hosts: ['mismatch.tls.test'], secretName: 'wrong-host' },
          { hosts: ['missing.tls.test'], secretName: 'no-such-secret' },
        ],
        rules: [site('foo.tls.test'), site('bar.tls.test', 'other'), site('*.wild.test'), site('sanonly.test'), site('mismatch.tls.test'), site('missing.tls.test'), site('plain.tls.test')],
      }),
      // cert-manager's HTTP-01 solver: a separate Ingress with an Exact challenge path on a TLS host.
      ingress({ name: 'acme', rules: [{ host: 'foo.tls.test', paths: [{ path: '/.well-known/acme-challenge/token123', pathType: 'Exact', service: 'acme-solver', port: 80 }] }] }),
      ingress({
        name: 'no-redirect',
        annotations: { 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' },
        tls: [{ hosts: ['noredirect.tls.test'], secretName: 'bar-tls' }],
        rules: [site('noredirect.tls.test')],
      }),
      ingress({
        name: 'keep-slash',
        annotations: { 'nginx.ingress.kubernetes.io/preserve-trailing-slash': 'true' },
        tls: [{ hosts: ['keepslash.tls.test'], secretName: 'bar-tls' }],
        rules: [site('keepslash.tls.test')],
      }),
    ),
  );
  const p = await startPortico({ manifests: [dir] });
  const q = await startPortico({ manifests: [dir], args: ['--default-ssl-certificate', 'default/fallback', '--ssl-redirect', 'false'] });
  await Promise.all([p.waitReady(), q.waitReady()]);
  httpPort = p.httpPort;
  httpsPort = p.httpsPort;
  second = { httpPort: q.httpPort, httpsPort: q.httpsPort };
  admin = { first: p.adminPort, second: q.adminPort };
  // Why a reload happened, if one did: the runtime API's answer is in the log.
  why = () => [...p.logs.lines, ...q.logs.lines].filter((l) => /runtime update failed|reloading HAProxy/.test(l)).join('\n');
});

after(() => stopEverything(pods));

describe('certificate selection by SNI (T2-T5, T11)', () => {
  test('the Secret with an RSA PKCS#1 key is served for its host and verifies for it (T2, T3)', async () => {
    const r = await httpsGet(httpsPort, { servername: 'foo.tls.test', host: 'foo.tls.test', ca: certs.foo.certPem, rejectUnauthorized: true });
    assert.equal(r.status, 200);
    assert.match(r.cert.subjectaltname, /^DNS:foo\.tls\.test/);
  });
  test('a PKCS#8 key works too (T2)', async () => {
    const h = await tlsHandshake(httpsPort, { servername: 'bar.tls.test' });
    assert.match(h.cert.subjectaltname, /DNS:bar\.tls\.test/);
  });
  test('a wildcard tls host covers one label only (T4 step 2)', async () => {
    assert.match((await tlsHandshake(httpsPort, { servername: 'a.wild.test' })).cert.subjectaltname, /DNS:\*\.wild\.test/);
    assert.match((await tlsHandshake(httpsPort, { servername: 'b.a.wild.test' })).cert.subject, DEFAULT_CN);
  });
  test('a tls entry without hosts is selected by its certificate SANs (T4 step 3)', async () => {
    assert.match((await tlsHandshake(httpsPort, { servername: 'sanonly.test' })).cert.subjectaltname, /DNS:sanonly\.test/);
  });
  test('a certificate that does not cover the host, or a missing Secret, falls back to the default (T5)', async () => {
    assert.match((await tlsHandshake(httpsPort, { servername: 'mismatch.tls.test' })).cert.subject, DEFAULT_CN);
    assert.match((await tlsHandshake(httpsPort, { servername: 'missing.tls.test' })).cert.subject, DEFAULT_CN);
    const r = await httpsGet(httpsPort, { servername: 'missing.tls.test', host: 'missing.tls.test' });
    assert.equal(r.status, 200, 'the handshake is not refused and the request is routed');
  });
  test('no SNI, or an unknown name, gets the default certificate (T4 step 4, T11)', async () => {
    assert.match((await tlsHandshake(httpsPort, {})).cert.subject, DEFAULT_CN);
    assert.match((await tlsHandshake(httpsPort, { servername: 'unknown.example' })).cert.subject, DEFAULT_CN);
  });
  test('--default-ssl-certificate replaces the generated default', async () => {
    assert.match((await tlsHandshake(second.httpsPort, {})).cert.subjectaltname, /DNS:fallback\.example/);
    assert.match((await tlsHandshake(second.httpsPort, { servername: 'foo.tls.test' })).cert.subjectaltname, /DNS:foo\.tls\.test/);
  });
});

describe('routing over HTTPS (T6, T7)', () => {
  test('routing uses the Host header, not SNI (T6)', async () => {
    const r = await httpsGet(httpsPort, { servername: 'foo.tls.test', host: 'bar.tls.test' });
    assert.equal(r.json<{ pod: string }>().pod, 'other');
  });
  test('a host without a tls entry is served on HTTPS with the default certificate (T7)', async () => {
    const r = await httpsGet(httpsPort, { servername: 'plain.tls.test', host: 'plain.tls.test' });
    assert.equal(r.status, 200);
    assert.match(r.cert.subject, DEFAULT_CN);
    const e = r.json<{ headers: Record<string, string> }>();
    assert.equal(e.headers['x-forwarded-proto'], 'https');
    assert.equal(e.headers['x-forwarded-port'], String(httpsPort));
  });
  test('an unmatched host over HTTPS gets 404 (T7)', async () => {
    const r = await httpsGet(httpsPort, { servername: 'nothing.example', host: 'nothing.example' });
    assert.equal(r.status, 404);
    assert.equal(r.headers.server, 'portico');
  });
});

describe('protocols (T10)', () => {
  test('ALPN offers h2 and http/1.1, and HTTP/2 requests are routed by :authority', async () => {
    assert.equal((await tlsHandshake(httpsPort, { servername: 'foo.tls.test', alpn: ['h2', 'http/1.1'] })).alpnProtocol, 'h2');
    assert.equal((await tlsHandshake(httpsPort, { servername: 'foo.tls.test', alpn: ['http/1.1'] })).alpnProtocol, 'http/1.1');
    const r = await http2Get(httpsPort, { servername: 'bar.tls.test', host: 'bar.tls.test', path: '/h2' });
    assert.equal(r.status, 200);
    assert.equal(r.json<{ pod: string }>().pod, 'other');
  });
  test('TLS 1.2 is accepted and TLS 1.1 is refused by the server', async () => {
    const attempt = (version: 'TLSv1.1' | 'TLSv1.2'): Promise<string> =>
      new Promise<string>((resolve) => {
        // SECLEVEL=0 lets this client offer TLS 1.1 at all, so a refusal can only come from Portico.
        const s = connect({ port: httpsPort, host: '127.0.0.1', servername: 'foo.tls.test', minVersion: version, maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0', rejectUnauthorized: false });
        s.once('secureConnect', () => {
          resolve(`connected ${s.getProtocol()}`);
          s.end();
        });
        s.once('error', (e: Error) => resolve(`refused: ${e.message}`));
      });
    assert.equal(await attempt('TLSv1.2'), 'connected TLSv1.2');
    assert.match(await attempt('TLSv1.1'), /^refused: .*alert protocol version/);
  });
});

describe('HTTP to HTTPS redirect (T9)', () => {
  test('a TLS host redirects with 308, keeping host, path and query', async () => {
    const r = await httpGet(httpPort, { host: 'foo.tls.test', path: '/a/b?c=d' });
    assert.equal(r.status, 308);
    assert.equal(r.headers.location, 'https://foo.tls.test/a/b?c=d');
  });
  test('the Location carries the host as matched: lowercase, without port or trailing dot (H1)', async () => {
    for (const host of ['Foo.TLS.test', 'foo.tls.test:80', 'foo.tls.test.']) {
      const r = await httpGet(httpPort, { host, path: '/x' });
      assert.equal(r.status, 308, host);
      assert.equal(r.headers.location, 'https://foo.tls.test/x', host);
    }
  });
  test("one '/' ending the path and query is dropped, as ingress-nginx does; preserve-trailing-slash keeps it", async () => {
    const location = async (host: string, path: string): Promise<unknown> => (await httpGet(httpPort, { host, path })).headers.location;
    assert.equal(await location('foo.tls.test', '/docs/'), 'https://foo.tls.test/docs');
    assert.equal(await location('foo.tls.test', '/docs/?a=/'), 'https://foo.tls.test/docs/?a=');
    assert.equal(await location('foo.tls.test', '/'), 'https://foo.tls.test');
    assert.equal(await location('keepslash.tls.test', '/docs/'), 'https://keepslash.tls.test/docs/');
    assert.equal(await location('keepslash.tls.test', '/'), 'https://keepslash.tls.test/');
  });
  test('a host outside every tls block is served over plain HTTP', async () => {
    assert.equal((await httpGet(httpPort, { host: 'plain.tls.test', path: '/' })).status, 200);
  });
  test('ACME HTTP-01 challenges are never redirected, even on a TLS host', async () => {
    const r = await httpGet(httpPort, { host: 'foo.tls.test', path: '/.well-known/acme-challenge/token123' });
    assert.equal(r.status, 200);
    assert.equal(r.json<{ pod: string }>().pod, 'acme-solver');
  });
  test('the ssl-redirect annotation turns it off for one Ingress', async () => {
    assert.equal((await httpGet(httpPort, { host: 'noredirect.tls.test', path: '/' })).status, 200);
  });
  test('--ssl-redirect false turns it off everywhere', async () => {
    assert.equal((await httpGet(second.httpPort, { host: 'foo.tls.test', path: '/' })).status, 200);
  });
});

describe('certificates change without a reload', () => {
  const reloads = reloadCount;
  const servedCn = async (port: number, servername?: string): Promise<string> => (await tlsHandshake(port, servername === undefined ? {} : { servername })).cert.subject;
  const until = (what: string, fn: () => Promise<boolean>): Promise<void> => waitFor(fn, { timeoutMs: 3000, intervalMs: 20, message: what });

  test('a new certificate, a host moving to another one, and a removed one are all live at once, with no reload', async () => {
    const before = await reloads(admin.first);
    const beforeSecond = await reloads(admin.second);
    await writeManifest(dir, 'late-secrets.yaml', docs(tlsSecretYaml('default', 'late-tls', certs.late), tlsSecretYaml('default', 'moved-tls', certs.moved)));
    await writeManifest(dir, 'late.yaml', ingress({ name: 'late', tls: [{ hosts: ['late.tls.test', 'moved.tls.test'], secretName: 'late-tls' }], rules: [site('late.tls.test'), site('moved.tls.test')] }));
    await until('the new certificate was never served', async () => /CN=late/.test(await servedCn(httpsPort, 'late.tls.test')));
    assert.match(await servedCn(httpsPort, 'moved.tls.test'), /CN=late/);
    assert.equal((await httpsGet(httpsPort, { servername: 'late.tls.test', host: 'late.tls.test', path: '/' })).status, 200);
    // moved.tls.test now takes its own certificate; late.tls.test keeps the first one.
    await writeManifest(dir, 'late.yaml', ingress({ name: 'late', tls: [{ hosts: ['late.tls.test'], secretName: 'late-tls' }, { hosts: ['moved.tls.test'], secretName: 'moved-tls' }], rules: [site('late.tls.test'), site('moved.tls.test')] }));
    await until('the host never moved to its new certificate', async () => /CN=moved/.test(await servedCn(httpsPort, 'moved.tls.test')));
    assert.match(await servedCn(httpsPort, 'late.tls.test'), /CN=late/);
    await removeManifest(dir, 'late.yaml');
    await until('removed certificates were still served', async () => DEFAULT_CN.test(await servedCn(httpsPort, 'late.tls.test')) && DEFAULT_CN.test(await servedCn(httpsPort, 'moved.tls.test')));
    // The second Portico reads the same directory: it must be done with these changes before the next test counts.
    await until('the second Portico never dropped the removed certificates', async () => /CN=fallback$/m.test(await servedCn(second.httpsPort, 'late.tls.test')));
    assert.match(await servedCn(httpsPort, 'foo.tls.test'), /CN=default/, 'other certificates are untouched');
    assert.equal(await reloads(admin.first), before, why());
    assert.equal(await reloads(admin.second), beforeSecond, why());
  });

  test('rotating the --default-ssl-certificate Secret replaces the default certificate in place', async () => {
    const before = await reloads(admin.second);
    assert.match(await servedCn(second.httpsPort), /CN=fallback$/m);
    await writeManifest(dir, 'secrets.yaml', (await readFile(join(dir, 'secrets.yaml'), 'utf8')).replace(tlsSecretYaml('default', 'fallback', certs.fallback), tlsSecretYaml('default', 'fallback', certs.fallback2)));
    await until('the rotated default certificate was never served', async () => /CN=fallback-2/.test(await servedCn(second.httpsPort)));
    assert.equal(await reloads(admin.second), before, why());
  });
});
