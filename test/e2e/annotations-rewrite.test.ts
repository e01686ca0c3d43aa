// use-regex, rewrite-target and x-forwarded-prefix through real HAProxy: which pod answers a host whose paths are
// regular expressions (ingress-nginx's order: the longest path first; case-insensitive; the host's other Ingresses
// included), the path the backend receives after a rewrite with capture groups (query kept), X-Forwarded-Prefix
// only where the rewrite applies, a refused expression left out while the rest is served, and changes (a new target,
// a new path in the middle of the order) live without a reload.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { docs, httpGet, httpsGet, ingress, manifestDir, reloadCount, singlePodApp, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, EchoReply, Portico } from './harness/index.js';

const P = 'nginx.ingress.kubernetes.io/';
const pods: Echo[] = [];
let dir = '';
let portico: Portico;

type Path = { path: string; pathType: 'Prefix' | 'Exact' | 'ImplementationSpecific'; service: string };
const route = (name: string, host: string, paths: Path[], annotations: Record<string, string> = {}): string =>
  ingress({ name, annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [P + k, v])), rules: [{ host, paths: paths.map((p) => ({ ...p, port: 80 })) }] });

const routes = (target = '/$2', extra: string[] = []): string =>
  docs(
    route('api', 'rw.test', [{ path: '/api(/|$)(.*)', pathType: 'ImplementationSpecific', service: 'rw-a' }], { 'rewrite-target': target, 'x-forwarded-prefix': '/api' }),
    route('admin', 'rw.test', [{ path: '/api/admin/(.*)', pathType: 'ImplementationSpecific', service: 'rw-b' }], { 'use-regex': 'true' }),
    route('versions', 'rw.test', [{ path: '/v[0-9]+/items', pathType: 'ImplementationSpecific', service: 'rw-b' }, { path: '/bad(', pathType: 'ImplementationSpecific', service: 'rw-b' }], { 'use-regex': 'true' }),
    route('static', 'rw.test', [{ path: '/static', pathType: 'Prefix', service: 'rw-c' }]),
    route('elsewhere', 'plain.test', [{ path: '/static', pathType: 'Prefix', service: 'rw-c' }]),
    ...extra,
  );

/** The pod that answered and what it received, for a GET of `path` on `host` over plain HTTP. */
async function get(host: string, path: string): Promise<{ status: number; pod?: string; path?: string; prefix?: unknown }> {
  const r = await httpGet(portico.httpPort, { host, path });
  if (r.status !== 200) return { status: r.status };
  const e = r.json<EchoReply>();
  return { status: 200, pod: e.pod, path: e.path, prefix: e.headers['x-forwarded-prefix'] };
}

before(async () => {
  dir = await manifestDir();
  await writeManifest(dir, 'apps.yaml', docs(await singlePodApp(pods, 'rw-a', '127.0.230.1'), await singlePodApp(pods, 'rw-b', '127.0.230.2'), await singlePodApp(pods, 'rw-c', '127.0.230.3')));
  await writeManifest(dir, 'routes.yaml', routes());
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(() => stopEverything(pods));

describe('rewrite-target with capture groups', () => {
  test('the backend receives the target with the groups filled in, the query kept, and X-Forwarded-Prefix', async () => {
    assert.deepEqual(await get('rw.test', '/api/users/7?x=1'), { status: 200, pod: 'rw-a', path: '/users/7?x=1', prefix: '/api' });
    assert.deepEqual(await get('rw.test', '/api'), { status: 200, pod: 'rw-a', path: '/', prefix: '/api' });
    // Case-insensitive match; the captured text keeps its case.
    assert.deepEqual(await get('rw.test', '/API/Users'), { status: 200, pod: 'rw-a', path: '/Users', prefix: '/api' });
  });

  test('over HTTPS too', async () => {
    const r = await httpsGet(portico.httpsPort, { host: 'rw.test', servername: 'rw.test', path: '/api/x' });
    assert.equal(r.json<EchoReply>().path, '/x');
  });

  test('a path with no rewrite keeps its path and gets no X-Forwarded-Prefix', async () => {
    assert.deepEqual(await get('rw.test', '/v2/items'), { status: 200, pod: 'rw-b', path: '/v2/items', prefix: undefined });
  });
});

describe('a host with regular-expression paths', () => {
  test('the longest path is tried first: /api/admin/(.*) wins over /api(/|$)(.*) where both match', async () => {
    assert.deepEqual(await get('rw.test', '/api/admin/x'), { status: 200, pod: 'rw-b', path: '/api/admin/x', prefix: undefined });
    // Only the shorter one matches /api/adminx.
    assert.deepEqual(await get('rw.test', '/api/adminx'), { status: 200, pod: 'rw-a', path: '/adminx', prefix: '/api' });
  });

  test('expressions match from the start of the path, case-insensitively', async () => {
    assert.equal((await get('rw.test', '/V12/ITEMS/more')).pod, 'rw-b');
    assert.equal((await get('rw.test', '/x/v1/items')).status, 404);
  });

  test("another Ingress's Prefix path on the host is matched as ingress-nginx matches it there: from the start, not element-wise", async () => {
    assert.equal((await get('rw.test', '/static/app.js')).pod, 'rw-c');
    assert.equal((await get('rw.test', '/staticfoo')).pod, 'rw-c');
    // On a host without regular expressions, Prefix stays element-wise.
    assert.equal((await get('plain.test', '/static/app.js')).pod, 'rw-c');
    assert.equal((await get('plain.test', '/staticfoo')).status, 404);
  });

  test('a path the grammar refuses is left out; the rest of its Ingress is served', async () => {
    assert.equal((await get('rw.test', '/bad(')).status, 404);
    assert.equal((await get('rw.test', '/v1/items')).pod, 'rw-b');
  });
});

describe('live changes', () => {
  test('a changed target and a new path in the middle of the order are live without a reload', async () => {
    const reloads = await reloadCount(portico.adminPort);
    // 14 characters: tried after /api/admin/(.*) (15) and before /api(/|$)(.*) (13), so it must land mid-map.
    const middle = route('middle', 'rw.test', [{ path: '/api/(users)/?', pathType: 'ImplementationSpecific', service: 'rw-c' }], { 'use-regex': 'true' });
    await writeManifest(dir, 'routes.yaml', routes('/v2/$2', [middle]));
    await waitFor(async () => (await get('rw.test', '/api/things')).path === '/v2/things', { timeoutMs: 5000, message: 'the new target never applied' });
    assert.deepEqual(await get('rw.test', '/api/users'), { status: 200, pod: 'rw-c', path: '/api/users', prefix: undefined });
    assert.equal((await get('rw.test', '/api/admin/y')).pod, 'rw-b');
    assert.equal(await reloadCount(portico.adminPort), reloads);
  });
});
