// One tenant's bad certificate never holds back everyone else (rules tls-security-level, tls-expired, T5). A Secret
// whose RSA-1024 key HAProxy's OpenSSL refuses used to reach HAProxy: every later configuration was then rejected,
// and all updates froze. Now it is reported, its host gets the default certificate, and later changes go live.
// An expired certificate is served (as ingress-nginx does) and reported.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { docs, endpointSlice, httpGet, httpsGet, ingress, makeCert, manifestDir, service, startEcho, startPortico, tlsHandshake, tlsSecretYaml, waitFor, writeManifest } from './harness/index.js';
import { stopEverything } from './harness/index.js';
import type { Echo, Portico } from './harness/index.js';

const pods: Echo[] = [];
let dir = '';
let portico: Portico;
const DEFAULT_CN = /CN=Portico Default Certificate/;
const certs = {
  good: makeCert({ cn: 'good', dnsNames: ['good.bad-certs.test'], keyFormat: 'pkcs8' }),
  weak: makeCert({ cn: 'weak', dnsNames: ['weak.bad-certs.test'], keyFormat: 'pkcs1', rsaBits: 1024 }),
  expired: makeCert({ cn: 'expired', dnsNames: ['expired.bad-certs.test'], keyFormat: 'pkcs8', validity: { notBefore: '20200101000000Z', notAfter: '20210101000000Z' } }),
};

const site = (name: string, host: string, svc: string, secretName?: string): string =>
  ingress({ name, ...(secretName ? { tls: [{ hosts: [host], secretName }] } : {}), rules: [{ host, paths: [{ path: '/', pathType: 'Prefix', service: svc, port: 80 }] }] });

const app = (name: string, ip: string, slice = `${name}-1`): string =>
  docs(service({ name, ports: [{ port: 80, targetPort: 3000 }] }), endpointSlice({ name: slice, service: name, ports: [{ port: 3000 }], endpoints: [{ ip }] }));

async function metric(name: string): Promise<number> {
  const body = (await httpGet(portico.adminPort, { path: '/metrics' })).body;
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(body);
  assert.ok(m, `metric ${name} not found`);
  return Number(m[1]);
}

before(async () => {
  dir = await manifestDir();
  for (const [pod, ip] of [['good', '127.0.61.1'], ['weak', '127.0.61.2'], ['other', '127.0.61.3'], ['other-moved', '127.0.61.4'], ['expired', '127.0.61.5']] as const)
    pods.push(await startEcho({ pod, ip, port: 3000 }));
  await writeManifest(dir, 'apps.yaml', docs(app('good', '127.0.61.1'), app('weak', '127.0.61.2'), app('expired', '127.0.61.5')));
  await writeManifest(dir, 'other.yaml', app('other', '127.0.61.3'));
  await writeManifest(dir, 'secrets.yaml', docs(tlsSecretYaml('default', 'good-tls', certs.good), tlsSecretYaml('default', 'expired-tls', certs.expired)));
  await writeManifest(
    dir,
    'ingresses.yaml',
    docs(
      site('good', 'good.bad-certs.test', 'good', 'good-tls'),
      site('weak', 'weak.bad-certs.test', 'weak', 'weak-tls'),
      site('other', 'other.bad-certs.test', 'other'),
      site('expired', 'expired.bad-certs.test', 'expired', 'expired-tls'),
    ),
  );
  portico = await startPortico({ manifests: [dir], args: ['--ssl-redirect', 'false'] });
  await portico.waitReady();
});

after(() => stopEverything(pods));

describe('a certificate HAProxy would refuse (tls-security-level)', () => {
  test('an RSA-1024 Secret is reported and served as the default certificate; the rest keeps working and later changes go live', async () => {
    assert.match((await tlsHandshake(portico.httpsPort, { servername: 'good.bad-certs.test' })).cert.subject, /CN=good/);
    assert.equal(await metric('portico_config_rejected_total'), 0);

    await writeManifest(dir, 'weak-secret.yaml', tlsSecretYaml('default', 'weak-tls', certs.weak));
    const line = await portico.waitForLog((l) => l.object === 'Secret default/weak-tls' && l.rule === 'tls-security-level', 10_000);
    assert.equal(line.field, 'data[tls.key]');
    assert.match(String(line.msg), /RSA key of 1024 bits is below the 2048 bits OpenSSL's security level 2 requires/);
    await portico.waitForLog((l) => l.object === 'Ingress default/weak' && l.rule === 'T5', 10_000);

    // The weak host is served, with the default certificate; the other host keeps its own certificate.
    const weak = await httpsGet(portico.httpsPort, { servername: 'weak.bad-certs.test', host: 'weak.bad-certs.test' });
    assert.equal(weak.status, 200);
    assert.equal(weak.json<{ pod: string }>().pod, 'weak');
    assert.match(weak.cert.subject, DEFAULT_CN);
    const good = await httpsGet(portico.httpsPort, { servername: 'good.bad-certs.test', host: 'good.bad-certs.test', ca: certs.good.certPem, rejectUnauthorized: true });
    assert.equal(good.status, 200);
    assert.match(good.cert.subject, /CN=good/);

    // Another tenant's endpoint change afterwards: the EndpointSlice moves to a new pod address, and goes live.
    await writeManifest(dir, 'other.yaml', app('other', '127.0.61.4'));
    let pod = '';
    await waitFor(
      async () => {
        const r = await httpGet(portico.httpPort, { host: 'other.bad-certs.test' });
        pod = r.status === 200 ? r.json<{ pod: string }>().pod : `HTTP ${r.status}`;
        return pod === 'other-moved';
      },
      { timeoutMs: 10_000, intervalMs: 50, message: () => `the endpoint change never went live (last answer: ${pod}); rejected: ${portico.logs.lines.filter((l) => /rejected|not applied/.test(l)).slice(-3).join('\n')}` },
    );
    assert.equal(await metric('portico_config_rejected_total'), 0, 'no candidate configuration was rejected');
    assert.match((await tlsHandshake(portico.httpsPort, { servername: 'weak.bad-certs.test' })).cert.subject, DEFAULT_CN);
  });
});

describe('an expired certificate (tls-expired)', () => {
  test('is served, as ingress-nginx does, and reported with its notAfter', async () => {
    const r = await httpsGet(portico.httpsPort, { servername: 'expired.bad-certs.test', host: 'expired.bad-certs.test' });
    assert.equal(r.status, 200);
    assert.match(r.cert.subject, /CN=expired/);
    const line = await portico.waitForLog((l) => l.object === 'Secret default/expired-tls' && l.rule === 'tls-expired', 10_000);
    assert.equal(line.field, 'data[tls.crt]');
    assert.equal(line.level, 40, 'a warning');
    assert.match(String(line.msg), /expired at 2021-01-01T00:00:00\.000Z \(notAfter\)/);
  });
});
