// Checks the harness on its own, without Portico: when these fail, e2e failures say nothing about Portico.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import { parseAllDocuments } from 'yaml';
import {
  backendSet,
  docs,
  endpointSlice,
  freePort,
  freePorts,
  http2Get,
  httpGet,
  httpsGet,
  ingress,
  makeCert,
  manifestDir,
  removeManifest,
  service,
  startEcho,
  startEchoPods,
  tlsHandshake,
  tlsSecretYaml,
  waitFor,
  websocket,
  writeManifest,
} from './index.js';
import type { Echo, EchoReply } from './index.js';

const pods: Echo[] = [];
after(async () => {
  await Promise.all(pods.map((p) => p.close()));
});

/** Listens on an ephemeral loopback port and returns it. */
async function listen(server: { listen(port: number, host: string, cb: () => void): unknown; address(): AddressInfo | string | null }): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('ports', () => {
  test('freePorts gives distinct ports that can be bound', async () => {
    const ports = await freePorts(3);
    assert.equal(new Set(ports).size, 3);
    const echo = await startEcho({ pod: 'bind-check', ip: '127.0.0.1', port: ports[0]! });
    await echo.close();
  });
});

describe('echo pods', () => {
  test('pods on two loopback addresses answer with their own name and the request as received', async () => {
    const port = await freePort();
    const [a, b] = [await startEcho({ pod: 'alpha', ip: '127.0.90.1', port }), await startEcho({ pod: 'beta', ip: '127.0.90.2', port })];
    pods.push(a, b);
    assert.equal(a.url, `http://127.0.90.1:${port}`);
    for (const p of [a, b]) {
      const r = await httpGet(port, { address: p.ip, host: 'x.test', path: '/a/./b?q=1', method: 'POST', body: 'hi', headers: { 'x-k': 'v' } });
      assert.equal(r.status, 200);
      const e = r.json<EchoReply>();
      assert.deepEqual([e.pod, e.ip, e.port, e.method, e.path, e.host, e.proto, e.body], [p.pod, p.ip, port, 'POST', '/a/./b?q=1', 'x.test', 'HTTP/1.1', 'hi']);
      assert.equal(e.headers['x-k'], 'v');
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body));
      assert.equal(r.headers.server, undefined, 'no Server header, so a proxy-added one is visible');
      assert.equal(p.requests, 1);
    }
  });

  test('/status/NNN, /slow and /close', async () => {
    const p = await startEcho({ pod: 'special', ip: '127.0.90.3', port: await freePort() });
    pods.push(p);
    const at = { address: p.ip };
    assert.equal((await httpGet(p.port, { ...at, path: '/status/418' })).status, 418);
    const noContent = await httpGet(p.port, { ...at, path: '/status/204' });
    assert.deepEqual([noContent.status, noContent.body], [204, '']);
    const t0 = Date.now();
    assert.equal((await httpGet(p.port, { ...at, path: '/slow?ms=300' })).status, 200);
    assert.ok(Date.now() - t0 >= 290, 'slow waited');
    await assert.rejects(httpGet(p.port, { ...at, path: '/close' }));
  });

  test('WebSocket messages come back prefixed with the pod name', async () => {
    const p = await startEcho({ pod: 'ws-pod', ip: '127.0.90.4', port: await freePort() });
    pods.push(p);
    const ws = await websocket(`ws://${p.ip}:${p.port}/socket`, { host: 'ws.test' });
    try {
      ws.send('one');
      ws.send('two');
      assert.equal(await ws.next(), 'ws-pod:one');
      assert.equal(await ws.next(), 'ws-pod:two');
      await assert.rejects(ws.next(100), /no message within 100 ms/);
    } finally {
      ws.close();
    }
  });

  test('close() ends open WebSockets and keep-alive connections promptly', async () => {
    const p = await startEcho({ pod: 'closer', ip: '127.0.90.5', port: await freePort() });
    const ws = await websocket(`ws://${p.ip}:${p.port}/`);
    const pending = ws.next(5000);
    const t0 = Date.now();
    await p.close();
    assert.ok(Date.now() - t0 < 1000, `close took ${Date.now() - t0} ms`);
    await assert.rejects(pending, /closed/);
  });

  test('startEchoPods numbers pods and addresses from 1', async () => {
    const port = await freePort();
    const set = await startEchoPods(3, { namePrefix: 'web', ipBase: '127.0.91', port });
    pods.push(...set);
    assert.deepEqual(
      set.map((p) => `${p.pod}@${p.ip}`),
      ['web-1@127.0.91.1', 'web-2@127.0.91.2', 'web-3@127.0.91.3'],
    );
    assert.equal((await httpGet(port, { address: '127.0.91.3' })).json<EchoReply>().pod, 'web-3');
  });
});

describe('certificates', () => {
  test('PKCS#1 and PKCS#8 keys, SANs in order, CN as given', () => {
    const p1 = makeCert({ dnsNames: ['one.test', 'two.test'], keyFormat: 'pkcs1' });
    const p8 = makeCert({ cn: 'eight', dnsNames: ['eight.test'], keyFormat: 'pkcs8' });
    assert.match(p1.keyPem, /^-----BEGIN RSA PRIVATE KEY-----\n/);
    assert.match(p8.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    const x1 = new X509Certificate(p1.certPem);
    assert.equal(x1.subject, 'CN=default');
    assert.equal(x1.subjectAltName, 'DNS:one.test, DNS:two.test');
    assert.ok(x1.checkPrivateKey(createPrivateKey(p1.keyPem)), 'the key belongs to the certificate');
    assert.equal(new X509Certificate(p8.certPem).subject, 'CN=eight');
    assert.equal(makeCert({ dnsNames: ['one.test', 'two.test'], keyFormat: 'pkcs1' }), p1, 'cached');
    const ec = makeCert({ dnsNames: ['ec.test'], keyFormat: 'pkcs1', keyType: 'ec' });
    assert.match(ec.keyPem, /^-----BEGIN EC PRIVATE KEY-----\n/);
  });

  test('a TLS server with the certificate presents it by SNI; without SNI none is sent', async () => {
    const foo = makeCert({ dnsNames: ['foo.selftest'], keyFormat: 'pkcs1' });
    const seen: (string | false)[] = [];
    const server: TlsServer = createTlsServer({ cert: foo.certPem, key: foo.keyPem, ALPNProtocols: ['h2', 'http/1.1'] }, (s) => {
      seen.push(s.servername ?? false);
      s.end();
    });
    const port = await listen(server);
    try {
      const h = await tlsHandshake(port, { servername: 'foo.selftest', alpn: ['http/1.1'] });
      assert.match(h.cert.subjectaltname, /^DNS:foo\.selftest$/);
      assert.equal(h.cert.subject, 'CN=default');
      assert.equal(h.alpnProtocol, 'http/1.1');
      assert.match(h.protocol ?? '', /^TLSv1\.[23]$/);
      await tlsHandshake(port);
      await waitFor(() => Promise.resolve(seen.length === 2), { message: 'server saw both handshakes' });
      assert.deepEqual(seen, ['foo.selftest', false]);
    } finally {
      server.close();
    }
  });

  test('httpsGet verifies against a CA, reports the peer certificate, and sends no SNI unless asked', async () => {
    const c = makeCert({ dnsNames: ['https.selftest'], keyFormat: 'pkcs8' });
    const snis: (string | false)[] = [];
    const server = createHttpsServer({ cert: c.certPem, key: c.keyPem }, (req, res) => {
      snis.push((req.socket as TLSSocket).servername ?? false);
      res.end(JSON.stringify({ host: req.headers.host }));
    });
    const port = await listen(server);
    try {
      const r = await httpsGet(port, { servername: 'https.selftest', host: 'routed.selftest', ca: c.certPem, rejectUnauthorized: true });
      assert.equal(r.status, 200);
      assert.equal(r.json<{ host: string }>().host, 'routed.selftest');
      assert.equal(r.cert.subjectaltname, 'DNS:https.selftest');
      assert.equal(r.cert.fingerprint256, new X509Certificate(c.certPem).fingerprint256);
      await httpsGet(port, { host: 'https.selftest' });
      assert.deepEqual(snis, ['https.selftest', false], 'the Host header must not leak into SNI');
      await assert.rejects(httpsGet(port, { servername: 'https.selftest', rejectUnauthorized: true }), 'unknown CA is refused');
    } finally {
      server.close();
    }
  });

  test('http2Get speaks h2 and sends host as :authority', async () => {
    const c = makeCert({ dnsNames: ['h2.selftest'], keyFormat: 'pkcs8' });
    const server = createSecureServer({ cert: c.certPem, key: c.keyPem }, (req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ authority: req.headers[':authority'], path: req.url, version: req.httpVersion }));
    });
    const port = await listen(server);
    try {
      const r = await http2Get(port, { servername: 'h2.selftest', host: 'h2.selftest', path: '/p?x=1' });
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.deepEqual(r.json(), { authority: 'h2.selftest', path: '/p?x=1', version: '2.0' });
    } finally {
      server.close();
    }
  });
});

describe('manifests', () => {
  test('builders produce the objects the API would', () => {
    const c = makeCert({ dnsNames: ['s.test'], keyFormat: 'pkcs8' });
    const text = docs(
      service({ name: 'web', ports: [{ name: 'http', port: 8080, targetPort: 'http' }] }),
      endpointSlice({ name: 'web-1', service: 'web', ports: [{ name: 'http', port: 3000 }], endpoints: [{ ip: '127.0.0.5' }, { ip: '127.0.0.6', ready: false, serving: true, terminating: true }] }),
      ingress({ name: 'i', className: null, tls: [{ hosts: [], secretName: 's' }], rules: [{ host: 'a.test', paths: [{ path: '/', pathType: 'Prefix', service: 'web', port: 'http' }] }, { host: 'b.test' }] }),
      ingress({ name: 'catch', defaultBackend: { service: 'web', port: 8080 }, rules: [] }),
      tlsSecretYaml('default', 's', c),
    );
    const [svc, slice, ing, catchAll, secret] = parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown>);
    assert.deepEqual(svc?.spec, { ports: [{ name: 'http', protocol: 'TCP', port: 8080, targetPort: 'http' }] });
    assert.deepEqual((slice?.metadata as { labels: unknown }).labels, { 'kubernetes.io/service-name': 'web' });
    assert.deepEqual(slice?.endpoints, [
      { addresses: ['127.0.0.5'], conditions: { ready: true, serving: true, terminating: false } },
      { addresses: ['127.0.0.6'], conditions: { ready: false, serving: true, terminating: true } },
    ]);
    assert.deepEqual(ing?.spec, {
      tls: [{ secretName: 's' }],
      rules: [{ host: 'a.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'http' } } } }] } }, { host: 'b.test' }],
    });
    assert.deepEqual(catchAll?.spec, { ingressClassName: 'portico', defaultBackend: { service: { name: 'web', port: { number: 8080 } } } });
    assert.equal(Buffer.from((secret?.data as Record<string, string>)['tls.key']!, 'base64').toString(), c.keyPem);
  });

  test('backendSet makes one slice per pod port', () => {
    const fake = (ip: string, port: number) => ({ pod: ip, ip, port, url: '', requests: 0, connections: 0, close: () => Promise.resolve(), shutdown: () => Promise.resolve() });
    const objs = parseAllDocuments(backendSet({ service: 'b', portName: 'web', targetPort: 'http', pods: [fake('127.0.0.1', 1), fake('127.0.0.2', 2)] })).map(
      (d) => d.toJS() as { kind: string; ports?: { port: number }[] },
    );
    assert.deepEqual(objs.map((o) => o.kind), ['Service', 'EndpointSlice', 'EndpointSlice']);
    assert.deepEqual(objs.slice(1).map((o) => o.ports?.[0]?.port), [1, 2]);
    assert.throws(() => backendSet({ service: 'b', pods: [fake('127.0.0.1', 1), fake('127.0.0.2', 2)] }), /named targetPort/);
  });

  test('writeManifest creates subdirectories and leaves no temporary file', async () => {
    const dir = await manifestDir();
    await writeManifest(dir, 'a/b.yaml', 'x: 1\n');
    await writeManifest(dir, 'a/b.yaml', 'x: 2\n');
    assert.equal(await readFile(join(dir, 'a/b.yaml'), 'utf8'), 'x: 2\n');
    assert.deepEqual(await readdir(join(dir, 'a')), ['b.yaml']);
    await removeManifest(dir, 'a/b.yaml');
    assert.deepEqual(await readdir(join(dir, 'a')), []);
  });
});

describe('waitFor', () => {
  test('times out with the message and the last error', async () => {
    await assert.rejects(
      waitFor(() => Promise.reject(new Error('boom')), { timeoutMs: 100, intervalMs: 10, message: () => 'never' }),
      /^Error: never: still false after 100 ms \(last error: boom\)$/,
    );
  });
});
