// The client-address keys of the settings ConfigMap through real HAProxy (docs/configmap.md): a trusted proxy
// (127.0.0.2, within proxy-real-ip-cidr) names the client in X-Forwarded-For and the echo pod, the access list and
// the rate limit all see that client, while an untrusted peer (127.0.0.3) cannot spoof one; use-forwarded-headers
// passes X-Forwarded-Proto/-Host/-Port from the trusted proxy only (and its X-Forwarded-Proto: https stops the
// redirect to HTTPS); compute-full-forwarded-for appends the peer; use-proxy-protocol takes the client from PROXY
// headers v1 and v2 on both listeners and on ssl-passthrough's, and closes a connection that sends none. Each edit of
// the ConfigMap is a hitless reload (the reload counter moves), and a hostile value is refused while the rest applies.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import type { Socket } from 'node:net';
import { configMap, docs, ingress, manifestDir, reloadCount, singlePodApp, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, EchoReply, Portico } from './harness/index.js';
import { openSocket, readResponse } from './harness/raw.js';
import type { RawResponse } from './harness/raw.js';

const P = 'nginx.ingress.kubernetes.io/';
const TRUSTED = '127.0.0.2';
const UNTRUSTED = '127.0.0.3';
const pods: Echo[] = [];
let dir = '';
let portico: Portico;

const settings = (data: Record<string, string>): string => configMap({ ns: 'portico', name: 'settings', data });
const BASE = { 'use-forwarded-headers': 'true', 'proxy-real-ip-cidr': `${TRUSTED}, 10.0.0.0/8` };

const routes = (passthrough = false): string =>
  docs(
    ingress({ name: 'echo', tls: [{ hosts: ['secure.test'] }], rules: [{ host: 'echo.test', paths: [{ path: '/', pathType: 'Prefix', service: 'ca', port: 80 }] }, { host: 'secure.test', paths: [{ path: '/', pathType: 'Prefix', service: 'ca', port: 80 }] }] }),
    ingress({ name: 'office', annotations: { [`${P}whitelist-source-range`]: '203.0.113.0/24' }, rules: [{ host: 'office.test', paths: [{ path: '/', pathType: 'Prefix', service: 'ca', port: 80 }] }] }),
    ingress({ name: 'limited', annotations: { [`${P}limit-rpm`]: '1' }, rules: [{ host: 'limited.test', paths: [{ path: '/', pathType: 'Prefix', service: 'ca', port: 80 }] }] }),
    ...(passthrough ? [ingress({ name: 'pass', annotations: { [`${P}ssl-passthrough`]: 'true' }, rules: [{ host: 'pass.test', paths: [{ path: '/', pathType: 'Prefix', service: 'ca', port: 80 }] }] })] : []),
  );

/** PROXY protocol v1 for a TCP4 connection from `src`. */
const v1 = (src: string, dstPort = 80): Buffer => Buffer.from(`PROXY TCP4 ${src} 127.0.0.1 40000 ${dstPort}\r\n`);

/** PROXY protocol v2 (binary) for a TCP4 connection from `src`. */
function v2(src: string, dstPort = 443): Buffer {
  const b = Buffer.alloc(16 + 12);
  Buffer.from('\r\n\r\n\0\r\nQUIT\n', 'latin1').copy(b, 0);
  b[12] = 0x21; // version 2, PROXY
  b[13] = 0x11; // TCP over IPv4
  b.writeUInt16BE(12, 14);
  src.split('.').forEach((o, i) => (b[16 + i] = Number(o)));
  [127, 0, 0, 1].forEach((o, i) => (b[20 + i] = o));
  b.writeUInt16BE(40000, 24);
  b.writeUInt16BE(dstPort, 26);
  return b;
}

interface Send {
  from: string;
  host: string;
  headers?: Record<string, string>;
  /** Bytes sent first: a PROXY header. */
  preface?: Buffer;
  tls?: boolean;
}

/** One request on a fresh connection from `from`, optionally after a PROXY header, over TLS or not. */
async function send(o: Send): Promise<RawResponse> {
  const raw = await openSocket(o.tls ? portico.httpsPort : portico.httpPort, { localAddress: o.from });
  let s: Socket = raw;
  try {
    if (o.preface) raw.write(o.preface);
    if (o.tls) {
      s = await new Promise<Socket>((resolve, reject) => {
        const t = tlsConnect({ socket: raw, servername: o.host, rejectUnauthorized: false }, () => resolve(t));
        t.once('error', reject);
      });
    }
    s.write([`GET / HTTP/1.1`, `Host: ${o.host}`, ...Object.entries(o.headers ?? {}).map(([k, v]) => `${k}: ${v}`), 'Connection: close', '', ''].join('\r\n'));
    return await readResponse(s, 10_000);
  } finally {
    s.destroy();
    raw.destroy();
  }
}

/** What the echo pod saw of a request that reached it. */
async function seen(o: Send): Promise<EchoReply['headers']> {
  const r = await send(o);
  assert.equal(r.status, 200, `${o.from} -> ${o.host}: ${r.status} ${r.body.slice(0, 200)}`);
  return (JSON.parse(r.body) as EchoReply).headers;
}

/** Writes the ConfigMap and waits until the reload it causes has happened. */
async function applySettings(data: Record<string, string>): Promise<void> {
  const reloads = await reloadCount(portico.adminPort);
  await writeManifest(dir, 'settings.yaml', settings(data));
  await waitFor(async () => (await reloadCount(portico.adminPort)) > reloads, { timeoutMs: 15_000, message: 'the ConfigMap edit never reloaded HAProxy' });
}

before(async () => {
  dir = await manifestDir();
  await writeManifest(dir, 'app.yaml', await singlePodApp(pods, 'ca', '127.0.220.1'));
  await writeManifest(dir, 'routes.yaml', routes());
  await writeManifest(dir, 'settings.yaml', settings(BASE));
  portico = await startPortico({ manifests: dir, args: ['--configmap', 'portico/settings', '--reload-interval', '0', '--max-connections-per-client', '2'] });
  await portico.waitReady();
});

after(() => stopEverything(pods));

describe('the client address from a trusted proxy (use-forwarded-headers, proxy-real-ip-cidr)', () => {
  test("a trusted proxy's X-Forwarded-For names the client: the right-most address that is not itself trusted", async () => {
    const h = await seen({ from: TRUSTED, host: 'echo.test', headers: { 'X-Forwarded-For': '192.0.2.1, 198.51.100.7, 10.1.1.1' } });
    assert.equal(h['x-real-ip'], '198.51.100.7');
    assert.equal(h['x-forwarded-for'], '198.51.100.7', 'replaced by the client, as ingress-nginx does');
    // Without the header, or with a last element that is no address, the peer stays the client.
    assert.equal((await seen({ from: TRUSTED, host: 'echo.test' }))['x-real-ip'], TRUSTED);
    assert.equal((await seen({ from: TRUSTED, host: 'echo.test', headers: { 'X-Forwarded-For': '198.51.100.7, unknown' } }))['x-real-ip'], TRUSTED);
    // An address that is no IP further left ends the walk at the last trusted one, as nginx does.
    assert.equal((await seen({ from: TRUSTED, host: 'echo.test', headers: { 'X-Forwarded-For': '198.51.100.7, garbage, 10.2.2.2' } }))['x-real-ip'], '10.2.2.2');
  });

  test("an untrusted peer's X-Forwarded-For is replaced, never read", async () => {
    const h = await seen({ from: UNTRUSTED, host: 'echo.test', headers: { 'X-Forwarded-For': '203.0.113.9' } });
    assert.equal(h['x-real-ip'], UNTRUSTED);
    assert.equal(h['x-forwarded-for'], UNTRUSTED);
  });

  test('the access list reads the resolved client: the trusted proxy lets the office in, a spoofing client is refused', async () => {
    assert.equal((await send({ from: TRUSTED, host: 'office.test', headers: { 'X-Forwarded-For': '203.0.113.9' } })).status, 200);
    assert.equal((await send({ from: TRUSTED, host: 'office.test', headers: { 'X-Forwarded-For': '198.51.100.7' } })).status, 403);
    assert.equal((await send({ from: UNTRUSTED, host: 'office.test', headers: { 'X-Forwarded-For': '203.0.113.9' } })).status, 403, 'spoofed');
    assert.equal((await send({ from: TRUSTED, host: 'office.test' })).status, 403, 'the proxy itself is not in the office');
  });

  test('the rate limit counts resolved clients: one client over its limit leaves another behind the same proxy alone, and a spoofer cannot escape its own', async () => {
    const from = (client: string, peer = TRUSTED): Promise<RawResponse> => send({ from: peer, host: 'limited.test', headers: { 'X-Forwarded-For': client } });
    let limited = false;
    for (let i = 0; i < 40 && !limited; i++) limited = (await from('198.51.100.20')).status === 503;
    assert.ok(limited, 'limit-rpm 1 never refused a client');
    assert.equal((await from('198.51.100.21')).status, 200, 'another client behind the same proxy');
    limited = false;
    for (let i = 0; i < 40 && !limited; i++) limited = (await from(`198.51.100.${100 + i}`, UNTRUSTED)).status === 503;
    assert.ok(limited, 'an untrusted peer naming a new client each time is still counted as itself');
  });

  test('X-Forwarded-Proto, -Host and -Port pass from the trusted proxy only; its X-Forwarded-Proto: https stops the redirect to HTTPS', async () => {
    const fwd = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'www.example.com, inner.example', 'X-Forwarded-Port': '443' };
    const t = await seen({ from: TRUSTED, host: 'echo.test', headers: fwd });
    assert.deepEqual([t['x-forwarded-proto'], t['x-forwarded-host'], t['x-forwarded-port']], ['https', 'www.example.com', '443']);
    const u = await seen({ from: UNTRUSTED, host: 'echo.test', headers: fwd });
    assert.deepEqual([u['x-forwarded-proto'], u['x-forwarded-host'], u['x-forwarded-port']], ['http', 'echo.test', String(portico.httpPort)]);
    assert.equal((await send({ from: TRUSTED, host: 'secure.test', headers: { 'X-Forwarded-Proto': 'https' } })).status, 200, 'TLS ended at the proxy: no redirect');
    assert.equal((await send({ from: TRUSTED, host: 'secure.test', headers: { 'X-Forwarded-Proto': 'http' } })).status, 308);
    assert.equal((await send({ from: UNTRUSTED, host: 'secure.test', headers: { 'X-Forwarded-Proto': 'https' } })).status, 308, 'an untrusted peer cannot skip the redirect');
  });

  test('compute-full-forwarded-for: a live edit (a reload) appends the trusted peer to the X-Forwarded-For it sent; a hostile value in the same edit is refused and the rest applies', async () => {
    await applySettings({ ...BASE, 'compute-full-forwarded-for': 'true', 'forwarded-for-header': 'X-Forwarded-For\nbind :1' });
    await portico.waitForLog((l) => l.rule === 'G1' && String(l.field).includes('forwarded-for-header'), 5000);
    const h = await seen({ from: TRUSTED, host: 'echo.test', headers: { 'X-Forwarded-For': '192.0.2.1, 198.51.100.7' } });
    assert.equal(h['x-forwarded-for'], `192.0.2.1, 198.51.100.7, ${TRUSTED}`);
    assert.equal(h['x-real-ip'], '198.51.100.7');
    const u = await seen({ from: UNTRUSTED, host: 'echo.test', headers: { 'X-Forwarded-For': '192.0.2.1' } });
    assert.equal(u['x-forwarded-for'], UNTRUSTED, "an untrusted peer's list is replaced, not appended to");
  });
});

describe('the PROXY protocol (use-proxy-protocol)', () => {
  before(() => applySettings({ 'use-proxy-protocol': 'true', 'proxy-real-ip-cidr': TRUSTED }));

  test('v1 and v2 headers name the client on the HTTP listener; X-Forwarded-Port is where the client connected', async () => {
    for (const [preface, client, port] of [[v1('192.0.2.10'), '192.0.2.10', '80'], [v2('192.0.2.11', 8080), '192.0.2.11', '8080']] as const) {
      const h = await seen({ from: TRUSTED, host: 'echo.test', preface });
      assert.deepEqual([h['x-real-ip'], h['x-forwarded-for'], h['x-forwarded-port']], [client, client, port]);
    }
    assert.equal((await send({ from: TRUSTED, host: 'office.test', preface: v2('203.0.113.5') })).status, 200, 'the access list reads the PROXY source');
  });

  test('the HTTPS listener too (the PROXY header before the TLS handshake)', async () => {
    const h = await seen({ from: TRUSTED, host: 'echo.test', preface: v2('192.0.2.12'), tls: true });
    assert.equal(h['x-real-ip'], '192.0.2.12');
    assert.equal(h['x-forwarded-proto'], 'https');
  });

  test('a load balancer that ended TLS on port 443 sends plain HTTP: no redirect, X-Forwarded-Proto https', async () => {
    const r = await send({ from: TRUSTED, host: 'secure.test', preface: v1('192.0.2.13', 443) });
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body) as EchoReply).headers['x-forwarded-proto'], 'https');
    assert.equal((await send({ from: TRUSTED, host: 'secure.test', preface: v1('192.0.2.13', 80) })).status, 308);
  });

  test('a connection without a PROXY header is closed unanswered; a peer outside proxy-real-ip-cidr stays the client', async () => {
    await assert.rejects(send({ from: TRUSTED, host: 'echo.test' }), /closed|reset|ECONNRESET/i);
    const h = await seen({ from: UNTRUSTED, host: 'echo.test', preface: v1('203.0.113.5') });
    assert.equal(h['x-real-ip'], UNTRUSTED);
    assert.equal((await send({ from: UNTRUSTED, host: 'office.test', preface: v1('203.0.113.5') })).status, 403, 'spoofed');
  });

  test("the edge's per-client connection limit counts PROXY sources, not the load balancer they all come through", async () => {
    const held: Socket[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const s = await openSocket(portico.httpPort, { localAddress: TRUSTED });
        s.on('error', () => undefined);
        s.write(v1('192.0.2.50'));
        held.push(s);
      }
      // The two count once HAProxy has read their headers, which takes a moment: until then a third may pass.
      const refused = (): Promise<boolean> => send({ from: TRUSTED, host: 'echo.test', preface: v1('192.0.2.50') }).then(() => false, (e: unknown) => /closed|reset/i.test(String(e)));
      await waitFor(refused, { timeoutMs: 3000, message: 'a third connection of the same client was served' });
      assert.equal((await send({ from: TRUSTED, host: 'echo.test', preface: v1('192.0.2.51') })).status, 200, 'another client behind the same load balancer');
    } finally {
      for (const s of held) s.destroy();
    }
  });

  test('with ssl-passthrough the SNI listener takes the PROXY header, and the client survives the hop to the terminating frontend', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'routes.yaml', routes(true));
    await waitFor(async () => (await reloadCount(portico.adminPort)) > reloads, { timeoutMs: 15_000, message: 'the passthrough Ingress never reloaded HAProxy' });
    const h = await seen({ from: TRUSTED, host: 'echo.test', preface: v2('192.0.2.14'), tls: true });
    assert.equal(h['x-real-ip'], '192.0.2.14');
    assert.equal((await seen({ from: UNTRUSTED, host: 'echo.test', preface: v2('192.0.2.14'), tls: true }))['x-real-ip'], UNTRUSTED);
    await assert.rejects(send({ from: TRUSTED, host: 'echo.test', tls: true }), /closed|reset|ECONNRESET|socket/i);
  });

  test('turning every key off is a reload back to the plain configuration: no PROXY header, the peer is the client', async () => {
    await applySettings({});
    const h = await seen({ from: TRUSTED, host: 'echo.test', headers: { 'X-Forwarded-For': '203.0.113.9' } });
    assert.equal(h['x-real-ip'], TRUSTED);
    assert.equal(h['x-forwarded-for'], `203.0.113.9, ${TRUSTED}`, "Portico's own default: the peer appended (X9)");
  });
});
