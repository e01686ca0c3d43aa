// Per-object isolation with real HAProxy: an object that passes every translate check but that HAProxy rejects is
// left out with a diagnostic, and every other tenant's changes keep going live.
//
// The object: a Secret with an RSA-2048 certificate while HAProxy runs at OpenSSL security level 3 (set through
// OPENSSL_CONF, which HAProxy, Portico's child, inherits). Level 3 asks for 128-bit keys, so OpenSSL refuses that
// certificate when HAProxy loads it (`haproxy -c`, a start, a reload, or `commit ssl cert` at runtime); at the
// default level 2 it is fine, and translate, which does not know the security level, accepts it. Node reads
// OPENSSL_CONF too, but only the file's `nodejs_conf` section (unless --openssl-shared-config), so Portico's own
// TLS is unaffected; the generated default certificate is ECDSA P-256, which level 3 accepts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { docs, endpointSlice, httpGet, httpsGet, ingress, makeCert, manifestDir, service, singlePodApp, startEcho, startPortico, stopEverything, tlsSecretYaml, waitFor, writeManifest } from './harness/index.js';
import type { Echo, LogLine, Portico } from './harness/index.js';

const pods: Echo[] = [];
let opensslConf = '';
const DEFAULT_CN = /CN=Portico Default Certificate/;
const weak = makeCert({ cn: 'weak', dnsNames: ['weak.iso.test'], keyFormat: 'pkcs8' }); // RSA-2048
const strong = makeCert({ cn: 'strong', dnsNames: ['strong.iso.test'], keyFormat: 'pkcs8', keyType: 'ec' });

const site = (name: string, host: string, service: string, secretName?: string): string =>
  ingress({ name, ...(secretName ? { tls: [{ hosts: [host], secretName }] } : {}), rules: [{ host, paths: [{ path: '/', pathType: 'Prefix', service, port: 80 }] }] });

const isolated = (secret: string) => (l: LogLine) => l.rule === 'haproxy-rejected' && l.object === `Secret default/${secret}`;

async function metric(p: Portico, name: string): Promise<number> {
  const body = (await httpGet(p.adminPort, { path: '/metrics' })).body;
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(body);
  return m ? Number(m[1]) : NaN;
}

/** Which pod answers for `host`: over HTTPS for a TLS host (plain HTTP is redirected, rule T9). */
async function podOf(p: Portico, host: string, tls = false): Promise<string> {
  const r = tls ? await httpsGet(p.httpsPort, { servername: host, host }) : await httpGet(p.httpPort, { host, path: '/' });
  return r.status === 200 ? r.json<{ pod: string }>().pod : `status ${r.status}`;
}

before(async () => {
  const etc = await manifestDir();
  opensslConf = join(etc, 'openssl.cnf');
  await writeFile(
    opensslConf,
    ['openssl_conf = openssl_init', '[openssl_init]', 'ssl_conf = ssl_sect', '[ssl_sect]', 'system_default = system_default_sect', '[system_default_sect]', 'CipherString = DEFAULT@SECLEVEL=3', ''].join('\n'),
  );
});

after(() => stopEverything(pods));

const level3 = (): NodeJS.ProcessEnv => ({ ...process.env, OPENSSL_CONF: opensslConf });

describe('an object HAProxy rejects is left out; everything else goes live (isolation)', () => {
  test('added at runtime: the Secret is left out with a diagnostic, its host is served with the default certificate, and other tenants keep changing', async () => {
    const dir = await manifestDir();
    const appA = await singlePodApp(pods, 'tenant-a', '127.0.70.1');
    await writeManifest(dir, 'tenant-a.yaml', docs(appA, site('tenant-a', 'a.iso.test', 'tenant-a')));
    await writeManifest(dir, 'tenant-b.yaml', docs(await singlePodApp(pods, 'tenant-b', '127.0.70.2'), site('tenant-b', 'b.iso.test', 'tenant-b')));
    const p = await startPortico({ manifests: [dir], env: level3() });
    await p.waitReady();
    assert.equal(await podOf(p, 'a.iso.test'), 'tenant-a');

    // Tenant A adds TLS with a certificate HAProxy refuses at this security level.
    await writeManifest(dir, 'tenant-a.yaml', docs(appA, tlsSecretYaml('default', 'weak-tls', weak), site('tenant-a', 'a.iso.test', 'tenant-a', 'weak-tls')));
    await writeManifest(dir, 'weak-site.yaml', docs(site('weak', 'weak.iso.test', 'tenant-a', 'weak-tls')));
    await waitFor(async () => (await podOf(p, 'weak.iso.test', true)) === 'tenant-a', { timeoutMs: 30_000, message: 'the rest of the rejected change never went live' });
    const line = await p.waitForLog(isolated('weak-tls'));
    assert.equal(line.field, 'data');
    assert.match(String(line.msg), /HAProxy rejects the configuration with this Secret.*unable to load SSL certificate/);
    const r = await httpsGet(p.httpsPort, { servername: 'weak.iso.test', host: 'weak.iso.test' });
    assert.equal(r.status, 200);
    assert.match(r.cert.subject, DEFAULT_CN, 'the host is served with the default certificate');
    assert.equal(await metric(p, 'portico_objects_excluded'), 1);
    assert.equal(await metric(p, 'portico_objects_isolated_total'), 1);

    // Tenant B moves its endpoint to a new pod, and adds a host with a certificate HAProxy accepts.
    pods.push(await startEcho({ pod: 'tenant-b-v2', ip: '127.0.70.3', port: 3000 }));
    await writeManifest(
      dir,
      'tenant-b.yaml',
      docs(
        service({ name: 'tenant-b', ports: [{ port: 80, targetPort: 3000 }] }),
        endpointSlice({ name: 'tenant-b-1', service: 'tenant-b', ports: [{ port: 3000 }], endpoints: [{ ip: '127.0.70.3' }] }),
        site('tenant-b', 'b.iso.test', 'tenant-b'),
        tlsSecretYaml('default', 'strong-tls', strong),
        site('tenant-b-strong', 'strong.iso.test', 'tenant-b', 'strong-tls'),
      ),
    );
    await waitFor(async () => (await podOf(p, 'b.iso.test')) === 'tenant-b-v2', { timeoutMs: 30_000, message: 'the moved endpoint never got traffic' });
    await waitFor(async () => (await podOf(p, 'strong.iso.test', true)) === 'tenant-b-v2', { timeoutMs: 30_000, message: 'the new Ingress never went live' });
    const s = await httpsGet(p.httpsPort, { servername: 'strong.iso.test', host: 'strong.iso.test' });
    assert.match(s.cert.subjectaltname, /DNS:strong\.iso\.test/);
    // The unchanged Secret is not tried again on every change.
    assert.equal(await metric(p, 'portico_objects_isolated_total'), 1);
    assert.equal(p.logs.entries.filter(isolated('weak-tls')).length, 1, 'the diagnostic is logged once');

    // A fixed certificate (ECDSA) under the same name goes live: a changed object is tried again.
    await writeManifest(dir, 'tenant-a.yaml', docs(appA, tlsSecretYaml('default', 'weak-tls', makeCert({ cn: 'fixed', dnsNames: ['weak.iso.test'], keyFormat: 'pkcs8', keyType: 'ec' })), site('tenant-a', 'a.iso.test', 'tenant-a', 'weak-tls')));
    await waitFor(async () => /DNS:weak\.iso\.test/.test((await httpsGet(p.httpsPort, { servername: 'weak.iso.test', host: 'weak.iso.test' })).cert.subjectaltname), { timeoutMs: 30_000, message: 'the fixed Secret never went live' });
    assert.equal(await metric(p, 'portico_objects_excluded'), 0);
  });

  test('present at start: Portico serves everything else, not an empty configuration', async () => {
    const dir = await manifestDir();
    await writeManifest(dir, 'tenant-c.yaml', docs(await singlePodApp(pods, 'tenant-c', '127.0.70.4'), site('tenant-c', 'c.iso.test', 'tenant-c')));
    await writeManifest(dir, 'weak.yaml', docs(tlsSecretYaml('default', 'weak-tls', weak), site('weak', 'weak.iso.test', 'tenant-c', 'weak-tls')));
    const p = await startPortico({ manifests: [dir], env: level3() });
    await p.waitReady(60_000);
    assert.equal(await podOf(p, 'c.iso.test'), 'tenant-c');
    await p.waitForLog(isolated('weak-tls'));
    const r = await httpsGet(p.httpsPort, { servername: 'weak.iso.test', host: 'weak.iso.test' });
    assert.equal(r.json<{ pod: string }>().pod, 'tenant-c');
    assert.match(r.cert.subject, DEFAULT_CN);
    assert.ok(!p.logs.entries.some((l) => String(l.msg).includes('starting with no routes')), 'no empty configuration was served');
    // And later changes go live as usual.
    await writeManifest(dir, 'late.yaml', site('late', 'late.iso.test', 'tenant-c'));
    await waitFor(async () => (await podOf(p, 'late.iso.test')) === 'tenant-c', { timeoutMs: 30_000, message: 'a later change never went live' });
  });
});
