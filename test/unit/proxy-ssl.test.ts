// proxy-ssl-* (src/translate/annotations/proxy-ssl.ts): grammars as ingress-nginx's proxyssl parser reads values, the
// TLS policy made of a Secret, the server options render writes (every token re-checked), and the runtime plan for a
// rotated CA or client certificate (new files before the servers that name them, deleted after).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BackendPolicy, BackendTls, RoutingModel } from '../../src/model/types.js';
import { ciphersGrammar, onOff, protocolsGrammar, serverNameGrammar } from '../../src/translate/annotations/proxy-ssl.js';
import { serverOptions } from '../../src/haproxy/render/render.js';
import { model, ops, reloadedWith, svc } from './plan-fixtures.js';

// A test CA and a client certificate it signed (EC P-256, ten years): fixtures only.
const CA = "-----BEGIN CERTIFICATE-----\nMIIBjjCCATOgAwIBAgIUXk8mh9I2vzbnSatdUqkJSXNXMe8wCgYIKoZIzj0EAwIw\nHDEaMBgGA1UEAwwRR29sZGVuIEJhY2tlbmQgQ0EwHhcNMjYxMjA3MDAwNTM2WhcN\nMzYxMjA0MDAwNTM2WjAcMRowGAYDVQQDDBFHb2xkZW4gQmFja2VuZCBDQTBZMBMG\nByqGSM49AgEGCCqGSM49AwEHA0IABGXtyikTWghdZZAPVQPnuCLajDpk4B6DSPZJ\nW4WHJLjMQaCli7nGIDZRIBWggMlB4A4H4uoxw1z6d16N4XelRxCjUzBRMB0GA1Ud\nDgQWBBSjw84lFkbXRzYMUOq9dwkXBvmbJDAfBgNVHSMEGDAWgBSjw84lFkbXRzYM\nUOq9dwkXBvmbJDAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQCg\nq61QauYmiH09cMGgIDtkMc3RhWUa358jMgRBmy+bJQIhAI1i2fOQz8FsSxWDoBdc\nNeKl3Qhcu0gRnC8nSdxWvdpg\n-----END CERTIFICATE-----\n";
const CRT = "-----BEGIN CERTIFICATE-----\nMIIBLzCB1gIUEaNHNJO+1qMjvL2DtXRLm8AZy+YwCgYIKoZIzj0EAwIwHDEaMBgG\nA1UEAwwRR29sZGVuIEJhY2tlbmQgQ0EwHhcNMjYxMjA3MDAwNTM2WhcNMzYxMjA0\nMDAwNTM2WjAZMRcwFQYDVQQDDA5wb3J0aWNvLWNsaWVudDBZMBMGByqGSM49AgEG\nCCqGSM49AwEHA0IABM3psoEryYmmKw0H0/sB9cn+LHElfD/CXhGDeqkKBp5KdTQm\nOF7IZdGg4PAkjClfSicPVt1vs0E6d/BzC/mTs10wCgYIKoZIzj0EAwIDSAAwRQIh\nALzYsW4yhCuNfXHhb0RsiUcMDpi3l9kD/PVnYfNslFSHAiB0eMwiAhJgzHm5oYEC\n2QilvNtyOYF+Pd2Mnm5twRxIVw==\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgJUFGE/5sSz61UMga\nFXyCUBqn8XA1ZJuhz8itl0tnEHuhRANCAATN6bKBK8mJpisNB9P7AfXJ/ixxJXw/\nwl4Rg3qpCgaeSnU0JjheyGXRoODwJIwpX0onD1bdb7NBOnfwcwv5k7Nd\n-----END PRIVATE KEY-----\n";

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const P = 'nginx.ingress.kubernetes.io/';

const secrets = (ca: string, crt = CRT): string => `
apiVersion: v1
kind: Secret
metadata: {name: ca, namespace: default}
data: {ca.crt: ${b64(ca)}}
---
apiVersion: v1
kind: Secret
metadata: {name: client, namespace: default}
data: {ca.crt: ${b64(ca)}, tls.crt: ${b64(crt)}, tls.key: ${b64(KEY)}}
---`;

const ing = (name: string, annotations: Record<string, string>): string => `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ${name}, annotations: {${Object.entries({ 'backend-protocol': 'HTTPS', ...annotations }).map(([k, v]) => `${P}${k}: ${JSON.stringify(v)}`).join(', ')}}}
spec:
  rules: [{host: ${name}.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
---`;

const value = <T>(g: { parse(raw: string): { ok: true; value: T } | { ok: false; reason: string } }, raw: string): T | undefined => {
  const p = g.parse(raw);
  return p.ok ? p.value : undefined;
};

const tlsOf = (m: RoutingModel, host: string): BackendTls | undefined => {
  const g = m.hostGroups.find((x) => x.key === host)!;
  return m.backends.find((b) => b.name === g.prefix[0]!.backend)?.policy?.tls;
};

void describe('proxy-ssl grammars', () => {
  test('on/off as ingress-nginx\'s ^(on|off)$: lower case, nothing around', () => {
    assert.equal(value(onOff, 'on'), true);
    assert.equal(value(onOff, 'off'), false);
    for (const bad of ['On', 'true', ' on', 'on\n', '']) assert.equal(value(onOff, bad), undefined, bad);
  });

  test('protocols: TLSv1.2 and TLSv1.3 only, sorted; spaces only is the default TLSv1.2', () => {
    assert.deepEqual(value(protocolsGrammar, 'TLSv1.3 TLSv1.2'), ['TLSv1.2', 'TLSv1.3']);
    assert.deepEqual(value(protocolsGrammar, 'TLSv1.3'), ['TLSv1.3']);
    assert.deepEqual(value(protocolsGrammar, '  '), ['TLSv1.2']);
    for (const bad of ['TLSv1', 'TLSv1.1 TLSv1.2', 'SSLv3', 'TLSv1.2\nserver', 'TLSv1.2,TLSv1.3']) assert.equal(value(protocolsGrammar, bad), undefined, bad);
  });

  test('ciphers: an OpenSSL list of letters, digits and +:_-! only', () => {
    assert.equal(value(ciphersGrammar, 'ECDHE-RSA-AES128-GCM-SHA256:!aNULL:HIGH+AES'), 'ECDHE-RSA-AES128-GCM-SHA256:!aNULL:HIGH+AES');
    for (const bad of ['', 'DEFAULT ssl', 'HIGH#x', 'A'.repeat(1025), 'DEFAULT\n']) assert.equal(value(ciphersGrammar, bad), undefined, JSON.stringify(bad));
  });

  test('proxy-ssl-name: a DNS name, lower-cased; nothing that could be another server option', () => {
    assert.equal(value(serverNameGrammar, 'Backend.Internal'), 'backend.internal');
    for (const bad of ['x sni str(evil)', '$host', 'a..b', '-a.b', 'a_b', '', 'a'.repeat(64)]) assert.equal(value(serverNameGrammar, bad), undefined, bad);
  });
});

void describe('proxy-ssl policy', () => {
  const web = svc('web', ['10.0.0.1']);

  test('every setting is read from the Secret and the annotations; ingress-nginx\'s defaults otherwise', () => {
    const m = model(web + secrets(CA) + ing('a', { 'proxy-ssl-secret': 'default/client', 'proxy-ssl-verify': 'on', 'proxy-ssl-name': 'b.internal', 'proxy-ssl-server-name': 'on', 'proxy-ssl-verify-depth': '0' }));
    const t = tlsOf(m, 'a.test');
    assert.ok(t && !('refused' in t));
    assert.equal(t.verify, true);
    assert.equal(t.depth, 1, '0 counts as 1');
    assert.equal(t.name, 'b.internal');
    assert.equal(t.serverName, true);
    assert.deepEqual([t.minVersion, t.maxVersion, t.ciphers], ['TLSv1.2', 'TLSv1.2', 'DEFAULT']);
    assert.ok(t.cert?.pem.includes('PRIVATE KEY') && t.ca?.pem.startsWith('-----BEGIN CERTIFICATE-----'));
  });

  test('the policy is part of the backend and server names; the same settings share a backend', () => {
    const m = model(web + secrets(CA) + ing('a', { 'proxy-ssl-secret': 'default/ca', 'proxy-ssl-verify': 'on' }) + ing('b', { 'proxy-ssl-secret': 'default/ca', 'proxy-ssl-verify': 'on' }) + ing('c', { 'proxy-ssl-secret': 'default/ca' }));
    const names = m.backends.map((b) => b.name);
    assert.equal(names.length, 2);
    for (const b of m.backends) {
      assert.match(b.name, /^be_default_web_80_https_tls[0-9a-f]{10}$/);
      assert.ok(b.servers.every((s) => s.name.endsWith(b.name.slice(b.name.indexOf('_tls')))));
    }
  });

  test('without a TLS protocol the annotations are not used; a missing Secret refuses (503)', () => {
    const plain = model(web + secrets(CA) + ing('a', { 'backend-protocol': 'HTTP', 'proxy-ssl-secret': 'default/ca' }));
    assert.equal(plain.backends[0]!.name, 'be_default_web_80');
    const missing = model(web + ing('a', { 'proxy-ssl-secret': 'default/nope' }));
    assert.equal(missing.backends[0]!.name, 'be_default_web_80_https_tlsrefused');
    assert.match(missing.backends[0]!.unavailable ?? '', /not found/);
    assert.deepEqual(missing.backends[0]!.servers, []);
  });
});

void describe('proxy-ssl in render', () => {
  const sha = 'a'.repeat(64);
  const tls = (t: Partial<Extract<BackendTls, { verify: boolean }>>): BackendPolicy => ({ protocol: 'https', tls: { id: '0123456789', verify: false, depth: 1, serverName: false, ...t } });

  test('the options, in order, the protocol\'s ALPN kept', () => {
    assert.equal(
      serverOptions(tls({ verify: true, ca: { sha256: sha, pem: CA }, cert: { sha256: sha, pem: CRT }, name: 'b.internal', serverName: true, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', ciphers: 'HIGH' }), '/d'),
      ` ssl verify required ca-file /d/certs/pxca.${'a'.repeat(32)}.pem verifyhost b.internal sni str(b.internal) crt /d/certs/pxcrt.${'a'.repeat(32)}.pem ssl-min-ver TLSv1.2 ssl-max-ver TLSv1.3 ciphers HIGH alpn http/1.1`,
    );
    assert.equal(serverOptions({ ...tls({}), protocol: 'grpcs' }, '/d'), ' ssl verify none alpn h2 proto h2');
    assert.equal(serverOptions({ ...tls({ verify: true }), protocol: 'grpc' }, '/d'), ' proto h2', 'no TLS, no TLS options');
  });

  test('render re-checks every token, whatever a bug upstream put in the model', () => {
    const bad: Partial<Extract<BackendTls, { verify: boolean }>>[] = [
      { name: 'x sni str(evil)', serverName: true },
      { name: 'a\nserver', serverName: true },
      { ciphers: 'DEFAULT verify none' },
      { minVersion: 'SSLv3' as 'TLSv1.2' },
      { verify: true },
      { verify: true, ca: { sha256: '../etc', pem: CA } },
      { cert: { sha256: 'x y', pem: CRT } },
    ];
    for (const t of bad) assert.throws(() => serverOptions(tls(t), '/d'), /render: refusing/, JSON.stringify(t));
    assert.throws(() => serverOptions(tls({}), undefined), /files directory/);
  });
});

void describe('proxy-ssl at runtime', () => {
  const web = svc('web', ['10.0.0.1']);
  const routes = ing('a', { 'proxy-ssl-secret': 'default/client', 'proxy-ssl-verify': 'on' });

  test('a rotated CA: the new file first, servers on a spare, the old servers and file removed last; no reload', () => {
    const start = reloadedWith(model(web + secrets(CA) + routes));
    const p = ops(start, model(web + secrets(CA + CA) + routes));
    const kinds = p.ops.map((o) => o.op);
    assert.equal(kinds[0], 'backend-tls-new');
    assert.equal(kinds.at(-1), 'backend-tls-del');
    assert.ok(kinds.indexOf('add-server') > 0 && kinds.lastIndexOf('del-server') < kinds.length - 1);
    const created = p.ops[0]!;
    assert.ok(created.op === 'backend-tls-new' && created.kind === 'ca' && /^\/state\/gen\/1\/certs\/pxca\.[0-9a-f]{32}\.pem$/.test(created.file));
    const added = p.ops.find((o) => o.op === 'add-server');
    assert.ok(added?.op === 'add-server' && added.section === 'spare_0' && added.dir === '/state/gen/1');
    // The client certificate did not change: the same file, neither created nor deleted.
    assert.ok(p.ops.every((o) => !(o.op === 'backend-tls-new' || o.op === 'backend-tls-del') || o.kind === 'ca'));
  });
});
