// The client-address keys of the settings ConfigMap (src/translate/settings/client-address.ts) and what render
// writes for them (src/haproxy/render/client-address.ts): the grammars, ingress-nginx's way of combining the keys,
// nothing written while they are off, render's own checks, and the real `haproxy -c` over every combination.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readGlobalSettings } from '../../src/translate/settings/index.js';
import { clientAddressOf, clientAddressRules, clientAddressFiles, listenerRules, REAL_IP_DEPTH } from '../../src/haproxy/render/client-address.js';
import { render } from '../../src/haproxy/render/render.js';
import type { GlobalSettings, RoutingModel } from '../../src/model/types.js';
import { generateDefaultCertificate } from '../../src/haproxy/default-cert.js';
import { testRenderOptions } from '../render-options.js';
import { model } from './plan-fixtures.js';

const OBJECT = 'ConfigMap portico/settings';
const read = (data: Record<string, string>): ReturnType<typeof readGlobalSettings> => readGlobalSettings(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : 1)), OBJECT);

void test('valid values reach the settings, as ingress-nginx reads them', () => {
  const r = read({
    'use-forwarded-headers': 'true',
    'enable-real-ip': 'True',
    'compute-full-forwarded-for': '1',
    'use-proxy-protocol': 'false',
    'forwarded-for-header': 'X-Real-Client',
    'proxy-real-ip-cidr': '10.0.0.0/8, 192.168.1.1 ,2001:db8::/32',
  });
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual(r.settings, {
    useForwardedHeaders: true,
    enableRealIp: true,
    computeFullForwardedFor: true,
    useProxyProtocol: false,
    forwardedForHeader: 'x-real-client',
    proxyRealIpCidr: ['10.0.0.0/8', '192.168.1.1/32', '2001:db8::/32'],
  });
});

void test('the keys Portico cannot honour are read, checked and reported', () => {
  const r = read({ 'proxy-protocol-header-timeout': '10s', 'forwarded-for-proxy-protocol-header': 'X-Forwarded-For-Proxy-Protocol' });
  assert.deepEqual(r.settings, {});
  assert.deepEqual(r.diagnostics.map((d) => [d.field, d.rule]), [['data[proxy-protocol-header-timeout]', 'G4']]);
  assert.deepEqual(r.reports.map((x) => [x.key, x.status]), [['forwarded-for-proxy-protocol-header', 'ignored'], ['proxy-protocol-header-timeout', 'partial']]);
  assert.equal(read({ 'proxy-protocol-header-timeout': '5 s' }).diagnostics[0]?.rule, 'G1');
});

const MEGABYTE = 'a'.repeat(1 << 20);
const HOSTILE = ['', ' ', 'true\n', 'x\nbind :1', '"', "'", '#', '}', '{ src 0.0.0.0/0 }', 'if TRUE', 'X-Forwarded-For if TRUE', 'x-ff\r\nfoo', 'X_Forwarded_For', 'Host', 'forwarded', MEGABYTE, `10.0.0.0/8,${MEGABYTE}`, '10.0.0.0/8 }', '10.0.0.0/8\n', '10.0.0.0/33', 'lb.example.com', 'fe80::1%eth0', '0.0.0.0/0 -f /etc/passwd'];

void test('hostile values are refused with G1, naming the object and the key, and never reach the settings', () => {
  for (const key of ['use-forwarded-headers', 'enable-real-ip', 'compute-full-forwarded-for', 'use-proxy-protocol', 'forwarded-for-header', 'proxy-real-ip-cidr', 'proxy-protocol-header-timeout', 'forwarded-for-proxy-protocol-header']) {
    for (const value of HOSTILE) {
      const r = read({ [key]: value });
      assert.deepEqual(r.settings, {}, `${key}: ${JSON.stringify(value.slice(0, 40))} reached the settings`);
      assert.equal(r.diagnostics.length, 1, `${key}: ${JSON.stringify(value.slice(0, 40))}`);
      const d = r.diagnostics[0]!;
      assert.deepEqual([d.object, d.field, d.rule], [OBJECT, `data[${key}]`, 'G1']);
      assert.ok(d.message.length < 400, 'the message quotes a megabyte value in full');
    }
  }
  // The list's own bound: more than a thousand blocks is a mistake, not a list of proxies.
  assert.equal(read({ 'proxy-real-ip-cidr': Array.from({ length: 1001 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`).join(',') }).diagnostics[0]?.rule, 'G1');
});

void test("ingress-nginx's combination of the keys: which header names the client, and what is passed", () => {
  assert.equal(clientAddressOf(undefined), undefined);
  assert.equal(clientAddressOf({ computeFullForwardedFor: true, forwardedForHeader: 'x-a', proxyRealIpCidr: ['10.0.0.0/8'] }), undefined, 'no key that turns the realip module on');
  assert.equal(clientAddressOf({ useForwardedHeaders: false, enableRealIp: false, useProxyProtocol: false }), undefined);
  // real_ip_header: X-Forwarded-For (or forwarded-for-header) with use-forwarded-headers or enable-real-ip...
  assert.deepEqual(clientAddressOf({ enableRealIp: true, computeFullForwardedFor: true }), { proxyProtocol: false, header: 'x-forwarded-for', forwardedHeaders: false, appendForwardedFor: false, trusted: ['0.0.0.0/0'] });
  assert.deepEqual(clientAddressOf({ useForwardedHeaders: true, forwardedForHeader: 'x-a', proxyRealIpCidr: ['10.0.0.0/8'] }), { proxyProtocol: false, header: 'x-a', forwardedHeaders: true, appendForwardedFor: false, trusted: ['10.0.0.0/8'] });
  // ... proxy_protocol with the PROXY protocol alone, even with enable-real-ip ...
  assert.deepEqual(clientAddressOf({ useProxyProtocol: true, enableRealIp: true }), { proxyProtocol: true, forwardedHeaders: false, appendForwardedFor: false, trusted: ['0.0.0.0/0'] });
  // ... and with both, the PROXY source first, then the trusted proxies' header.
  assert.deepEqual(clientAddressOf({ useProxyProtocol: true, useForwardedHeaders: true, computeFullForwardedFor: true }), { proxyProtocol: true, header: 'x-forwarded-for', forwardedHeaders: true, appendForwardedFor: true, trusted: ['0.0.0.0/0'] });
});

const APP = `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app
  namespace: default
  annotations:
    nginx.ingress.kubernetes.io/whitelist-source-range: "203.0.113.0/24"
    nginx.ingress.kubernetes.io/limit-rps: "5"
spec:
  rules:
    - host: app.example.com
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: app, port: {number: 80}}}}
`;
const PASSTHROUGH = `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: tls
  namespace: default
  annotations:
    nginx.ingress.kubernetes.io/ssl-passthrough: "true"
spec:
  rules:
    - host: tls.example.com
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: tls, port: {number: 443}}}}
`;

function withGlobal(yaml: string, g: GlobalSettings | undefined): RoutingModel {
  const m = model(yaml);
  return g === undefined ? m : { ...m, global: g };
}

void test('nothing is written while the keys are off: the plain configuration is the one without a ConfigMap', () => {
  const o = testRenderOptions();
  const plain = render(withGlobal(APP, undefined), o, 'PEM');
  for (const g of [{}, { useForwardedHeaders: false, enableRealIp: false, useProxyProtocol: false, computeFullForwardedFor: true, forwardedForHeader: 'x-a', proxyRealIpCidr: ['10.0.0.0/8'] }]) {
    const r = render(withGlobal(APP, g), o, 'PEM');
    assert.equal(r.config, plain.config);
    assert.deepEqual([...r.files.keys()], [...plain.files.keys()]);
  }
  assert.ok(!plain.config.includes('http-request set-src') && !plain.config.includes('expect-proxy') && !plain.config.includes('txn.peer'));
});

void test('what render writes: the walk, the forwarded headers, the PROXY protocol at both listeners and at the SNI listener', () => {
  const o = testRenderOptions();
  const walk = render(withGlobal(APP, { useForwardedHeaders: true, proxyRealIpCidr: ['10.0.0.0/8'] }), o, 'PEM');
  assert.equal(walk.files.get('client-address/trusted.lst'), '10.0.0.0/8\n');
  assert.equal(walk.config.match(/http-request set-src var\(txn\.rip\d\)/g)?.length, 2 * REAL_IP_DEPTH, 'each frontend walks');
  assert.ok(!walk.config.includes('expect-proxy'));
  // The walk precedes every rule that reads the client: the access list's src and the rate limit's sess.client.
  const http = walk.config.slice(walk.config.indexOf('frontend portico_http'), walk.config.indexOf('frontend portico_https'));
  const lastWalk = http.indexOf('http-request set-var(sess.client) src,lower');
  assert.ok(lastWalk > 0 && lastWalk < http.indexOf('X-Forwarded-For'));
  assert.ok(lastWalk < http.indexOf('src,map_ip('), 'the access list');
  assert.ok(lastWalk < http.search(/concat\(\|,sess\.client\)/), 'the rate limit');
  assert.match(http, /redirect location https:.* !\{ var\(txn\.offloaded\) -m bool \}/);

  const pp = render(withGlobal(PASSTHROUGH, { useProxyProtocol: true }), testRenderOptions({ bindAddress: '10.1.2.3' }), 'PEM');
  const sni = pp.config.slice(pp.config.indexOf('frontend portico_https_sni'));
  assert.match(sni, /tcp-request connection expect-proxy layer4 unless \{ src 127\.0\.0\.1 ::1 10\.1\.2\.3 \}/);
  assert.match(sni, /tcp-request session track-sc0 src/);
  assert.ok(!/tcp-request connection track-sc0/.test(pp.config), 'the per-client limits count the PROXY source, at the session');
  assert.equal(pp.config.match(/expect-proxy/g)?.length, 2, 'the HTTP listener and the SNI listener; the terminating frontend behind the hop has its own accept-proxy');
  assert.ok(!pp.config.includes('txn.rip'), 'the PROXY protocol alone reads no header');
});

void test("render refuses what no grammar lets through, whatever translate's bug hands it", () => {
  const ca = clientAddressOf({ useForwardedHeaders: true })!;
  for (const header of ['x-ff if TRUE', 'X-FF', 'x_ff', 'x-ff\n', '']) assert.throws(() => clientAddressRules({ ...ca, header }, '/d', false, 80), /render: refusing/);
  for (const block of ['10.0.0.0', '10.0.0.0/8 }', '10.0.0.0/8\nbind :1', 'lb.example.com/8', '::/129']) assert.throws(() => clientAddressFiles({ ...ca, trusted: [block] }), /render: refusing/);
  assert.throws(() => listenerRules({ ...ca, proxyProtocol: true }, [], '/d', ['127.0.0.1 }']), /render: refusing/);
  assert.throws(() => listenerRules({ ...ca, proxyProtocol: true }, ['http-request deny'], '/d', ['127.0.0.1']), /render: refusing/);
  assert.throws(() => clientAddressRules(ca, '/d', false, 0), /render: refusing/);
});

function haproxyCheck(config: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('haproxy', ['-c', '-f', config], { timeout: 30_000 }, (err, stdout, stderr) => resolve(err ? `${stdout}${stderr}` : undefined));
  });
}

void test('haproxy -c accepts every combination, with ssl-passthrough, a bind address and a long trusted list', async () => {
  const work = mkdtempSync(join(tmpdir(), 'portico-client-address-'));
  try {
    const pem = await generateDefaultCertificate();
    const long = Array.from({ length: 300 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`).join(',');
    const variants: Record<string, string>[] = [];
    for (const ufh of ['true', 'false'])
      for (const upp of ['true', 'false'])
        for (const eri of ['true', 'false'])
          variants.push({ 'use-forwarded-headers': ufh, 'use-proxy-protocol': upp, 'enable-real-ip': eri, 'compute-full-forwarded-for': 'true', 'forwarded-for-header': 'CF-Connecting-IP', 'proxy-real-ip-cidr': `${long},2001:db8::/32` });
    // Hostile values mixed in: each is dropped (G1) and the rest still renders a configuration HAProxy accepts.
    variants.push({ 'use-forwarded-headers': 'true', 'use-proxy-protocol': 'true', 'forwarded-for-header': 'X-FF if TRUE', 'proxy-real-ip-cidr': '10.0.0.0/8 }' });
    let n = 0;
    for (const data of variants) {
      for (const [yaml, over] of [[APP, {}], [`${APP}---${PASSTHROUGH}`, { bindAddress: '127.0.0.1', ipv6: false }]] as const) {
        const dir = join(work, `run-${++n}`);
        const o = testRenderOptions({ stateDir: work, filesDir: dir, httpPort: 18080, httpsPort: 18443, resolvers: ['127.0.0.1:53'], ...over });
        const { config, files } = render(withGlobal(yaml, read(data).settings), o, pem);
        for (const [rel, content] of files) {
          await mkdir(dirname(join(dir, rel)), { recursive: true });
          await writeFile(join(dir, rel), content);
        }
        await writeFile(join(dir, 'haproxy.cfg'), config);
        const failure = await haproxyCheck(join(dir, 'haproxy.cfg'));
        assert.equal(failure, undefined, `${JSON.stringify(data).slice(0, 200)}: ${failure}`);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
