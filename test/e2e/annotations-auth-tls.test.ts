// auth-tls-* through real HAProxy, with CAs and client certificates made by openssl: nginx's answers for no
// certificate (400 "No required SSL certificate was sent") and a certificate of another CA (400 "The SSL certificate
// error"), the headers a backend sees with a valid one (ssl-client-verify, -subject-dn, -issuer-dn, the escaped PEM),
// optional and optional_no_ca, match-cn, the error-page redirect, a CA Secret that is missing or in another namespace
// (403 for the host), SNI and Host disagreeing (421), spoofed ssl-client-* headers removed, another host on the same
// port whose handshake asks for no certificate, a rotated CA and a new client-auth host live without a reload, and
// CA, site certificate and CA again rotated in a row, each served at once (HAProxy issue #3165).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { stringify } from 'yaml';
import { docs, httpsGet, ingress, makeCa, makeCert, makeClientCert, manifestDir, metricValue, reloadCount, singlePodApp, startPortico, stopEverything, tlsSecretYaml, waitFor, writeManifest } from './harness/index.js';
import type { CaPair, Echo, Portico } from './harness/index.js';

const P = 'nginx.ingress.kubernetes.io/';
const pods: Echo[] = [];
let dir = '';
let portico: Portico;

const ca1 = makeCa('Test CA 1');
const ca2 = makeCa('Test CA 2');
const ca3 = makeCa('Test CA 3');
const good = makeClientCert(ca1, 'client-a');
const intruder = makeClientCert(ca1, 'intruder');
const foreign = makeClientCert(ca2, 'client-a');
const rotated = makeClientCert(ca3, 'client-r');
const HOSTS = ['mtls.test', 'opt.test', 'noca.test', 'cn.test', 'err.test', 'plain.test', 'missing.test', 'cross.test', 'rot.test', 'new.test'];
const site = makeCert({ cn: 'site', dnsNames: HOSTS, keyFormat: 'pkcs8' });

const caSecret = (name: string, ca: CaPair, ns = 'default'): string =>
  stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, type: 'Opaque', data: { 'ca.crt': Buffer.from(ca.certPem).toString('base64') } });

const route = (name: string, host: string, annotations: Record<string, string> = {}): string =>
  ingress({ name, annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [P + k, v])), rules: [{ host, paths: [{ path: '/', pathType: 'Prefix', service: 'tlsauth', port: 80 }] }], tls: [{ hosts: [host], secretName: 'site' }] });

function routes(extra = ''): string {
  return docs(
    tlsSecretYaml('default', 'site', site),
    caSecret('ca', ca1),
    caSecret('ca', ca1, 'other'),
    route('mtls', 'mtls.test', { 'auth-tls-secret': 'default/ca', 'auth-tls-pass-certificate-to-upstream': 'true' }),
    route('opt', 'opt.test', { 'auth-tls-secret': 'ca', 'auth-tls-verify-client': 'optional' }),
    route('noca', 'noca.test', { 'auth-tls-secret': 'ca', 'auth-tls-verify-client': 'optional_no_ca' }),
    route('cn', 'cn.test', { 'auth-tls-secret': 'ca', 'auth-tls-match-cn': 'CN=client-(a|b)' }),
    route('err', 'err.test', { 'auth-tls-secret': 'ca', 'auth-tls-error-page': 'https://login.example.com/cert-needed' }),
    route('plain', 'plain.test'),
    route('missing', 'missing.test', { 'auth-tls-secret': 'nothere' }),
    route('cross', 'cross.test', { 'auth-tls-secret': 'other/ca' }),
    route('rot', 'rot.test', { 'auth-tls-secret': 'rot' }),
    ...(extra ? [extra] : []),
  );
}

type Cert = { certPem: string; keyPem: string } | undefined;

function get(host: string, clientCert?: Cert, headers: Record<string, string> = {}, servername = host): ReturnType<typeof httpsGet> {
  return httpsGet(portico.httpsPort, { host, servername, path: '/x', headers, ...(clientCert ? { clientCert } : {}) });
}

const seen = (body: string): Record<string, unknown> => (JSON.parse(body) as { headers: Record<string, unknown> }).headers;

/** nginx's $ssl_client_escaped_cert: the PEM, every byte but letters, digits, `-` and `.` percent-encoded. */
const escapedPem = (pem: string): string => new X509Certificate(pem).toString().replace(/[^A-Za-z0-9.-]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);

/** What openssl s_client reports of the server's certificate request for an SNI name. */
function certificateRequest(servername: string): string {
  const out = execFileSync('openssl', ['s_client', '-connect', `127.0.0.1:${portico.httpsPort}`, '-servername', servername, '-tls1_2'], { input: '', encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 10_000 });
  return out;
}

before(async () => {
  dir = await manifestDir();
  await writeManifest(dir, 'app.yaml', await singlePodApp(pods, 'tlsauth', '127.0.227.1'));
  await writeManifest(dir, 'rot-ca.yaml', caSecret('rot', ca1));
  await writeManifest(dir, 'routes.yaml', routes());
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(() => stopEverything(pods));

describe('client certificates (auth-tls-*)', () => {
  test('verify-client on (the default): no certificate gets nginx\'s 400', async () => {
    const r = await get('mtls.test');
    assert.equal(r.status, 400);
    assert.equal(r.body, '400 Bad Request: No required SSL certificate was sent\n');
  });

  test('a certificate of another CA is refused with 400', async () => {
    const r = await get('mtls.test', foreign);
    assert.equal(r.status, 400);
    assert.equal(r.body, '400 Bad Request: The SSL certificate error\n');
  });

  test('a valid certificate: 200, the backend sees verify, subject, issuer and the escaped PEM', async () => {
    const r = await get('mtls.test', good);
    assert.equal(r.status, 200, r.body);
    const h = seen(r.body);
    assert.equal(h['ssl-client-verify'], 'SUCCESS');
    assert.equal(h['ssl-client-subject-dn'], 'O=Acme,CN=client-a');
    assert.equal(h['ssl-client-issuer-dn'], 'O=Portico Test,CN=Test CA 1');
    assert.equal(h['ssl-client-cert'], escapedPem(good.certPem));
    assert.match(String(h['ssl-client-cert']), /^-----BEGIN%20CERTIFICATE-----%0AMII/);
  });

  test('spoofed ssl-client-* headers never reach a backend', async () => {
    const spoof = { 'ssl-client-verify': 'SUCCESS', 'ssl-client-subject-dn': 'CN=admin', 'ssl-client-issuer-dn': 'CN=evil', 'ssl-client-cert': 'forged' };
    const plain = seen((await get('plain.test', undefined, spoof)).body);
    for (const name of Object.keys(spoof)) assert.equal(plain[name], undefined, `${name} reached the plain host's backend`);
    const opt = seen((await get('opt.test', undefined, spoof)).body);
    assert.equal(opt['ssl-client-verify'], 'NONE');
    for (const name of ['ssl-client-subject-dn', 'ssl-client-issuer-dn', 'ssl-client-cert']) assert.equal(opt[name], undefined, name);
    const withCert = seen((await get('opt.test', good, spoof)).body);
    assert.equal(withCert['ssl-client-subject-dn'], 'O=Acme,CN=client-a');
    assert.equal(withCert['ssl-client-cert'], undefined, 'pass-certificate is off: the forged value is removed, not passed');
  });

  test('optional: no certificate passes with NONE, a bad one gets 400, a good one SUCCESS', async () => {
    assert.equal((await get('opt.test')).status, 200);
    assert.equal((await get('opt.test', foreign)).status, 400);
    const r = await get('opt.test', good);
    assert.equal(r.status, 200);
    assert.equal(seen(r.body)['ssl-client-verify'], 'SUCCESS');
  });

  test('optional_no_ca: a certificate of an unknown CA passes with FAILED and its subject', async () => {
    const none = await get('noca.test');
    assert.equal(none.status, 200);
    assert.equal(seen(none.body)['ssl-client-verify'], 'NONE');
    const r = await get('noca.test', foreign);
    assert.equal(r.status, 200, r.body);
    assert.equal(seen(r.body)['ssl-client-verify'], 'FAILED:unable to verify the first certificate');
    assert.equal(seen(r.body)['ssl-client-issuer-dn'], 'O=Portico Test,CN=Test CA 2');
  });

  test('match-cn: a matching subject passes; another, or none, gets 403', async () => {
    assert.equal((await get('cn.test', good)).status, 200);
    const r = await get('cn.test', intruder);
    assert.equal(r.status, 403);
    assert.equal(r.body, '403 Forbidden: client certificate unauthorized\n');
  });

  test('error-page: no certificate or a bad one is redirected', async () => {
    for (const c of [undefined, foreign]) {
      const r = await get('err.test', c);
      assert.equal(r.status, 302);
      assert.equal(r.headers.location, 'https://login.example.com/cert-needed');
    }
    assert.equal((await get('err.test', good)).status, 200);
  });

  test('a CA Secret missing or in another namespace: the host answers 403 even with a good certificate', async () => {
    for (const host of ['missing.test', 'cross.test']) {
      const r = await get(host, good);
      assert.equal(r.status, 403, host);
    }
  });

  test('a host without client authentication on the same port asks for no certificate; one with it names its CA', async () => {
    assert.match(certificateRequest('plain.test'), /No client certificate CA names sent/);
    const out = certificateRequest('mtls.test');
    assert.match(out, /Acceptable client certificate CA names\n.*CN\s?=\s?Test CA 1/);
    assert.equal((await get('plain.test')).status, 200);
  });

  test('a certificate verified for one name does not open another host: 421', async () => {
    const r = await get('mtls.test', good, {}, 'plain.test');
    assert.equal(r.status, 421);
    const noSni = await httpsGet(portico.httpsPort, { host: 'mtls.test', servername: '', clientCert: good });
    assert.equal(noSni.status, 421);
  });

  test('a rotated CA and a new host with client authentication go live without a reload', async () => {
    assert.equal((await get('rot.test', good)).status, 200);
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'rot-ca.yaml', caSecret('rot', ca3));
    await waitFor(async () => (await get('rot.test', rotated)).status === 200, { timeoutMs: 10_000, message: 'the rotated CA was not used' });
    assert.equal((await get('rot.test', good)).status, 400, 'the old CA is no longer trusted');
    await writeManifest(dir, 'routes.yaml', routes(route('new', 'new.test', { 'auth-tls-secret': 'rot' })));
    await waitFor(async () => (await get('new.test', rotated)).status === 200, { timeoutMs: 10_000, message: 'the new host was not served' });
    assert.equal((await get('new.test')).status, 400);
    assert.equal(await reloadCount(portico.adminPort), reloads, 'no reload');
  });

  test('the CA rotated, then the site certificate, then the CA again: each served at once, HAProxy never restarts', async () => {
    // HAProxy 2.6 with a CA file changed in place (issue #3165): the certificate update after it was never served,
    // and the next CA change crashed the worker. Portico names CA files by content and swaps the lines instead.
    const reloads = await reloadCount(portico.adminPort);
    const restarts = await metricValue(portico.adminPort, 'portico_haproxy_restarts_total');
    await writeManifest(dir, 'rot-ca.yaml', caSecret('rot', ca2));
    await waitFor(async () => (await get('rot.test', foreign)).status === 200, { timeoutMs: 10_000, message: 'the second CA was not used' });
    const renewed = makeCert({ cn: 'site-renewed', dnsNames: HOSTS, keyFormat: 'pkcs8' });
    await writeManifest(dir, 'routes.yaml', routes(route('new', 'new.test', { 'auth-tls-secret': 'rot' })).replace(tlsSecretYaml('default', 'site', site), tlsSecretYaml('default', 'site', renewed)));
    const served = async (): Promise<string> => (await get('rot.test', foreign)).cert.subject;
    await waitFor(async () => (await served()) === 'CN=site-renewed', { timeoutMs: 10_000, message: 'the renewed site certificate was never served' });
    await writeManifest(dir, 'rot-ca.yaml', caSecret('rot', ca3));
    await waitFor(async () => (await get('rot.test', rotated)).status === 200, { timeoutMs: 10_000, message: 'the CA rotated again was not used' });
    assert.equal((await get('rot.test', foreign)).status, 400, 'the CA before it is no longer trusted');
    assert.equal(await served(), 'CN=site-renewed');
    assert.equal(await reloadCount(portico.adminPort), reloads, 'no reload');
    assert.equal(await metricValue(portico.adminPort, 'portico_haproxy_restarts_total'), restarts, 'HAProxy never died');
  });
});
