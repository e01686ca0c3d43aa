// satisfy (any | all) through real HAProxy, clients on their own loopback addresses, hashes made by the real
// `htpasswd`, a small auth service for auth-url: with `any`, an address the allow list holds gets through without
// credentials (the auth service is not even asked), any other must authenticate and gets 401 (not 403) without
// credentials, 200 with them; a deny-listed client with valid credentials gets in too (nginx's deny is one access
// module's "no"); `all` and a route with a list only are unchanged (403 first); switching between the two is live.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { stringify } from 'yaml';
import { docs, httpGet, httpsGet, ingress, manifestDir, reloadCount, singlePodApp, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, Portico } from './harness/index.js';

const P = 'nginx.ingress.kubernetes.io/';
const pods: Echo[] = [];
let dir = '';
let portico: Portico;
let authService: Server;
let authAsked = 0;

const AUTH_IP = '127.0.228.3';
const ALLOWED = '127.0.228.70'; // inside the allow lists' 127.0.228.64/26
const OTHER = '127.0.228.20'; // outside them
const DENIED = '127.0.228.140'; // inside the deny list's 127.0.228.128/26

const line = execFileSync('htpasswd', ['-nb', '-m', 'ann', 'apr-secret'], { encoding: 'utf8' }).trim();
const secret = stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'htpasswd', namespace: 'default' }, type: 'Opaque', data: { auth: Buffer.from(`${line}\n`).toString('base64') } });
const basicAuth = { 'auth-type': 'basic', 'auth-secret': 'htpasswd', 'auth-realm': 'Staff' };
const allow = { 'allowlist-source-range': '127.0.228.64/26' };

const route = (name: string, host: string, annotations: Record<string, string>, tls = false): string =>
  ingress({ name, annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [P + k, v])), rules: [{ host, paths: [{ path: '/', pathType: 'Prefix', service: 'sat', port: 80 }] }], ...(tls ? { tls: [{ hosts: [host], secretName: '' }] } : {}) });

function routes(anySatisfy = 'any', allSatisfy = 'all'): string {
  return docs(
    secret,
    route('any', 'any.sat.test', { ...allow, ...basicAuth, satisfy: anySatisfy }),
    route('all', 'all.sat.test', { ...allow, ...basicAuth, satisfy: allSatisfy }),
    route('unset', 'unset.sat.test', { ...allow, ...basicAuth }),
    route('deny', 'deny.sat.test', { 'denylist-source-range': '127.0.228.128/26', ...basicAuth, satisfy: 'any' }),
    route('external', 'ext.sat.test', { ...allow, 'auth-url': `http://${AUTH_IP}:4181/auth`, satisfy: 'any' }),
    route('list-only', 'list.sat.test', { ...allow, satisfy: 'any' }),
    route('tls', 'tls.sat.test', { ...allow, ...basicAuth, satisfy: 'any' }, true),
  );
}

const basic = (password = 'apr-secret'): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`ann:${password}`).toString('base64')}` });

async function get(host: string, from: string, headers: Record<string, string> = {}): Promise<Awaited<ReturnType<typeof httpGet>>> {
  return httpGet(portico.httpPort, { host, path: '/x', headers, localAddress: from });
}

before(async () => {
  authService = createServer((req, res) => {
    authAsked++;
    res.writeHead(req.headers['x-token'] === 'letmein' ? 200 : 401).end();
  });
  await new Promise<void>((resolve) => authService.listen(4181, AUTH_IP, resolve));
  dir = await manifestDir();
  await writeManifest(dir, 'app.yaml', await singlePodApp(pods, 'sat', '127.0.228.1'));
  await writeManifest(dir, 'routes.yaml', routes());
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(async () => {
  await new Promise((resolve) => authService?.close(resolve));
  await stopEverything(pods);
});

describe('satisfy', () => {
  test('any: an allowed address gets through without credentials; the backend still never sees an Authorization', async () => {
    assert.equal((await get('any.sat.test', ALLOWED)).status, 200);
    const r = await get('any.sat.test', ALLOWED, basic('wrong'));
    assert.equal(r.status, 200, 'wrong credentials do not matter when the address is allowed');
    assert.equal((JSON.parse(r.body) as { headers: Record<string, unknown> }).headers.authorization, undefined);
  });

  test('any: another address must authenticate: 401 with the challenge (not 403) without or with wrong credentials, 200 with them', async () => {
    for (const headers of [{}, basic('wrong')]) {
      const r = await get('any.sat.test', OTHER, headers);
      assert.equal(r.status, 401, JSON.stringify(headers));
      assert.equal(r.headers['www-authenticate'], 'Basic realm="Staff"');
    }
    assert.equal((await get('any.sat.test', OTHER, basic())).status, 200);
  });

  test('any with a deny list: a denied client with valid credentials gets in, without them 401; others need none', async () => {
    assert.equal((await get('deny.sat.test', DENIED, basic())).status, 200);
    assert.equal((await get('deny.sat.test', DENIED)).status, 401);
    assert.equal((await get('deny.sat.test', OTHER)).status, 200);
  });

  test('all, and satisfy unset: 403 for another address whatever its credentials, 401 then 200 for an allowed one', async () => {
    for (const host of ['all.sat.test', 'unset.sat.test']) {
      const refused = await get(host, OTHER, basic());
      assert.equal(refused.status, 403, host);
      assert.equal(refused.body, '403 Forbidden: this address may not use this route\n');
      assert.equal((await get(host, OTHER)).status, 403, host);
      assert.equal((await get(host, ALLOWED)).status, 401, host);
      assert.equal((await get(host, ALLOWED, basic())).status, 200, host);
    }
  });

  test('any with auth-url: an allowed address does not ask the auth service; another gets its 401, or passes with it', async () => {
    const asked = authAsked;
    assert.equal((await get('ext.sat.test', ALLOWED)).status, 200);
    assert.equal(authAsked, asked, 'the auth service was asked for an allowed address');
    assert.equal((await get('ext.sat.test', OTHER)).status, 401);
    assert.equal((await get('ext.sat.test', OTHER, { 'x-token': 'letmein' })).status, 200);
    assert.equal(authAsked, asked + 2);
  });

  test('any on a route without authentication changes nothing: 403', async () => {
    assert.equal((await get('list.sat.test', OTHER)).status, 403);
    assert.equal((await get('list.sat.test', ALLOWED)).status, 200);
  });

  test('over HTTPS alike', async () => {
    const opts = { host: 'tls.sat.test', servername: 'tls.sat.test', path: '/' };
    assert.equal((await httpsGet(portico.httpsPort, { ...opts, localAddress: ALLOWED })).status, 200);
    assert.equal((await httpsGet(portico.httpsPort, { ...opts, localAddress: OTHER })).status, 401);
    assert.equal((await httpsGet(portico.httpsPort, { ...opts, localAddress: OTHER, headers: basic() })).status, 200);
  });

  test('switching a route between any and all is live without a reload', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'routes.yaml', routes('all', 'any'));
    await waitFor(async () => (await get('any.sat.test', OTHER)).status === 403, { timeoutMs: 5000, message: 'satisfy: all never applied' });
    assert.equal((await get('any.sat.test', ALLOWED)).status, 401);
    await waitFor(async () => (await get('all.sat.test', OTHER)).status === 401, { timeoutMs: 5000, message: 'satisfy: any never applied' });
    assert.equal((await get('all.sat.test', ALLOWED)).status, 200);
    assert.equal(await reloadCount(portico.adminPort), reloads);
  });
});
