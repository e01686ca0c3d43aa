// proxy-read-timeout and proxy-send-timeout through real HAProxy: a route's own timeout replaces the global one for
// its requests only (504 sooner, or an answer the global timeout would have cut off), also for a streamed upload that
// passes the body gate; a changed value is live without a reload, and the first timeout anywhere takes one.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { docs, endpointSlice, httpGet, ingress, manifestDir, reloadCount, service, startEcho, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import { rawRequest } from './harness/raw.js';
import type { Echo } from './harness/index.js';

const pods: Echo[] = [];
let dir = '';
let portico: Awaited<ReturnType<typeof startPortico>>;
const P = 'nginx.ingress.kubernetes.io/';

const site = (name: string, host: string, annotations: Record<string, string>): string =>
  ingress({ name, annotations, rules: [{ host, paths: [{ path: '/', pathType: 'Prefix', service: 'slow', port: 80 }] }] });

const reloads = (): Promise<number> => reloadCount(portico.adminPort);

/** The status of a GET the backend answers after `ms`. */
const slowGet = async (host: string, ms: number): Promise<number> => (await httpGet(portico.httpPort, { host, path: `/slow?ms=${ms}`, timeoutMs: 20_000 })).status;

before(async () => {
  dir = await manifestDir();
  pods.push(await startEcho({ pod: 'slow', ip: '127.0.62.1', port: 3000 }));
  await writeManifest(
    dir,
    'apps.yaml',
    docs(service({ name: 'slow', ports: [{ port: 80, targetPort: 3000 }] }), endpointSlice({ name: 'slow-1', service: 'slow', ports: [{ port: 3000 }], endpoints: [{ ip: '127.0.62.1' }] })),
  );
  await writeManifest(dir, 'plain.yaml', site('plain', 'plain.test', {}));
  // The global timeout is 2 s; no route sets one yet.
  portico = await startPortico({ manifests: [dir], args: ['--reload-interval', '0', '--upstream-read-timeout', '2'] });
  await portico.waitReady();
});

after(() => stopEverything(pods));

describe('proxy-read-timeout and proxy-send-timeout', () => {
  test('the first route with a timeout takes one reload; each route then waits as long as its own timeout says', async () => {
    const before = await reloads();
    await writeManifest(
      dir,
      'timeouts.yaml',
      docs(site('patient', 'patient.test', { [`${P}proxy-read-timeout`]: '6' }), site('impatient', 'impatient.test', { [`${P}proxy-read-timeout`]: '1', [`${P}proxy-send-timeout`]: '1' })),
    );
    await waitFor(async () => (await httpGet(portico.httpPort, { host: 'patient.test' })).status === 200, { timeoutMs: 5000, message: 'patient.test never served' });
    await waitFor(async () => (await reloads()) === before + 1, { timeoutMs: 5000, message: 'the reload was not counted' });
    assert.equal(await slowGet('patient.test', 3500), 200, 'read timeout 6 s: a 3.5 s answer arrives');
    assert.equal(await slowGet('plain.test', 3500), 504, 'the global 2 s timeout still applies to other routes');
    assert.equal(await slowGet('impatient.test', 1800), 504, 'read timeout 1 s: a 1.8 s answer is cut off');
    assert.equal(await slowGet('impatient.test', 100), 200);
  });

  test('a streamed (chunked) upload through the body gate gets the route timeout too', async () => {
    // 5 s: longer than the gate's own timeout (twice the global 2 s) and the global one, shorter than the route's 6 s.
    const chunked = ['POST /slow?ms=5000 HTTP/1.1', 'Host: patient.test', 'Transfer-Encoding: chunked', 'Connection: close'];
    const r = await rawRequest(portico.httpPort, chunked, '5\r\nhello\r\n0\r\n\r\n', { timeoutMs: 20_000 });
    assert.equal(r.status, 200);
  });

  test('the larger of the two applies when both are set', async () => {
    await writeManifest(dir, 'mixed.yaml', site('mixed', 'mixed.test', { [`${P}proxy-read-timeout`]: '1', [`${P}proxy-send-timeout`]: '5' }));
    await waitFor(async () => (await httpGet(portico.httpPort, { host: 'mixed.test' })).status === 200, { timeoutMs: 5000, message: 'mixed.test never served' });
    assert.equal(await slowGet('mixed.test', 3000), 200);
  });

  test('a changed value is live without a reload; an invalid one is reported and leaves the global timeout', async () => {
    const before = await reloads();
    await writeManifest(
      dir,
      'timeouts.yaml',
      docs(site('patient', 'patient.test', { [`${P}proxy-read-timeout`]: '1' }), site('impatient', 'impatient.test', { [`${P}proxy-read-timeout`]: '0' })),
    );
    await waitFor(async () => (await slowGet('patient.test', 1500)) === 504, { timeoutMs: 8000, message: 'patient.test kept its old timeout' });
    const bad = await portico.waitForLog((l) => l.object === 'Ingress default/impatient' && l.rule === 'A1', 5000);
    assert.equal(bad.field, `metadata.annotations[${P}proxy-read-timeout]`);
    assert.equal(await slowGet('impatient.test', 1500), 200, 'back to the global 2 s');
    assert.equal(await reloads(), before, 'map updates only');
  });
});
