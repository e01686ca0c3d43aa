// ssl-passthrough through real HAProxy: TLS pods that present their own certificate behind the HTTPS port, beside a
// host whose TLS Portico terminates on the same port. The client sees the pod's certificate for the passthrough SNI
// (any letter case, a ClientHello split over several packets included) and Portico's for every other name, no SNI
// and odd SNIs; terminated connections keep the client's address across the internal hop; the HTTP port speaks
// HTTPS to the passthrough Service. The first passthrough Ingress and the last one leaving take one reload each; a
// second passthrough host on a new Service and a new endpoint are runtime changes that leave an open passthrough
// connection working. A hostile annotation value changes nothing for anyone else.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpsServer, request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { connect as netConnect, createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { docs, endpointSlice, httpGet, httpsGet, ingress, makeCert, manifestDir, reloadCount, removeManifest, service, singlePodApp, startPortico, stopEverything, tlsHandshake, tlsSecretYaml, waitFor, writeManifest } from './harness/index.js';
import type { Echo, Portico } from './harness/index.js';

const PASS = 'nginx.ingress.kubernetes.io/ssl-passthrough';
const pods: Echo[] = [];
const closers: (() => Promise<void>)[] = [];
let dir = '';
let portico: Portico;

const site = makeCert({ cn: 'portico-site', dnsNames: ['site.test'], keyFormat: 'pkcs8' });
/** The pods' own certificate: what a client must see for a passthrough host, which Portico never holds. */
const own = makeCert({ cn: 'pod-own', dnsNames: ['pass.test', 'pass2.test'], keyFormat: 'pkcs8' });

interface PodReply {
  pod: string;
  sni: string | false;
  /** The port the pod saw the connection come from: the same across requests means the same TCP connection. */
  peerPort: number;
  /** The address the pod saw: HAProxy's, since nothing tells the pod the client's. */
  peer: string;
}

/** An HTTPS pod with its own certificate, answering which pod, which SNI and which connection served the request. */
async function tlsPod(pod: string, ip: string): Promise<void> {
  const s = createHttpsServer({ key: own.keyPem, cert: own.certPem, ALPNProtocols: ['http/1.1'] }, (req, res) => {
    const socket = req.socket as TLSSocket;
    const reply: PodReply = { pod, sni: socket.servername ?? false, peerPort: socket.remotePort ?? 0, peer: socket.remoteAddress ?? '' };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(reply));
  });
  s.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => s.listen(8443, ip, r));
  closers.push(
    () =>
      new Promise<void>((r) => {
        s.close(() => r());
        s.closeAllConnections();
      }),
  );
}

const secure = (ips: string[], name = 'secure'): string =>
  docs(service({ name, ports: [{ name: 'https', port: 8443, targetPort: 8443 }] }), endpointSlice({ name: `${name}-1`, service: name, ports: [{ name: 'https', port: 8443 }], endpoints: ips.map((ip) => ({ ip })) }));

const passIngress = (name: string, host: string, svc: string, value = 'true', tls = false): string =>
  ingress({ name, annotations: { [PASS]: value }, rules: [{ host, paths: [{ path: '/', pathType: 'Prefix', service: svc, port: 8443 }] }], ...(tls ? { tls: [{ hosts: [host], secretName: 'site' }] } : {}) });

const siteIngress = ingress({ name: 'site', rules: [{ host: 'site.test', paths: [{ path: '/', pathType: 'Prefix', service: 'web', port: 80 }] }], tls: [{ hosts: ['site.test'], secretName: 'site' }] });

const cn = (subject: string): string => /CN=([^\n]*)/.exec(subject)?.[1] ?? subject;
const podSays = (body: string): PodReply => JSON.parse(body) as PodReply;

/** The certificate a handshake with this SNI gets ('' sends none). */
async function certFor(servername: string): Promise<string> {
  return cn((await tlsHandshake(portico.httpsPort, { servername })).cert.subject);
}

/** A TLS connection whose ClientHello reaches Portico in two writes, `delayMs` apart (a relay splits the first write). */
async function splitHelloCert(servername: string, splitAt: number, delayMs: number): Promise<string> {
  const relay = createNetServer((c) => {
    const up = netConnect(portico.httpsPort, '127.0.0.1');
    let first = true;
    c.on('data', (d: Buffer) => {
      if (!first) return void up.write(d);
      first = false;
      up.write(d.subarray(0, splitAt));
      setTimeout(() => up.write(d.subarray(splitAt)), delayMs);
    });
    up.on('data', (d: Buffer) => c.write(d));
    const end = (): void => {
      c.destroy();
      up.destroy();
    };
    c.on('close', end).on('error', end);
    up.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  try {
    const socket = tlsConnect({ host: '127.0.0.1', port: (relay.address() as AddressInfo).port, servername, rejectUnauthorized: false });
    return await new Promise<string>((resolve, reject) => {
      socket.once('error', reject);
      socket.once('secureConnect', () => {
        resolve(String(socket.getPeerCertificate().subject.CN));
        socket.destroy();
      });
    });
  } finally {
    relay.close();
  }
}

/** GET / over `agent` (one keep-alive connection), with the SNI given. */
function getOver(agent: HttpsAgent, servername: string): Promise<PodReply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: portico.httpsPort, path: '/', servername, agent, rejectUnauthorized: false, headers: { host: servername } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(podSays(body)));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** What happens to raw bytes written to the HTTPS port: the bytes read back before the connection closed. */
function rawExchange(bytes: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const s = netConnect(portico.httpsPort, '127.0.0.1');
    let got = '';
    s.setTimeout(10_000, () => s.destroy());
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    s.on('close', () => resolve(got));
    s.on('error', () => undefined);
    s.write(bytes);
  });
}

before(async () => {
  dir = await manifestDir();
  await tlsPod('secure-1', '127.0.236.1');
  await tlsPod('secure-2', '127.0.236.2');
  await tlsPod('other-1', '127.0.236.3');
  await writeManifest(dir, 'web.yaml', await singlePodApp(pods, 'web', '127.0.237.1'));
  await writeManifest(dir, 'site.yaml', docs(tlsSecretYaml('default', 'site', site), siteIngress));
  await writeManifest(dir, 'secure.yaml', secure(['127.0.236.1']));
  await writeManifest(dir, 'other.yaml', secure(['127.0.236.3'], 'other'));
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(async () => {
  for (const c of closers) await c();
  await stopEverything(pods);
});

describe('ssl-passthrough', () => {
  test('the first passthrough Ingress takes one reload; the pod presents its own certificate for its SNI, Portico its own for every other name', async () => {
    assert.equal(await certFor('site.test'), 'portico-site');
    // Before any passthrough, pass.test is just an unknown name: the listener's default certificate.
    const defaultCn = await certFor('pass.test');
    assert.notEqual(defaultCn, 'pod-own');
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'pass.yaml', passIngress('pass', 'pass.test', 'secure'));
    await waitFor(async () => (await certFor('pass.test')) === 'pod-own', { timeoutMs: 10_000 });
    // The new worker serves a moment before the reload is confirmed and counted.
    await waitFor(async () => (await reloadCount(portico.adminPort)) > reloads, { timeoutMs: 5000 });
    assert.equal(await reloadCount(portico.adminPort), reloads + 1, 'the SNI frontend comes with one reload');

    const r = await httpsGet(portico.httpsPort, { servername: 'pass.test', host: 'pass.test', localAddress: '127.0.238.9' });
    assert.equal(r.status, 200);
    assert.equal(cn(r.cert.subject), 'pod-own');
    const said = podSays(r.body);
    assert.equal(said.pod, 'secure-1');
    assert.equal(said.sni, 'pass.test', 'the pod terminates the TLS itself and sees the SNI the client sent');
    assert.notEqual(said.peer, '127.0.238.9', 'the pod sees HAProxy, not the client (no PROXY protocol to backends, as in ingress-nginx)');
    assert.equal(r.headers['server'], undefined, 'Portico added nothing: it never saw the HTTP inside');

    // The same port, another host: terminated by Portico, routed, and the client's own address reaches the backend.
    const t = await httpsGet(portico.httpsPort, { servername: 'site.test', host: 'site.test', localAddress: '127.0.238.9' });
    assert.equal(cn(t.cert.subject), 'portico-site');
    const echo = JSON.parse(t.body) as { pod: string; headers: Record<string, string> };
    assert.equal(echo.pod, 'web');
    assert.equal(echo.headers['x-real-ip'], '127.0.238.9', 'PROXY protocol on the internal hop carries the client address');
    assert.equal(echo.headers['x-forwarded-for'], '127.0.238.9');
    assert.equal(t.alpnProtocol, null);
    const h2 = await tlsHandshake(portico.httpsPort, { servername: 'site.test', alpn: ['h2', 'http/1.1'] });
    assert.equal(h2.alpnProtocol, 'h2', 'ALPN is still Portico\'s for terminated hosts');
  });

  test('SNI: letter case does not matter; no SNI, other names and odd names are terminated as before', async () => {
    assert.equal(await certFor('PASS.Test'), 'pod-own');
    assert.equal(await certFor('site.test'), 'portico-site');
    const defaultCn = await certFor('');
    assert.notEqual(defaultCn, 'pod-own');
    for (const odd of ['pass.test.', 'x.pass.test', 'pass.tes', 'pass.test.evil.example', `${'a'.repeat(63)}.pass.test`, 'portico_refused', 'secure', 'be_default_secure_8443_passthrough']) {
      assert.equal(await certFor(odd), defaultCn, odd);
    }
    // A plain-HTTP request sent to the HTTPS port goes to the terminating listener, which refuses it as before.
    const plain = await rawExchange(Buffer.from('GET / HTTP/1.1\r\nHost: pass.test\r\n\r\n'));
    assert.doesNotMatch(plain, /secure-1|pod-own/);
    // Site traffic is unaffected by any of it.
    assert.equal((await httpsGet(portico.httpsPort, { servername: 'site.test', host: 'site.test' })).status, 200);
  });

  test('a ClientHello split over two packets is waited for (up to the inspect delay)', async () => {
    assert.equal(await splitHelloCert('pass.test', 3, 300), 'pod-own');
    assert.equal(await splitHelloCert('pass.test', 120, 300), 'pod-own');
    assert.equal(await splitHelloCert('site.test', 120, 300), 'portico-site');
  });

  test('the HTTP port serves the host as before, speaking HTTPS to the passthrough Service', async () => {
    const r = await httpGet(portico.httpPort, { host: 'pass.test', path: '/' });
    assert.equal(r.status, 200);
    const said = podSays(r.body);
    assert.equal(said.pod, 'secure-1');
    assert.equal(said.sni, false, 'HAProxy sends no SNI to a backend, as nginx by default');
    assert.equal(r.headers['server'], 'portico');
  });

  test('live: a second passthrough host on a new Service, a new endpoint and a removed one are runtime changes; an open passthrough connection keeps working', async () => {
    const agent = new HttpsAgent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await getOver(agent, 'pass.test');
      assert.equal(first.pod, 'secure-1');
      const reloads = await reloadCount(portico.adminPort);

      await writeManifest(dir, 'pass2.yaml', passIngress('pass2', 'pass2.test', 'other', 'true', true));
      await waitFor(async () => (await certFor('pass2.test')) === 'pod-own', { timeoutMs: 10_000 });
      const r2 = await httpsGet(portico.httpsPort, { servername: 'pass2.test', host: 'pass2.test' });
      assert.equal(podSays(r2.body).pod, 'other-1');
      // A passthrough host in a tls block: the HTTP port redirects to HTTPS (rule T9), as ingress-nginx's server does.
      const plain = await httpGet(portico.httpPort, { host: 'pass2.test', path: '/a?b' });
      assert.equal(plain.status, 308);
      assert.equal(plain.headers['location'], 'https://pass2.test/a?b');

      await writeManifest(dir, 'secure.yaml', secure(['127.0.236.1', '127.0.236.2']));
      await waitFor(
        async () => {
          const seen = new Set<string>();
          for (let i = 0; i < 6; i++) seen.add(podSays((await httpsGet(portico.httpsPort, { servername: 'pass.test', host: 'pass.test' })).body).pod);
          return seen.has('secure-2');
        },
        { timeoutMs: 10_000 },
      );
      assert.equal(await reloadCount(portico.adminPort), reloads, 'a new passthrough host and a new endpoint are runtime updates');

      const again = await getOver(agent, 'pass.test');
      assert.deepEqual([again.pod, again.peerPort], [first.pod, first.peerPort], 'the TLS session opened before the changes is the same connection and still works');

      // The endpoint this session is on leaves: new connections go to the other pod, the open one finishes its work.
      await writeManifest(dir, 'secure.yaml', secure(['127.0.236.2']));
      await waitFor(
        async () => {
          for (let i = 0; i < 4; i++) if (podSays((await httpsGet(portico.httpsPort, { servername: 'pass.test', host: 'pass.test' })).body).pod !== 'secure-2') return false;
          return true;
        },
        { timeoutMs: 10_000 },
      );
      const still = await getOver(agent, 'pass.test');
      assert.deepEqual([still.pod, still.peerPort], [first.pod, first.peerPort], 'a session on a removed endpoint is not cut');
      assert.equal(await reloadCount(portico.adminPort), reloads);
    } finally {
      agent.destroy();
    }
  });

  test('readiness covers the internal hop: its socket gone, /readyz says so; back, ready again', async () => {
    const hop = join(portico.stateDir, 'https-in.sock');
    const moved = join(portico.stateDir, 'https-in.sock.moved');
    const readyz = async (): Promise<number> => (await httpGet(portico.adminPort, { path: '/readyz', timeoutMs: 2000 })).status;
    assert.equal(await readyz(), 200);
    await rename(hop, moved);
    try {
      await waitFor(async () => (await readyz()) === 503, { timeoutMs: 8000 });
      await portico.waitForLog((l) => JSON.stringify(l).includes('https-in.sock'), 1000);
      // The port's own probe still succeeds: the SNI frontend accepts, and only the hop is missing.
      assert.equal(await certFor('pass.test'), 'pod-own');
    } finally {
      await rename(moved, hop);
    }
    await waitFor(async () => (await readyz()) === 200, { timeoutMs: 8000 });
    assert.equal(await certFor('site.test'), 'portico-site');
  });

  test('a hostile annotation value is refused; the configuration stays valid and everyone else keeps serving', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'hostile.yaml', docs(passIngress('hostile', 'hostile.test', 'secure', 'true\n  bind :1\n#'), passIngress('hostile2', 'pass3.test', 'secure', `${'x'.repeat(1 << 20)}`)));
    await portico.waitForLog((l) => JSON.stringify(l).includes('hostile2') && JSON.stringify(l).includes('A1'), 10_000);
    assert.notEqual(await certFor('hostile.test'), 'pod-own');
    assert.equal(await certFor('pass.test'), 'pod-own');
    assert.equal(await certFor('site.test'), 'portico-site');
    assert.equal(await reloadCount(portico.adminPort), reloads);
    await removeManifest(dir, 'hostile.yaml');
  });

  test('the last passthrough Ingress leaving takes one reload; the port is Portico\'s alone again', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await removeManifest(dir, 'pass2.yaml');
    await waitFor(async () => (await certFor('pass2.test')) !== 'pod-own', { timeoutMs: 10_000 });
    assert.equal(await reloadCount(portico.adminPort), reloads, 'one host leaving while another stays: a map update');
    await removeManifest(dir, 'pass.yaml');
    await waitFor(async () => (await certFor('pass.test')) !== 'pod-own', { timeoutMs: 10_000 });
    await waitFor(async () => (await reloadCount(portico.adminPort)) > reloads, { timeoutMs: 5000 });
    assert.equal(await reloadCount(portico.adminPort), reloads + 1, 'the SNI frontend goes with one reload');
    const t = await httpsGet(portico.httpsPort, { servername: 'site.test', host: 'site.test', localAddress: '127.0.238.9' });
    assert.equal(cn(t.cert.subject), 'portico-site');
    assert.equal((JSON.parse(t.body) as { headers: Record<string, string> }).headers['x-real-ip'], '127.0.238.9');
  });
});
