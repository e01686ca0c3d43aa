// TLS defaults users expect (ingress-nginx's: Mozilla "intermediate" ciphers, TLS 1.2 and 1.3, HSTS on HTTPS for TLS
// hosts) and the listeners (IPv6 beside IPv4). Real Portico and HAProxy; real TLS handshakes from Node's OpenSSL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect, getCiphers } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { docs, httpGet, httpsGet, ingress, makeCert, manifestDir, startPortico, tlsSecretYaml, writeManifest } from './harness/index.js';
import { singlePodApp, stopEverything } from './harness/index.js';
import type { Echo, Portico } from './harness/index.js';
import { join } from 'node:path';
import { DEFAULT_SSL_CIPHERS } from '../../src/cli/flags.js';
import { threadsForCpuLimit } from '../../src/cli/platform.js';
import { cliCommand } from '../../src/haproxy/process/master-cli.js';

const pods: Echo[] = [];
let defaults: Portico;
let custom: Portico;
let off: Portico;
const cert = makeCert({ dnsNames: ['hsts.test'], keyFormat: 'pkcs8' });

before(async () => {
  const dir = await manifestDir();
  const app = await singlePodApp(pods, 's-tls', '127.0.36.1');
  const site = (host: string) => ({ host, paths: [{ path: '/', pathType: 'Prefix' as const, service: 's-tls', port: 80 }] });
  await writeManifest(
    dir,
    'tls.yaml',
    docs(
      app,
      tlsSecretYaml('default', 'hsts-tls', cert),
      ingress({ name: 'secure', annotations: { 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' }, tls: [{ hosts: ['hsts.test'], secretName: 'hsts-tls' }], rules: [site('hsts.test')] }),
      ingress({ name: 'plain', rules: [site('plain.test')] }),
    ),
  );
  [defaults, custom, off] = await Promise.all([
    startPortico({ manifests: dir }),
    startPortico({ manifests: dir, args: ['--hsts-max-age', '600', '--hsts-include-subdomains', 'false', '--hsts-preload', 'true', '--ssl-protocols', 'TLSv1.3', '--threads', '3'] }),
    startPortico({ manifests: dir, args: ['--hsts', 'false', '--ipv6', 'false', '--ssl-ciphers', 'ECDHE-RSA-AES256-GCM-SHA384'] }),
  ]);
  await Promise.all([defaults.waitReady(), custom.waitReady(), off.waitReady()]);
});

after(() => stopEverything(pods));

type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/** Resolves the negotiated cipher, or undefined when the handshake fails. */
function handshake(port: number, o: { ciphers?: string; min?: TlsVersion; max?: TlsVersion }): Promise<string | undefined> {
  return new Promise((resolve) => {
    const options = {
      host: '127.0.0.1',
      port,
      servername: 'hsts.test',
      rejectUnauthorized: false,
      // The client may offer anything: what is under test is what the server accepts.
      ciphers: `${o.ciphers ?? 'ALL'}:@SECLEVEL=0`,
      minVersion: o.min ?? 'TLSv1',
      maxVersion: o.max ?? 'TLSv1.3',
    };
    let s: TLSSocket;
    try {
      s = tlsConnect(options);
    } catch {
      resolve(undefined); // a suite this client cannot offer at all
      return;
    }
    s.setTimeout(5000, () => s.destroy());
    s.once('secureConnect', () => {
      resolve(s.getCipher().standardName);
      s.end();
    });
    s.once('error', () => resolve(undefined));
    s.once('close', () => resolve(undefined));
  });
}

describe('TLS versions and ciphers', () => {
  test('TLS 1.2 accepts only forward-secret AEAD suites from the default list; no static RSA, no CBC, no SHA-1', async () => {
    const accepted: string[] = [];
    for (const c of getCiphers().map((x) => x.toUpperCase())) {
      if (c.startsWith('TLS_')) continue; // TLS 1.3 suites are not chosen by this list
      if ((await handshake(defaults.httpsPort, { ciphers: c, min: 'TLSv1.2', max: 'TLSv1.2' })) !== undefined) accepted.push(c);
    }
    const allowed = new Set(DEFAULT_SSL_CIPHERS.split(':'));
    assert.ok(accepted.length > 0);
    assert.deepEqual(accepted.filter((c) => !allowed.has(c)), [], `accepted outside the default list: ${accepted.join(' ')}`);
    assert.ok(accepted.includes('ECDHE-RSA-AES128-GCM-SHA256'), accepted.join(' '));
    for (const weak of ['AES128-SHA', 'AES256-GCM-SHA384', 'ECDHE-RSA-AES128-SHA', 'ECDHE-RSA-AES256-SHA384']) assert.ok(!accepted.includes(weak), weak);
  });

  test('TLS 1.0 and 1.1 are refused; TLS 1.2 and 1.3 are accepted', async () => {
    assert.equal(await handshake(defaults.httpsPort, { min: 'TLSv1', max: 'TLSv1.1' }), undefined);
    assert.notEqual(await handshake(defaults.httpsPort, { min: 'TLSv1.2', max: 'TLSv1.2' }), undefined);
    assert.match((await handshake(defaults.httpsPort, { min: 'TLSv1.3', max: 'TLSv1.3' })) ?? '', /^TLS_/);
  });

  test('--ssl-protocols and --ssl-ciphers replace the defaults', async () => {
    assert.equal(await handshake(custom.httpsPort, { min: 'TLSv1.2', max: 'TLSv1.2' }), undefined, 'TLSv1.3 only');
    assert.match((await handshake(custom.httpsPort, { min: 'TLSv1.3' })) ?? '', /^TLS_/);
    assert.equal(await handshake(off.httpsPort, { ciphers: 'ECDHE-RSA-AES128-GCM-SHA256', min: 'TLSv1.2', max: 'TLSv1.2' }), undefined);
    assert.equal(await handshake(off.httpsPort, { ciphers: 'ECDHE-RSA-AES256-GCM-SHA384', min: 'TLSv1.2', max: 'TLSv1.2' }), 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384');
  });
});

describe('HSTS', () => {
  const hsts = async (p: Portico, host: string, https = true): Promise<string | string[] | undefined> => {
    const r = https ? await httpsGet(p.httpsPort, { host, servername: host }) : await httpGet(p.httpPort, { host });
    assert.equal(r.status, 200);
    return r.headers['strict-transport-security'];
  };

  test('HTTPS responses for a TLS host carry max-age=31536000; includeSubDomains by default', async () => {
    assert.equal(await hsts(defaults, 'hsts.test'), 'max-age=31536000; includeSubDomains');
  });

  test('never on plain HTTP, nor for hosts without a tls block', async () => {
    assert.equal(await hsts(defaults, 'hsts.test', false), undefined);
    assert.equal(await hsts(defaults, 'plain.test'), undefined);
  });

  test('--hsts-max-age, --hsts-include-subdomains, --hsts-preload shape it; --hsts false turns it off', async () => {
    assert.equal(await hsts(custom, 'hsts.test'), 'max-age=600; preload');
    assert.equal(await hsts(off, 'hsts.test'), undefined);
  });
});

describe('listeners', () => {
  test('IPv6 clients are served on the same ports and seen with their own address', async () => {
    const r = await httpGet(defaults.httpPort, { address: '[::1]', host: 'plain.test' });
    assert.equal(r.status, 200);
    assert.equal(r.json<{ headers: Record<string, string> }>().headers['x-real-ip'], '::1');
  });

  test('IPv4 clients are seen as IPv4, not as IPv4-mapped IPv6', async () => {
    const r = await httpGet(defaults.httpPort, { host: 'plain.test' });
    assert.equal(r.json<{ headers: Record<string, string> }>().headers['x-forwarded-for'], '127.0.0.1');
  });

  test('--threads sets the threads HAProxy runs; by default they follow the CPU limit', async () => {
    const threads = async (p: Portico): Promise<number> => Number(/^Nbthread: (\d+)$/m.exec(await cliCommand(join(p.stateDir, 'haproxy.sock'), 'show info'))?.[1]);
    assert.equal(await threads(custom), 3);
    assert.equal(await threads(defaults), threadsForCpuLimit());
  });

  test('--ipv6 false listens on IPv4 only', async () => {
    await assert.rejects(httpGet(off.httpPort, { address: '[::1]', host: 'plain.test', timeoutMs: 3000 }));
    assert.equal((await httpGet(off.httpPort, { host: 'plain.test' })).status, 200);
  });
});
