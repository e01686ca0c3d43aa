// backend-protocol through real HAProxy, as a client sees it: an HTTPS backend answers over both listeners (TLS to
// the pod, ALPN http/1.1, no SNI); a real gRPC unary call (grpc-js over TLS with ALPN h2 to Portico) reaches a
// clear-text gRPC server with GRPC and a TLS one with GRPCS, reply, status and trailers intact; H2C speaks HTTP/2 to
// a pod that also speaks HTTP/1, while a plain Ingress on the same Service port keeps HTTP/1; a second HTTPS pod and
// a changed protocol go live at runtime; AUTO_HTTP and a hostile value are A1 and the paths stay served over HTTP
// (FCGI: annotations-fastcgi.test.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttp2Server } from 'node:http2';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import { connect, createServer as createNetServer } from 'node:net';
import type { Server as NetServer } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { docs, endpointSlice, httpGet, httpsGet, ingress, makeCert, manifestDir, reloadCount, service, startPortico, stopEverything, tlsSecretYaml, waitFor, writeManifest } from './harness/index.js';
import type { Portico } from './harness/index.js';

const P = 'nginx.ingress.kubernetes.io/';
const PROTOCOL = `${P}backend-protocol`;
const portalCert = makeCert({ cn: 'grpc.test', dnsNames: ['grpc.test', 'grpcs.test'], keyFormat: 'pkcs8' });
const podCert = makeCert({ cn: 'pod', dnsNames: ['pod.internal'], keyFormat: 'pkcs8' });

/** What the HTTP pods below answer: which pod, over which HTTP, and what the TLS handshake (if any) carried. */
interface PodReply {
  pod: string;
  httpVersion: string;
  tls: boolean;
  alpn?: string | false;
  sni?: string | false;
  host?: string;
}

const closers: (() => Promise<void>)[] = [];
const closing = (s: { close(cb: () => void): unknown }): (() => Promise<void>) => () => new Promise<void>((r) => s.close(() => r()));

function answer(pod: string, req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void {
  const socket = req.socket as Partial<TLSSocket>;
  const tls = socket.encrypted === true;
  const host = req.headers.host ?? req.headers[':authority'];
  const reply: PodReply = { pod, httpVersion: req.httpVersion, tls, host: typeof host === 'string' ? host : undefined };
  if (tls) Object.assign(reply, { alpn: socket.alpnProtocol, sni: socket.servername });
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(reply));
}

/** An HTTPS pod with a self-signed certificate, offering ALPN http/1.1 only (a proxy asking for h2 alone fails). */
async function httpsPod(pod: string, ip: string, port: number): Promise<void> {
  const s = createHttpsServer({ key: podCert.keyPem, cert: podCert.certPem, ALPNProtocols: ['http/1.1'] }, (req, res) => answer(pod, req, res));
  await new Promise<void>((r) => s.listen(port, ip, r));
  closers.push(closing(s));
}

/**
 * A clear-text pod that speaks HTTP/1 and, to a client that opens with HTTP/2's preface, HTTP/2 (h2c). Node has no
 * such server, and one handed a socket whose first bytes were already read loses them (the HTTP/1 parser reads the
 * socket's handle directly): the first bytes pick a server on the next two ports, and the connection is piped there.
 */
async function dualPod(pod: string, ip: string, port: number): Promise<void> {
  const h1 = createHttpServer((req, res) => answer(pod, req, res));
  const h2 = createHttp2Server((req, res) => answer(pod, req, res));
  await new Promise<void>((r) => h1.listen(port + 1, ip, r));
  await new Promise<void>((r) => h2.listen(port + 2, ip, r));
  const s: NetServer = createNetServer((sock) => {
    sock.once('data', (first: Buffer) => {
      const inner = connect(first.toString('latin1').startsWith('PRI * HTTP/2.0') ? port + 2 : port + 1, ip);
      inner.write(first);
      sock.pipe(inner).pipe(sock);
      const end = (): void => {
        sock.destroy();
        inner.destroy();
      };
      sock.on('error', end).on('close', end);
      inner.on('error', end).on('close', end);
    });
  });
  await new Promise<void>((r) => s.listen(port, ip, r));
  closers.push(closing(s), closing(h1), closing(h2));
}

const PROTO = `syntax = "proto3";
package portico.test;
service Echo { rpc Say (Msg) returns (Msg); }
message Msg { string text = 1; }
`;

interface Msg {
  text: string;
}
type SayClient = grpc.Client & { Say(m: Msg, cb: (e: grpc.ServiceError | null, r?: Msg) => void): grpc.ClientUnaryCall };
let EchoService: grpc.ServiceClientConstructor;

/** A gRPC server: `Say` answers `<pod>: <text>` with a trailer naming the pod, or NOT_FOUND for the text "missing". */
async function grpcPod(pod: string, ip: string, port: number, tls: boolean): Promise<void> {
  const s = new grpc.Server();
  s.addService(EchoService.service, {
    Say: (call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => {
      const trailer = new grpc.Metadata();
      trailer.set('x-pod', pod);
      if (call.request.text === 'missing') cb({ code: grpc.status.NOT_FOUND, details: 'no such text', metadata: trailer });
      else cb(null, { text: `${pod}: ${call.request.text}` }, trailer);
    },
  });
  const creds = tls ? grpc.ServerCredentials.createSsl(null, [{ private_key: Buffer.from(podCert.keyPem), cert_chain: Buffer.from(podCert.certPem) }], false) : grpc.ServerCredentials.createInsecure();
  await new Promise<void>((resolve, reject) => s.bindAsync(`${ip}:${port}`, creds, (e) => (e ? reject(e) : resolve())));
  closers.push(() => new Promise<void>((r) => s.tryShutdown(() => r())));
}

/** One unary call through Portico's HTTPS listener (TLS, ALPN h2) for `host`: the reply or error, and the trailers. */
async function say(host: string, text: string): Promise<{ reply?: string; code: number; details: string; trailerPod: unknown }> {
  const client = new EchoService(`127.0.0.1:${portico.httpsPort}`, grpc.credentials.createSsl(Buffer.from(portalCert.certPem)), {
    'grpc.ssl_target_name_override': 'grpc.test',
    'grpc.default_authority': host,
  }) as unknown as SayClient;
  try {
    return await new Promise((resolve) => {
      let reply: string | undefined;
      const call = client.Say({ text }, (_e, r) => (reply = r?.text));
      call.on('status', (s: grpc.StatusObject) => setImmediate(() => resolve({ reply, code: s.code, details: s.details, trailerPod: s.metadata.get('x-pod')[0] })));
    });
  } finally {
    client.close();
  }
}

let dir = '';
let portico: Portico;
let protoDir = '';

const site = (name: string, host: string, svc: string, port: number, protocol?: string): string =>
  ingress({
    name,
    ...(protocol === undefined ? {} : { annotations: { [PROTOCOL]: protocol } }),
    // Only the gRPC hosts list TLS: the others are asked over plain HTTP too, which a TLS host redirects (rule T9).
    ...(host.startsWith('grpc') ? { tls: [{ hosts: [host], secretName: 'grpc-cert' }] } : {}),
    rules: [{ host, paths: [{ path: '/', pathType: 'Prefix', service: svc, port }] }],
  });
const backendApp = (svc: string, port: number, ips: string[]): string =>
  docs(service({ name: svc, ports: [{ port, targetPort: port }] }), endpointSlice({ name: `${svc}-1`, service: svc, ports: [{ port }], endpoints: ips.map((ip) => ({ ip })) }));

const apps = (httpsIps: string[]): string =>
  docs(tlsSecretYaml('default', 'grpc-cert', portalCert), backendApp('secure', 8443, httpsIps), backendApp('dual', 8080, ['127.0.221.1']), backendApp('greeter', 50051, ['127.0.222.1']), backendApp('tlsgreeter', 50052, ['127.0.223.1']));
const routes = (o: { switchTo?: string; bad?: string } = {}): string =>
  docs(
    site('secure', 'secure.test', 'secure', 8443, 'HTTPS'),
    site('h2c', 'h2c.test', 'dual', 8080, 'h2c'),
    site('plain', 'plain.test', 'dual', 8080),
    site('switch', 'switch.test', 'dual', 8080, o.switchTo),
    site('auto', 'auto.test', 'dual', 8080, o.bad ?? 'AUTO_HTTP'),
    site('greeter', 'grpc.test', 'greeter', 50051, ' grpc '),
    site('tlsgreeter', 'grpcs.test', 'tlsgreeter', 50052, 'GRPCS'),
  );

async function get(host: string, over: 'http' | 'https' = 'http'): Promise<PodReply> {
  const r = over === 'http' ? await httpGet(portico.httpPort, { host, path: '/x' }) : await httpsGet(portico.httpsPort, { host, servername: host, path: '/x' });
  assert.equal(r.status, 200, `${host} over ${over}: ${r.status} ${r.body.slice(0, 200)}`);
  return r.json<PodReply>();
}

before(async () => {
  protoDir = await mkdtemp(join(tmpdir(), 'portico-e2e-proto-'));
  await writeFile(join(protoDir, 'echo.proto'), PROTO);
  const pkg = grpc.loadPackageDefinition(await protoLoader.load(join(protoDir, 'echo.proto'))) as unknown as { portico: { test: { Echo: grpc.ServiceClientConstructor } } };
  EchoService = pkg.portico.test.Echo;
  await httpsPod('secure-1', '127.0.220.1', 8443);
  await httpsPod('secure-2', '127.0.220.2', 8443);
  await dualPod('dual-1', '127.0.221.1', 8080);
  await grpcPod('greeter-1', '127.0.222.1', 50051, false);
  await grpcPod('tlsgreeter-1', '127.0.223.1', 50052, true);
  dir = await manifestDir();
  await writeManifest(dir, 'apps.yaml', apps(['127.0.220.1']));
  await writeManifest(dir, 'routes.yaml', routes());
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(async () => {
  try {
    await stopEverything([]);
  } finally {
    await Promise.all(closers.map((c) => c()));
    await rm(protoDir, { recursive: true, force: true });
  }
});

describe('backend-protocol', () => {
  test('HTTPS: the pod is spoken to over TLS (ALPN http/1.1, no SNI, the client\'s Host), from both listeners', async () => {
    for (const over of ['http', 'https'] as const) {
      assert.deepEqual(await get('secure.test', over), { pod: 'secure-1', httpVersion: '1.1', tls: true, alpn: 'http/1.1', sni: false, host: 'secure.test' }, over);
    }
  });

  test('GRPC: a unary call over h2 TLS to Portico reaches the clear-text gRPC server; reply, status and trailers come back', async () => {
    assert.deepEqual(await say('grpc.test', 'hello'), { reply: 'greeter-1: hello', code: grpc.status.OK, details: 'OK', trailerPod: 'greeter-1' });
    assert.deepEqual(await say('grpc.test', 'missing'), { reply: undefined, code: grpc.status.NOT_FOUND, details: 'no such text', trailerPod: 'greeter-1' });
  });

  test('GRPCS: the same call reaches a gRPC server that only speaks TLS', async () => {
    assert.deepEqual(await say('grpcs.test', 'hi'), { reply: 'tlsgreeter-1: hi', code: grpc.status.OK, details: 'OK', trailerPod: 'tlsgreeter-1' });
  });

  test('H2C speaks HTTP/2 to the pod; a plain Ingress on the same Service port keeps HTTP/1', async () => {
    assert.deepEqual(await get('h2c.test'), { pod: 'dual-1', httpVersion: '2.0', tls: false, host: 'h2c.test' });
    assert.deepEqual(await get('plain.test'), { pod: 'dual-1', httpVersion: '1.1', tls: false, host: 'plain.test' });
  });

  test('AUTO_HTTP (not supported yet) and a hostile value are A1: the paths stay served over HTTP/1', async () => {
    const auto = await portico.waitForLog((l) => l.object === 'Ingress default/auto' && l.rule === 'A1', 5000);
    assert.equal(auto.field, `metadata.annotations[${PROTOCOL}]`);
    assert.match(String(auto.msg), /AUTO_HTTP .* is not supported yet/);
    assert.equal((await get('auto.test')).httpVersion, '1.1');
    const before = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'routes.yaml', routes({ bad: 'HTTPS ssl verify required #' }));
    await portico.waitForLog((l) => l.object === 'Ingress default/auto' && l.rule === 'A1' && String(l.msg).includes('HTTPS ssl verify'), 5000);
    assert.deepEqual(await get('auto.test'), { pod: 'dual-1', httpVersion: '1.1', tls: false, host: 'auto.test' });
    assert.equal(await reloadCount(portico.adminPort), before);
  });

  test('a second HTTPS pod joins at runtime with the same TLS options, without a reload', async () => {
    const before = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'apps.yaml', apps(['127.0.220.1', '127.0.220.2']));
    const seen = new Set<string>();
    await waitFor(
      async () => {
        const r = await get('secure.test');
        assert.equal(r.alpn, 'http/1.1', 'a runtime server without the TLS options would not answer 200');
        seen.add(r.pod);
        return seen.has('secure-2');
      },
      { timeoutMs: 5000, message: 'the second pod never answered' },
    );
    for (let i = 0; i < 4; i++) assert.equal((await get('secure.test', 'https')).tls, true);
    assert.equal(await reloadCount(portico.adminPort), before);
  });

  test('changing a live Ingress\'s protocol binds a spare section at runtime: no reload, and back again', async () => {
    assert.equal((await get('switch.test')).httpVersion, '1.1');
    const before = await reloadCount(portico.adminPort);
    // GRPC (HTTP/2 in clear text, as H2C) is a protocol no Ingress asks of this Service port yet: a new backend,
    // which only a spare section can serve without a reload, its servers added with `proto h2` at runtime.
    await writeManifest(dir, 'routes.yaml', routes({ switchTo: 'GRPC' }));
    await waitFor(async () => (await get('switch.test')).httpVersion === '2.0', { timeoutMs: 5000, message: 'switch.test never spoke HTTP/2' });
    assert.equal((await get('plain.test')).httpVersion, '1.1');
    await writeManifest(dir, 'routes.yaml', routes({ switchTo: 'HTTP' }));
    await waitFor(async () => (await get('switch.test')).httpVersion === '1.1', { timeoutMs: 5000, message: 'switch.test never went back to HTTP/1' });
    assert.deepEqual(await say('grpc.test', 'still'), { reply: 'greeter-1: still', code: grpc.status.OK, details: 'OK', trailerPod: 'greeter-1' });
    assert.equal(await reloadCount(portico.adminPort), before);
  });
});
