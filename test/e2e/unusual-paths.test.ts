// Every path the API server accepts is handled (rule path-canonical): unicode and spaces are matched in their
// percent-encoded form, and a path that cannot be served is reported and left out alone, while the other paths of
// the same Ingress keep serving.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { docs, httpGet, ingress, manifestDir, singlePodApp, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, Portico } from './harness/index.js';

const pods: Echo[] = [];
let portico: Portico;
const HOST = 'paths.unusual.test';

async function podFor(path: string): Promise<string> {
  const r = await httpGet(portico.httpPort, { host: HOST, path });
  return r.status === 200 ? r.json<{ pod: string }>().pod : `HTTP ${r.status}`;
}

before(async () => {
  const dir = await manifestDir();
  const apps = await Promise.all([singlePodApp(pods, 'cafe', '127.0.62.1'), singlePodApp(pods, 'space', '127.0.62.2'), singlePodApp(pods, 'plain', '127.0.62.3')]);
  await writeManifest(dir, 'apps.yaml', docs(...apps));
  await writeManifest(
    dir,
    'ingress.yaml',
    ingress({
      name: 'unusual',
      rules: [
        {
          host: HOST,
          paths: [
            { path: '/café', pathType: 'Prefix', service: 'cafe', port: 80 },
            { path: '/a b', pathType: 'Exact', service: 'space', port: 80 },
            { path: '/bad%zz', pathType: 'Prefix', service: 'plain', port: 80 },
            { path: '/plain', pathType: 'Prefix', service: 'plain', port: 80 },
          ],
        },
      ],
    }),
  );
  portico = await startPortico({ manifests: [dir] });
  await portico.waitReady();
  await waitFor(async () => (await podFor('/plain')) === 'plain', { timeoutMs: 10_000, message: 'the Ingress never went live' });
});

after(() => stopEverything(pods));

describe('unusual Ingress paths', () => {
  test('a unicode path is served for its percent-encoded request path', async () => {
    assert.equal(await podFor('/caf%C3%A9'), 'cafe');
    assert.equal(await podFor('/caf%C3%A9/menu'), 'cafe', 'a prefix, element-wise');
    assert.equal(await podFor('/caf'), 'HTTP 404');
  });

  test('a path with a space is served for %20', async () => {
    assert.equal(await podFor('/a%20b'), 'space');
    assert.equal(await podFor('/a%20b/c'), 'HTTP 404', 'Exact');
  });

  test('lowercase hex in the request is the same path', async () => {
    assert.equal(await podFor('/caf%c3%a9'), 'cafe');
  });

  test('a path with an invalid percent-encoding is reported and left out; the Ingress keeps serving its other paths', async () => {
    const line = await portico.waitForLog((l) => l.object === 'Ingress default/unusual' && l.rule === 'path-encoding', 5000);
    assert.equal(line.field, 'spec.rules[0].http.paths[2].path');
    assert.equal(line.level, 50);
    assert.match(String(line.msg), /"%zz".*not a percent-encoding/);
    assert.equal(await podFor('/plain'), 'plain');
    assert.equal(await podFor('/bad%25zz'), 'HTTP 404');
  });
});
