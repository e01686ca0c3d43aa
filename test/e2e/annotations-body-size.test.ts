// proxy-body-size through real HAProxy: a route's own limit replaces --proxy-body-size for its paths, for bodies with
// a Content-Length (413 before the body is sent), chunked ones and HTTP/2 ones without content-length (413 as they
// stream); `0` lifts the limit; other routes keep the global one; a changed value is live without a reload; and with
// no global limit at all, only the routes that set one are counted.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as http2Connect } from 'node:http2';
import { docs, http2Upload, httpGet, ingress, manifestDir, reloadCount, singlePodApp, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, Portico } from './harness/index.js';
import { chunkedPost } from './harness/raw.js';

const P = 'nginx.ingress.kubernetes.io/';
const pods: Echo[] = [];
let dir = '';
let portico: Portico;
let unlimited: Portico;

const route = (name: string, path: string, size?: string): string =>
  ingress({ name, ...(size === undefined ? {} : { annotations: { [`${P}proxy-body-size`]: size } }), rules: [{ host: 'up.test', paths: [{ path, pathType: 'Prefix', service: 'up', port: 80 }] }] });

/** The status of a POST with a Content-Length of `kb` kB. */
const post = async (p: Portico, path: string, kb: number): Promise<number> =>
  (await httpGet(p.httpPort, { host: 'up.test', path, method: 'POST', body: 'x'.repeat(kb * 1024), headers: { 'content-type': 'text/plain' } })).status;

/** The status of a chunked POST of `kb` pieces of 1 kB. */
const chunked = async (p: Portico, path: string, kb: number): Promise<number> => (await chunkedPost(p.httpPort, 'up.test', kb, 0, path)).status;

/** The status of an HTTP/2 POST without content-length, `kb` pieces of 1 kB. */
const http2Post = async (p: Portico, path: string, kb: number): Promise<number> =>
  (await http2Upload(http2Connect(`https://127.0.0.1:${p.httpsPort}`, { rejectUnauthorized: false }), { authority: 'up.test', path, pieces: kb })).status;

before(async () => {
  dir = await manifestDir();
  const app = await singlePodApp(pods, 'up', '127.0.63.1');
  await writeManifest(dir, 'app.yaml', app);
  await writeManifest(dir, 'routes.yaml', docs(route('small', '/', '2k'), route('big', '/big', '100k'), route('free', '/free', '0'), route('plain', '/plain')));
  portico = await startPortico({ manifests: dir, args: ['--proxy-body-size', '10k', '--reload-interval', '0'] });
  await portico.waitReady();
  const other = await manifestDir();
  await writeManifest(other, 'app.yaml', app);
  await writeManifest(other, 'routes.yaml', docs(route('small', '/', '2k'), route('plain', '/plain')));
  unlimited = await startPortico({ manifests: other, args: ['--proxy-body-size', '0'] });
  await unlimited.waitReady();
});

after(() => stopEverything(pods));

describe('proxy-body-size with a global limit of 10k', () => {
  test('a Content-Length is judged against the route\'s own limit', async () => {
    assert.deepEqual(
      { small: await post(portico, '/', 5), big: await post(portico, '/big', 50), free: await post(portico, '/free', 200), plain: await post(portico, '/plain', 50) },
      { small: 413, big: 200, free: 200, plain: 413 },
    );
    assert.equal(await post(portico, '/', 1), 200);
    assert.equal(await post(portico, '/plain', 5), 200);
  });

  test('chunked bodies are counted against it as they stream', async () => {
    assert.deepEqual(
      { small: await chunked(portico, '/', 5), big: await chunked(portico, '/big', 50), free: await chunked(portico, '/free', 200), plain: await chunked(portico, '/plain', 20) },
      { small: 413, big: 200, free: 200, plain: 413 },
    );
    assert.equal(await chunked(portico, '/', 1), 200);
  });

  test('so are HTTP/2 bodies without content-length', async () => {
    assert.deepEqual({ small: await http2Post(portico, '/', 5), big: await http2Post(portico, '/big', 50), plain: await http2Post(portico, '/plain', 20) }, { small: 413, big: 200, plain: 413 });
  });

  test('a changed limit is live without a reload', async () => {
    const before = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'routes.yaml', docs(route('small', '/', '20k'), route('big', '/big', '100k'), route('free', '/free', '0'), route('plain', '/plain')));
    await waitFor(async () => (await post(portico, '/', 5)) === 200, { timeoutMs: 5000, message: 'the new limit never applied' });
    assert.equal(await chunked(portico, '/', 15), 200);
    assert.equal(await chunked(portico, '/', 25), 413);
    assert.equal(await reloadCount(portico.adminPort), before);
  });
});

describe('proxy-body-size with no global limit', () => {
  test('only the route that sets a limit is counted', async () => {
    assert.deepEqual(
      { small: await post(unlimited, '/', 5), smallChunked: await chunked(unlimited, '/', 5), plain: await post(unlimited, '/plain', 200), plainChunked: await chunked(unlimited, '/plain', 200) },
      { small: 413, smallChunked: 413, plain: 200, plainChunked: 200 },
    );
    assert.deepEqual({ small: await http2Post(unlimited, '/', 5), plain: await http2Post(unlimited, '/plain', 200) }, { small: 413, plain: 200 });
  });
});
