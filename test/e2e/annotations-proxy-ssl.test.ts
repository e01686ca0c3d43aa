// proxy-ssl-* through real HAProxy, as a client sees it: HTTPS pods with a certificate signed by a test CA. With
// proxy-ssl-verify on, the right CA answers 200 and a wrong CA or a proxy-ssl-name the certificate does not hold 502;
// proxy-ssl-server-name sends the name as SNI; the Secret's tls.crt/tls.key is the client certificate a pod that
// requires one sees; a missing Secret is 503. A rotated CA bundle and a rotated client certificate are new backends
// bound to spare sections at runtime (new ssl ca-file / new ssl cert / add server with them), no reload.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { docs, endpointSlice, httpGet, ingress, makeCa, makeClientCert, makeServerCert, manifestDir, reloadCount, service, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { CaPair, CertPair, Portico } from './harness/index.js';
import { stringify } from 'yaml';

const P = 'nginx.ingress.kubernetes.io/';
const ca1 = makeCa('Proxy SSL CA 1');
const ca2 = makeCa('Proxy SSL CA 2');
const podCert = makeServerCert(ca1, 'backend', ['backend.internal']);
const client1 = makeClientCert(ca1, 'portico-client-1');
const client2 = makeClientCert(ca1, 'portico-client-2');

interface PodReply {
  pod: string;
  sni: string | false;
  peer?: string;
}

const closers: (() => Promise<void>)[] = [];

/** An HTTPS pod with a certificate of CA 1 for backend.internal; with `clientCa`, it requires a client certificate of it. */
async function pod(name: string, ip: string, port: number, clientCa?: CaPair): Promise<void> {
  const s = createHttpsServer({ key: podCert.keyPem, cert: podCert.certPem, ALPNProtocols: ['http/1.1'], ...(clientCa ? { ca: clientCa.certPem, requestCert: true, rejectUnauthorized: true } : {}) }, (req, res) => {
    const socket = req.socket as TLSSocket;
    const peer = socket.getPeerCertificate();
    const reply: PodReply = { pod: name, sni: socket.servername ?? false, ...(peer?.subject ? { peer: String(peer.subject.CN) } : {}) };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(reply));
  });
  await new Promise<void>((r) => s.listen(port, ip, r));
  closers.push(() => new Promise<void>((r) => s.close(() => r())));
}

const secret = (name: string, data: { ca?: string; pair?: CertPair }): string =>
  stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: 'default' },
    type: 'Opaque',
    data: {
      ...(data.ca ? { 'ca.crt': Buffer.from(data.ca).toString('base64') } : {}),
      ...(data.pair ? { 'tls.crt': Buffer.from(data.pair.certPem).toString('base64'), 'tls.key': Buffer.from(data.pair.keyPem).toString('base64') } : {}),
    },
  });

const app = (svc: string, ip: string): string =>
  docs(service({ name: svc, ports: [{ port: 8443, targetPort: 8443 }] }), endpointSlice({ name: `${svc}-1`, service: svc, ports: [{ port: 8443 }], endpoints: [{ ip }] }));

const site = (name: string, svc: string, annotations: Record<string, string>): string =>
  ingress({ name, annotations: { [`${P}backend-protocol`]: 'HTTPS', ...Object.fromEntries(Object.entries(annotations).map(([k, v]) => [`${P}${k}`, v])) }, rules: [{ host: `${name}.test`, paths: [{ path: '/', pathType: 'Prefix', service: svc, port: 8443 }] }] });

const verified = (secretName: string, more: Record<string, string> = {}): Record<string, string> => ({ 'proxy-ssl-secret': `default/${secretName}`, 'proxy-ssl-verify': 'on', ...more });

const secrets = (o: { wrongCa?: string; client?: CertPair } = {}): string =>
  docs(secret('right-ca', { ca: ca1.certPem }), secret('wrong-ca', { ca: o.wrongCa ?? ca2.certPem }), secret('client', { ca: ca1.certPem, pair: o.client ?? client1 }));

const routes = docs(
  site('right', 'plain', verified('right-ca', { 'proxy-ssl-name': 'backend.internal' })),
  site('chain', 'plain', verified('right-ca')),
  site('wrong', 'plain', verified('wrong-ca', { 'proxy-ssl-name': 'backend.internal' })),
  site('mismatch', 'plain', verified('right-ca', { 'proxy-ssl-name': 'other.internal' })),
  site('sni', 'plain', verified('right-ca', { 'proxy-ssl-name': 'backend.internal', 'proxy-ssl-server-name': 'on', 'proxy-ssl-protocols': 'TLSv1.2 TLSv1.3' })),
  site('client', 'mtls', verified('client', { 'proxy-ssl-name': 'backend.internal' })),
  site('noclient', 'mtls', verified('right-ca', { 'proxy-ssl-name': 'backend.internal' })),
  site('missing', 'plain', verified('no-such-secret')),
);

let dir = '';
let portico: Portico;

async function get(host: string): Promise<{ status: number; reply?: PodReply }> {
  const r = await httpGet(portico.httpPort, { host, path: '/x' });
  return r.status === 200 ? { status: 200, reply: r.json<PodReply>() } : { status: r.status };
}

before(async () => {
  await pod('plain-1', '127.0.229.1', 8443);
  await pod('mtls-1', '127.0.229.2', 8443, ca1);
  dir = await manifestDir();
  await writeManifest(dir, 'apps.yaml', docs(app('plain', '127.0.229.1'), app('mtls', '127.0.229.2')));
  await writeManifest(dir, 'secrets.yaml', secrets());
  await writeManifest(dir, 'routes.yaml', routes);
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

describe('proxy-ssl', () => {
  test('verify on with the right CA: 200, and without proxy-ssl-name the chain alone is verified; no SNI by default', async () => {
    assert.deepEqual(await get('right.test'), { status: 200, reply: { pod: 'plain-1', sni: false } });
    assert.equal((await get('chain.test')).status, 200);
  });

  test('a wrong CA, or a proxy-ssl-name the certificate does not hold: 502', async () => {
    assert.equal((await get('wrong.test')).status, 502);
    assert.equal((await get('mismatch.test')).status, 502);
  });

  test('proxy-ssl-server-name on: the pod sees proxy-ssl-name as SNI', async () => {
    assert.deepEqual(await get('sni.test'), { status: 200, reply: { pod: 'plain-1', sni: 'backend.internal' } });
  });

  test("the Secret's tls.crt is the client certificate a pod that requires one sees; without one, 502", async () => {
    assert.deepEqual(await get('client.test'), { status: 200, reply: { pod: 'mtls-1', sni: false, peer: 'portico-client-1' } });
    assert.equal((await get('noclient.test')).status, 502);
  });

  test('a missing Secret: 503 and a finding', async () => {
    assert.equal((await get('missing.test')).status, 503);
    const f = await portico.waitForLog((l) => l.object === 'Ingress default/missing' && l.rule === 'proxy-ssl-secret', 5000);
    assert.match(String(f.msg), /no-such-secret was not found/);
  });

  test('a rotated CA bundle and a rotated client certificate go live at runtime, without a reload', async () => {
    const before = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'secrets.yaml', secrets({ wrongCa: ca2.certPem + ca1.certPem, client: client2 }));
    await waitFor(async () => (await get('wrong.test')).status === 200, { timeoutMs: 5000, message: 'wrong.test never trusted its new CA bundle' });
    await waitFor(async () => (await get('client.test')).reply?.peer === 'portico-client-2', { timeoutMs: 5000, message: 'client.test never presented the new client certificate' });
    assert.equal((await get('right.test')).status, 200);
    assert.equal(await reloadCount(portico.adminPort), before);
  });
});
