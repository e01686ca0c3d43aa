// The settings ConfigMap (--configmap, docs/configmap.md) through real HAProxy: what clients see of HSTS, the TLS
// versions offered, the Server header, the global body limit (an Ingress's own annotation above it), the status of a
// rate-limited request and of the redirect to HTTPS; an edit of a setting the configuration text holds goes live by a
// hitless reload while a request loop runs (no request fails), an edit of ssl-redirect by route updates alone (no
// reload), and a deleted ConfigMap gives every setting back to its flag.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import {
  configMap,
  docs,
  httpGet,
  httpsGet,
  ingress,
  makeCert,
  manifestDir,
  reloadCount,
  removeManifest,
  singlePodApp,
  startPortico,
  stopEverything,
  tlsSecretYaml,
  waitFor,
  writeManifest,
} from './harness/index.js';
import type { Echo, Portico } from './harness/index.js';
import { openSocket, readResponse } from './harness/raw.js';

const P = 'nginx.ingress.kubernetes.io/';
const pods: Echo[] = [];
let dir = '';
let portico: Portico;

const route = (name: string, host: string, annotations: Record<string, string> = {}, tls = false): string =>
  ingress({ name, annotations, ...(tls ? { tls: [{ hosts: [host], secretName: 'site-tls' }] } : {}), rules: [{ host, paths: [{ path: '/', pathType: 'Prefix', service: 'cs', port: 80 }] }] });

const FIRST = {
  'hsts-max-age': '600',
  'hsts-include-subdomains': 'false',
  'ssl-protocols': 'TLSv1.3',
  'server-tokens': 'false',
  'proxy-body-size': '1k',
  'limit-req-status-code': '429',
  'http-redirect-code': '301',
  'proxy-read-timeout': '1',
  'client-header-timeout': '1',
  // Left out with G1, G3: the rest applies.
  'keep-alive': 'forever',
  'proxy-body-sise': '8m',
};

const settings = (data: Record<string, string>): string => configMap({ ns: 'portico', name: 'settings', data });

/** The TLS version agreed with a client that offers only `version`, or undefined when the handshake fails. */
function handshake(version: 'TLSv1.2' | 'TLSv1.3'): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port: portico.httpsPort, servername: 'secure.test', rejectUnauthorized: false, minVersion: version, maxVersion: version });
    s.setTimeout(5000, () => s.destroy());
    s.once('secureConnect', () => {
      resolve(s.getProtocol() ?? undefined);
      s.end();
    });
    s.once('error', () => resolve(undefined));
    s.once('close', () => resolve(undefined));
  });
}

const secure = (path = '/'): ReturnType<typeof httpsGet> => httpsGet(portico.httpsPort, { servername: 'secure.test', host: 'secure.test', path });

before(async () => {
  dir = await manifestDir();
  await writeManifest(dir, 'app.yaml', await singlePodApp(pods, 'cs', '127.0.103.1'));
  await writeManifest(dir, 'tls.yaml', tlsSecretYaml('default', 'site-tls', makeCert({ cn: 'secure.test', dnsNames: ['secure.test'], keyFormat: 'pkcs8' })));
  await writeManifest(
    dir,
    'routes.yaml',
    docs(
      route('secure', 'secure.test', {}, true),
      route('plain', 'plain.test'),
      route('uploads', 'uploads.test', { [`${P}proxy-body-size`]: '8k' }),
      route('limited', 'limited.test', { [`${P}limit-rps`]: '1', [`${P}limit-burst-multiplier`]: '1' }),
      route('patient', 'patient.test', { [`${P}proxy-read-timeout`]: '5' }),
    ),
  );
  await writeManifest(dir, 'settings.yaml', settings(FIRST));
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0', '--configmap', 'portico/settings'] });
  await portico.waitReady();
});

after(async () => {
  await stopEverything(pods);
});

describe('the settings a client sees', () => {
  test('HSTS as the ConfigMap writes it: its max-age, without includeSubDomains', async () => {
    assert.equal((await secure()).headers['strict-transport-security'], 'max-age=600');
  });

  test('ssl-protocols "TLSv1.3": a TLS 1.2 client fails the handshake, a TLS 1.3 one is served', async () => {
    assert.equal(await handshake('TLSv1.2'), undefined);
    assert.equal(await handshake('TLSv1.3'), 'TLSv1.3');
  });

  test('server-tokens "false": no Server header, neither Portico\'s nor the backend\'s', async () => {
    const own = await httpGet(portico.httpPort, { host: 'plain.test' });
    assert.equal(own.status, 200);
    assert.equal(own.headers.server, undefined);
    const backends = await httpGet(portico.httpPort, { host: 'plain.test', path: '/?reply-header=server:echo/1.0' });
    assert.equal(backends.headers.server, undefined);
    assert.equal((await httpGet(portico.httpPort, { host: 'nowhere.test' })).headers.server, undefined, "HAProxy's own 404");
  });

  test('proxy-body-size "1k": 413 above it, unless the Ingress sets its own limit', async () => {
    const body = 'x'.repeat(2048);
    assert.equal((await httpGet(portico.httpPort, { host: 'plain.test', method: 'POST', body })).status, 413);
    assert.equal((await httpGet(portico.httpPort, { host: 'plain.test', method: 'POST', body: 'x'.repeat(512) })).status, 200);
    assert.equal((await httpGet(portico.httpPort, { host: 'uploads.test', method: 'POST', body })).status, 200);
  });

  test('limit-req-status-code "429": a request over limit-rps gets 429', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await httpGet(portico.httpPort, { host: 'limited.test' })).status);
    assert.ok(statuses.includes(200), statuses.join(' '));
    const refused = statuses.filter((s) => s !== 200);
    assert.ok(refused.length > 0 && refused.every((s) => s === 429), statuses.join(' '));
    let body = '';
    await waitFor(async () => {
      const r = await httpGet(portico.httpPort, { host: 'limited.test' });
      body = r.body;
      return r.status === 429;
    });
    assert.match(body, /^429 Too Many Requests: /);
  });

  test('http-redirect-code "301": plain HTTP to a TLS host is redirected with 301', async () => {
    const r = await httpGet(portico.httpPort, { host: 'secure.test', path: '/a?b=1' });
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, 'https://secure.test/a?b=1');
  });

  test('proxy-read-timeout "1": a backend silent for 2.5 s gets 504, unless the Ingress waits longer', async () => {
    assert.equal((await httpGet(portico.httpPort, { host: 'plain.test', path: '/slow?ms=2500' })).status, 504);
    assert.equal((await httpGet(portico.httpPort, { host: 'patient.test', path: '/slow?ms=2500' })).status, 200);
  });

  test('client-header-timeout "1": headers not finished within a second get 408 (the flag says 10 s)', async () => {
    const socket = await openSocket(portico.httpPort);
    const started = Date.now();
    socket.write('GET / HTTP/1.1\r\nHost: plain.test\r\n');
    const r = await readResponse(socket, 8000);
    socket.destroy();
    assert.equal(r.status, 408);
    assert.ok(Date.now() - started < 5000, `408 after ${Date.now() - started} ms`);
  });

  test('a bad value and an unknown key are reported on the ConfigMap, naming the key; the rest applies', () => {
    const findings = portico.logs.entries.filter((e) => e.object === 'ConfigMap portico/settings');
    const byRule = (rule: string): string[] => findings.filter((e) => e.rule === rule).map((e) => String(e.field));
    assert.deepEqual(byRule('G1'), ['data[keep-alive]']);
    assert.deepEqual(byRule('G3'), ['data[proxy-body-sise]']);
    assert.match(String(findings.find((e) => e.rule === 'G3')?.msg), /did you mean "proxy-body-size"/);
  });
});

describe('changing the ConfigMap', () => {
  test('a setting in the configuration text: a hitless reload, and no request of a running loop fails', async () => {
    const reloads = await reloadCount(portico.adminPort);
    let stop = false;
    const failures: string[] = [];
    let sent = 0;
    const loop = async (): Promise<void> => {
      while (!stop) {
        sent++;
        try {
          const r = await httpGet(portico.httpPort, { host: 'plain.test', timeoutMs: 10_000 });
          if (r.status !== 200) failures.push(`status ${r.status}`);
        } catch (e) {
          failures.push(e instanceof Error ? e.message : String(e));
        }
      }
    };
    const loops = [loop(), loop(), loop()];
    await writeManifest(dir, 'settings.yaml', settings({ ...FIRST, 'hsts-max-age': '1200', 'server-tokens': 'true' }));
    await waitFor(async () => (await secure()).headers['strict-transport-security'] === 'max-age=1200', { timeoutMs: 15_000 });
    // A little more traffic on the new workers, then stop.
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(loops);
    assert.deepEqual(failures, [], `${failures.length} of ${sent} requests failed`);
    assert.ok(sent > 10, `only ${sent} requests were sent`);
    assert.ok((await reloadCount(portico.adminPort)) > reloads, 'no reload');
    assert.equal((await httpGet(portico.httpPort, { host: 'plain.test' })).headers.server, 'portico');
  });

  test('ssl-redirect "false": plain HTTP is served again, through route updates (no reload)', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'settings.yaml', settings({ ...FIRST, 'hsts-max-age': '1200', 'server-tokens': 'true', 'ssl-redirect': 'false' }));
    await waitFor(async () => (await httpGet(portico.httpPort, { host: 'secure.test' })).status === 200, { timeoutMs: 15_000 });
    assert.equal(await reloadCount(portico.adminPort), reloads, 'a reload for a change of route defaults');
  });

  test('a deleted ConfigMap: every setting is its flag again (TLS 1.2 accepted, HSTS a year with includeSubDomains, 308)', async () => {
    await removeManifest(dir, 'settings.yaml');
    await waitFor(async () => (await handshake('TLSv1.2')) === 'TLSv1.2', { timeoutMs: 15_000 });
    assert.equal((await secure()).headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
    assert.equal((await httpGet(portico.httpPort, { host: 'secure.test' })).status, 308);
    await waitFor(() => Promise.resolve(portico.logs.entries.some((e) => e.rule === 'G5' && e.object === 'ConfigMap portico/settings')));
  });
});
