// Backends at the edge of failure: an ExternalName target that moves is followed at runtime (HAProxy's resolvers,
// no reload), and a lone endpoint that refuses connections answers 502 at once. Real Portico and HAProxy, echo pods
// and a DNS server on loopback.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { docs, endpointSlice, httpGet, ingress, manifestDir, reloadCount, service, startEcho, startPortico, stopAll, waitFor, writeManifest } from './harness/index.js';
import type { Echo, Portico } from './harness/index.js';
import { startDns } from './harness/dns.js';
import type { DnsServer } from './harness/dns.js';

const pods: Echo[] = [];
let portico: Portico;
let dns: DnsServer;
const NAME = 'backend.external.test';

const site = (host: string, svc: string) => ingress({ name: host.split('.')[0]!, rules: [{ host, paths: [{ path: '/', pathType: 'Prefix', service: svc, port: 80 }] }] });

before(async () => {
  dns = await startDns('127.0.39.53', 5353);
  pods.push(await startEcho({ pod: 'old-home', ip: '127.0.39.1', port: 3000 }), await startEcho({ pod: 'new-home', ip: '127.0.39.2', port: 3000 }));
  dns.set(NAME, ['127.0.39.1']);
  const dir = await manifestDir();
  await writeManifest(
    dir,
    'backends.yaml',
    docs(
      service({ name: 'ext', type: 'ExternalName', externalName: NAME, ports: [{ port: 80, targetPort: 3000 }] }),
      site('moving.test', 'ext'),
      // Nothing listens on 127.0.39.9:3000: every connection is refused.
      service({ name: 'refusing', ports: [{ port: 80, targetPort: 3000 }] }),
      endpointSlice({ name: 'refusing-1', service: 'refusing', ports: [{ port: 3000 }], endpoints: [{ ip: '127.0.39.9' }] }),
      site('refusing.test', 'refusing'),
    ),
  );
  portico = await startPortico({ manifests: dir, args: ['--resolvers', dns.address] });
  await portico.waitReady();
});

after(async () => {
  await stopAll();
  await Promise.all(pods.map((p) => p.close()));
  await dns?.close();
});

const reloads = (): Promise<number> => reloadCount(portico.adminPort);

test('an ExternalName target that moves in DNS is followed without a reload', async () => {
  const pod = async (): Promise<string> => {
    const r = await httpGet(portico.httpPort, { host: 'moving.test' });
    return r.status === 200 ? r.json<{ pod: string }>().pod : `HTTP ${r.status}`;
  };
  await waitFor(async () => (await pod()) === 'old-home', { timeoutMs: 10_000, message: 'never served by the first address' });
  const before = await reloads();
  dns.set(NAME, ['127.0.39.2']);
  await waitFor(async () => (await pod()) === 'new-home', { timeoutMs: 15_000, message: 'the new address was never used' });
  assert.equal(await reloads(), before, 'no reload');
  assert.ok(dns.queries(NAME) > 1, 'HAProxy asked the DNS server again');
});

test('a lone endpoint that refuses connections answers 502 at once, not after a retry delay', async () => {
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    const r = await httpGet(portico.httpPort, { host: 'refusing.test' });
    const ms = performance.now() - started;
    assert.equal(r.status, 502);
    // HAProxy waits 1 s before each retry on the same server: two retries took 2 s before.
    assert.ok(ms < 900, `502 after ${Math.round(ms)} ms`);
  }
});
