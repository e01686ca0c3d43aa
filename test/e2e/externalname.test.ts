// ExternalName Services (B15, B16): proxied to the DNS name with the client's Host header; an unresolvable name
// is a 502, a forbidden one (localhost, IP literals) a 503 with a diagnostic; deleting the Service gives 503.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { docs, freePort, httpGet, ingress, manifestDir, removeManifest, service, startEcho, startPortico, stopAll, waitFor, writeManifest } from './harness/index.js';
import type { Echo, Portico } from './harness/index.js';

let pod: Echo | undefined;
let portico: Portico;
let dir = '';
// The machine's own name resolves through /etc/hosts to a loopback address, so the test needs no DNS server.
const name = hostname().toLowerCase();

const site = (host: string, svc: string) => ingress({ name: host.split('.')[0]!, rules: [{ host, paths: [{ path: '/', pathType: 'Prefix', service: svc, port: 80 }] }] });

before(async () => {
  const address = (await lookup(name, { family: 4 })).address;
  assert.match(address, /^127\./, `${name} must resolve to loopback for this test; it resolves to ${address}`);
  const port = await freePort(address);
  pod = await startEcho({ pod: 'external', ip: address, port });
  dir = await manifestDir();
  await writeManifest(
    dir,
    'external.yaml',
    docs(
      service({ name: 'ext', type: 'ExternalName', externalName: `${name}.`, ports: [{ port: 80, targetPort: port }] }),
      service({ name: 'unresolvable', type: 'ExternalName', externalName: 'no-such-host.invalid', ports: [{ port: 80, targetPort: 80 }] }),
      service({ name: 'loopback', type: 'ExternalName', externalName: 'localhost', ports: [{ port: 80, targetPort: port }] }),
      site('ext.test', 'ext'),
      site('unresolvable.test', 'unresolvable'),
      site('loopback.test', 'loopback'),
    ),
  );
  portico = await startPortico({ manifests: [dir] });
  await portico.waitReady();
});

after(async () => {
  await stopAll();
  await pod?.close();
});

test('an ExternalName Service is proxied to its DNS name, keeping the client Host header (B15, B16)', async () => {
  const r = await httpGet(portico.httpPort, { host: 'ext.test', path: '/hello' });
  assert.equal(r.status, 200);
  const e = r.json<{ pod: string; host: string; path: string }>();
  assert.deepEqual([e.pod, e.host, e.path], ['external', 'ext.test', '/hello']);
});

test('an unresolvable external name answers 502 (B15)', async () => {
  assert.equal((await httpGet(portico.httpPort, { host: 'unresolvable.test', path: '/' })).status, 502);
});

test('an external name pointing at localhost is refused with a diagnostic and answers 503', async () => {
  assert.equal((await httpGet(portico.httpPort, { host: 'loopback.test', path: '/' })).status, 503);
  const line = await portico.waitForLog((l) => l.object === 'Service default/loopback' && l.rule === 'B15', 1000);
  assert.equal(line.field, 'spec.externalName');
});

test('deleting the Service turns the route into 503, re-adding it brings 200 back (B15)', async () => {
  const ingresses = docs(site('ext.test', 'ext'));
  await removeManifest(dir, 'external.yaml');
  await writeManifest(dir, 'ingress-only.yaml', ingresses);
  await waitFor(async () => (await httpGet(portico.httpPort, { host: 'ext.test', path: '/' })).status === 503, { timeoutMs: 10_000, message: 'never 503' });
  await writeManifest(dir, 'service.yaml', service({ name: 'ext', type: 'ExternalName', externalName: name, ports: [{ port: 80, targetPort: pod!.port }] }));
  await waitFor(async () => (await httpGet(portico.httpPort, { host: 'ext.test', path: '/' })).status === 200, { timeoutMs: 10_000, message: 'never 200 again' });
});
