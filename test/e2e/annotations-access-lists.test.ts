// allowlist-source-range, whitelist-source-range and denylist-source-range through real HAProxy, with clients on
// their own loopback addresses: who gets 403 on each route (nested blocks of different Ingresses on one host, a deny
// block inside an allow block, IPv6), the 503 of a list that fails closed, routes without a list untouched, HTTP and
// HTTPS alike; a changed, added or removed list is live without a reload.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { docs, httpGet, httpsGet, ingress, manifestDir, reloadCount, singlePodApp, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, Portico } from './harness/index.js';

const P = 'nginx.ingress.kubernetes.io/';
const pods: Echo[] = [];
let dir = '';
let portico: Portico;

const route = (name: string, host: string, path: string, annotations: Record<string, string> = {}): string =>
  ingress({ name, annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [P + k, v])), rules: [{ host, paths: [{ path, pathType: 'Prefix', service: 'acl', port: 80 }] }] });

const routes = (officeAllow: string, openAnnotations: Record<string, string> = {}): string =>
  docs(
    route('office', 'acl.test', '/', { 'allowlist-source-range': officeAllow }),
    route('lab', 'acl.test', '/lab', { 'whitelist-source-range': '127.0.211.0/28', 'denylist-source-range': '127.0.211.8/30' }),
    route('open', 'acl.test', '/open', openAnnotations),
    route('blocked', 'blk.test', '/', { 'denylist-source-range': '127.0.213.0/24, ::1' }),
    route('broken', 'bad.test', '/', { 'allowlist-source-range': '127.0.0.0/33' }),
    route('moved', 'acl.test', '/moved', { 'allowlist-source-range': '127.0.211.0/24', 'permanent-redirect': 'https://elsewhere.test/' }),
  );

/** The status a client at `from` gets for `host` + `path` over plain HTTP. */
async function statusFrom(from: string, host: string, path: string): Promise<number> {
  const r = await httpGet(portico.httpPort, { host, path, localAddress: from, ...(from === '::1' ? { address: '[::1]' } : {}) });
  return r.status;
}

before(async () => {
  dir = await manifestDir();
  await writeManifest(dir, 'app.yaml', await singlePodApp(pods, 'acl', '127.0.210.1'));
  await writeManifest(dir, 'routes.yaml', routes('127.0.211.0/24, 127.0.212.7'));
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(() => stopEverything(pods));

describe('access lists by client address', () => {
  test('an allow list: addresses in it reach the backend, any other gets 403 with a plain-text reason', async () => {
    assert.equal(await statusFrom('127.0.211.50', 'acl.test', '/'), 200);
    assert.equal(await statusFrom('127.0.212.7', 'acl.test', '/x'), 200, 'a plain address is a /32');
    for (const from of ['127.0.212.8', '127.0.0.1']) {
      const r = await httpGet(portico.httpPort, { host: 'acl.test', path: '/', localAddress: from });
      assert.equal(r.status, 403, from);
      assert.equal(r.body, '403 Forbidden: this address may not use this route\n');
      assert.match(String(r.headers['content-type']), /^text\/plain/);
    }
  });

  test("the same over HTTPS", async () => {
    const ok = await httpsGet(portico.httpsPort, { host: 'acl.test', servername: 'acl.test', path: '/', localAddress: '127.0.211.50' });
    assert.equal(ok.status, 200);
    const refused = await httpsGet(portico.httpsPort, { host: 'acl.test', servername: 'acl.test', path: '/', localAddress: '127.0.212.8' });
    assert.equal(refused.status, 403);
  });

  test("each route has its own lists: a narrower allow list inside another Ingress's block, and a deny block inside it", async () => {
    assert.equal(await statusFrom('127.0.211.3', 'acl.test', '/lab'), 200);
    // 127.0.211.8/30 is denied on /lab only; office's / still allows it.
    assert.equal(await statusFrom('127.0.211.9', 'acl.test', '/lab'), 403);
    assert.equal(await statusFrom('127.0.211.9', 'acl.test', '/'), 200);
    // In office's block but outside lab's list.
    assert.equal(await statusFrom('127.0.211.50', 'acl.test', '/lab'), 403);
  });

  test('the list comes before the redirect annotations: a refused client never learns where the route leads', async () => {
    const allowed = await httpGet(portico.httpPort, { host: 'acl.test', path: '/moved', localAddress: '127.0.211.50' });
    assert.equal(allowed.status, 301);
    assert.equal(allowed.headers.location, 'https://elsewhere.test/');
    const refused = await httpGet(portico.httpPort, { host: 'acl.test', path: '/moved', localAddress: '127.0.0.1' });
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.location, undefined);
  });

  test('a route without a list on the same host serves everyone', async () => {
    for (const from of ['127.0.0.1', '127.0.212.8', '127.0.211.9']) assert.equal(await statusFrom(from, 'acl.test', '/open'), 200, from);
  });

  test('a deny list: IPv4 and IPv6 clients in it get 403, others reach the backend', async () => {
    assert.equal(await statusFrom('127.0.213.4', 'blk.test', '/'), 403);
    assert.equal(await statusFrom('::1', 'blk.test', '/'), 403);
    assert.equal(await statusFrom('127.0.0.1', 'blk.test', '/'), 200);
  });

  test('a list with a bad entry fails closed: every client gets 503, other Ingresses are served', async () => {
    for (const from of ['127.0.0.1', '127.0.211.50']) {
      const r = await httpGet(portico.httpPort, { host: 'bad.test', path: '/', localAddress: from });
      assert.equal(r.status, 503);
      assert.match(r.body, /access annotations are fixed/);
    }
    assert.equal(await statusFrom('127.0.211.50', 'acl.test', '/'), 200);
  });

  test('an IPv6 client whose 6to4 address embeds an allowed IPv4 address is not taken for it (nginx does not either)', async () => {
    // 2002:7f00:d332::/48 is 6to4 for 127.0.211.50, inside office's 127.0.211.0/24.
    const six = '2002:7f00:d332::1';
    execFileSync('ip', ['-6', 'addr', 'add', `${six}/128`, 'dev', 'lo', 'nodad']);
    try {
      const r = await httpGet(portico.httpPort, { host: 'acl.test', path: '/', address: '[::1]', localAddress: six });
      assert.equal(r.status, 403);
      assert.equal(await statusFrom('::1', 'acl.test', '/open'), 200, 'IPv6 clients reach routes without a list');
    } finally {
      execFileSync('ip', ['-6', 'addr', 'del', `${six}/128`, 'dev', 'lo']);
    }
  });

  test('changing, adding and removing lists is live without a reload', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'routes.yaml', routes('127.0.212.0/24', { 'denylist-source-range': '127.0.0.1' }));
    await waitFor(async () => (await statusFrom('127.0.212.8', 'acl.test', '/')) === 200, { timeoutMs: 5000, message: 'the changed allow list never applied' });
    assert.equal(await statusFrom('127.0.211.50', 'acl.test', '/'), 403, 'the block taken out of the list');
    assert.equal(await statusFrom('127.0.0.1', 'acl.test', '/open'), 403, 'a deny list added to a route that had none');
    assert.equal(await statusFrom('127.0.0.2', 'acl.test', '/open'), 200);
    await writeManifest(dir, 'routes.yaml', routes('127.0.212.0/24'));
    await waitFor(async () => (await statusFrom('127.0.0.1', 'acl.test', '/open')) === 200, { timeoutMs: 5000, message: 'the removed deny list still applied' });
    assert.equal(await reloadCount(portico.adminPort), reloads);
  });
});
