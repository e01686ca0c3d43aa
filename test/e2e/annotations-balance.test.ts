// upstream-hash-by and load-balance through real HAProxy, as a client sees it: with `$request_uri` every request for
// one URI goes to one pod and different URIs spread over the pods; with `$http_x_user` the same by header, whatever
// the URI; joined with text and an argument likewise; the plain backend of the same Service port still goes round robin; `ewma` (leastconn) serves.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { docs, endpointSlice, httpGet, ingress, manifestDir, service, startPortico, stopEverything, writeManifest } from './harness/index.js';
import type { Portico } from './harness/index.js';

const P = 'nginx.ingress.kubernetes.io/';
const PODS = ['127.0.248.1', '127.0.248.2', '127.0.248.3', '127.0.248.4'];

/** The pod of each request, in order. */
let hits: string[] = [];
const closers: (() => Promise<void>)[] = [];
let dir = '';
let portico: Portico;

async function pod(ip: string): Promise<void> {
  const s = createServer((req, res) => {
    hits.push(ip);
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ pod: ip }));
    });
  });
  await new Promise<void>((r) => s.listen(8080, ip, r));
  closers.push(() => new Promise<void>((r) => s.close(() => r())));
}

const site = (name: string, annotations: Record<string, string> = {}): string =>
  ingress({ name, annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [P + k, v])), rules: [{ host: `${name}.test`, paths: [{ path: '/', pathType: 'Prefix', service: 'app', port: 8080 }] }] });

const manifests = (): string =>
  docs(
    service({ name: 'app', ports: [{ port: 8080, targetPort: 8080 }] }),
    endpointSlice({ name: 'app-1', service: 'app', ports: [{ port: 8080 }], endpoints: PODS.map((ip) => ({ ip })) }),
    site('plain'),
    site('uri', { 'upstream-hash-by': '$request_uri' }),
    site('user', { 'upstream-hash-by': '$http_x_user' }),
    site('ewma', { 'load-balance': 'ewma' }),
    site('mixed', { 'upstream-hash-by': '${http_x_user}-v$arg_v' }),
  );

/** The pod that served one request. */
async function served(host: string, path: string, headers: Record<string, string> = {}): Promise<string> {
  hits = [];
  const r = await httpGet(portico.httpPort, { host, path, headers });
  assert.equal(r.status, 200);
  assert.equal(hits.length, 1, JSON.stringify(hits));
  return hits[0]!;
}

before(async () => {
  for (const ip of PODS) await pod(ip);
  dir = await manifestDir();
  await writeManifest(dir, 'all.yaml', manifests());
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(async () => {
  try {
    await stopEverything([]);
  } finally {
    await Promise.all(closers.map((c) => c()));
  }
});

describe('upstream-hash-by', () => {
  test('$request_uri: one URI always goes to one pod; different URIs spread over the pods', async () => {
    const chosen = new Set<string>();
    for (let i = 0; i < 16; i++) {
      const path = `/item/${i}?q=${i * 7}`;
      const pods = new Set<string>();
      for (let k = 0; k < 6; k++) pods.add(await served('uri.test', path));
      assert.equal(pods.size, 1, `${path} went to ${[...pods].join(', ')}`);
      chosen.add([...pods][0]!);
    }
    assert.ok(chosen.size >= 3, `16 URIs went to ${chosen.size} pods only`);
  });

  test('$http_x_user: one user always goes to one pod whatever the URI; different users spread', async () => {
    const chosen = new Set<string>();
    for (let u = 0; u < 16; u++) {
      const pods = new Set<string>();
      for (let k = 0; k < 6; k++) pods.add(await served('user.test', `/page/${k}`, { 'x-user': `user-${u}` }));
      assert.equal(pods.size, 1, `user-${u} went to ${[...pods].join(', ')}`);
      chosen.add([...pods][0]!);
    }
    assert.ok(chosen.size >= 3, `16 users went to ${chosen.size} pods only`);
  });

  test('${http_x_user}-v$arg_v (joined in a variable first): one user and argument, one pod; others spread', async () => {
    const chosen = new Set<string>();
    for (let u = 0; u < 16; u++) {
      const pods = new Set<string>();
      for (let k = 0; k < 4; k++) pods.add(await served('mixed.test', `/p/${k}?v=${u % 4}&k=${k}`, { 'x-user': `user-${u}` }));
      assert.equal(pods.size, 1, `user-${u} went to ${[...pods].join(', ')}`);
      chosen.add([...pods][0]!);
    }
    assert.ok(chosen.size >= 3, `16 keys went to ${chosen.size} pods only`);
  });

  test('$http_x_user without the header: HAProxy balances round robin (nginx hashes the empty string to one pod)', async () => {
    const pods = new Set<string>();
    for (let k = 0; k < 8; k++) pods.add(await served('user.test', '/page/1'));
    assert.equal(pods.size, PODS.length);
  });

  test('the plain backend of the same Service port is still round robin: one URI reaches every pod', async () => {
    const pods = new Set<string>();
    for (let k = 0; k < 8; k++) pods.add(await served('plain.test', '/item/1?q=7'));
    assert.equal(pods.size, PODS.length);
  });
});

describe('load-balance', () => {
  test('ewma (served as leastconn): sequential requests spread over the pods', async () => {
    const pods = new Set<string>();
    for (let k = 0; k < 12; k++) pods.add(await served('ewma.test', '/x'));
    assert.ok(pods.size >= 2, `went to ${[...pods].join(', ')}`);
  });
});
